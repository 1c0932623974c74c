/* y[t, j] = sum_i x[t, i] * w[j, i] + b[j] with float16 weights read as they are (no float32 copy of w is ever
 * made) and float32 activations and sums: the CPU's linear for GLM-6B's float16 weights, decode and prompt.
 *
 * A MindSpore "aot" Custom op (see mindspore.ops.Custom): inputs x float32 [..., k], w float16 [m, k],
 * b float16 [m][, used int32 [1]: only the first `used` tokens, the rest of y zeros]; output y float32 [..., m]. Built at first use with the machine's own compiler and flags
 * (build.py). Row path (n < GEMM_MIN tokens, the decode step; every n in a build without AVX2): rows of w are
 * split across OpenMP threads; each group of 4 rows is streamed once per 4 tokens, so a single token reads every
 * weight byte exactly once (memory-bound, as decode is). Prompt path (AVX2, n >= GEMM_MIN): gemm_f16.h's blocked
 * GEMM, which widens small panels of w into per-thread buffers (-DGEMM_MIN=1 takes it for every n, as the tests
 * do; a large one never, as the benchmark's row-path build does). */
#include "gemm_f16.h"

#define ROWS 4
#define TOKENS 4
#ifndef GEMM_MIN
#define GEMM_MIN 8 /* tokens from which the prompt path is taken (AVX2) */
#endif

/* Rows j0..j0+rows-1 against tokens t0..t0+tokens-1 (rows, tokens <= 4). */
static void tile(const float *x, const uint16_t *w, float *y, int64_t k, int64_t m, int64_t j0, int rows,
                 int64_t t0, int tokens) {
  vec acc[ROWS][TOKENS];
  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < TOKENS; c++) acc[r][c] = zero_v();
  int64_t body = k - k % LANES;
  for (int64_t i = 0; i < body; i += LANES) {
    vec xs[TOKENS];
    for (int c = 0; c < tokens; c++) xs[c] = load_f(x + (t0 + c) * k + i);
    for (int r = 0; r < rows; r++) {
      vec wr = load_h(w + (j0 + r) * k + i);
      for (int c = 0; c < tokens; c++) acc[r][c] = fma_v(wr, xs[c], acc[r][c]);
    }
  }
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < tokens; c++) {
      float s = sum_v(acc[r][c]);
      for (int64_t i = body; i < k; i++) s += half_to_float(w[(j0 + r) * k + i]) * x[(t0 + c) * k + i];
      y[(t0 + c) * m + j0 + r] = s;
    }
}

/* Every row against every token, 4 x 4 at a time, groups of 4 rows split over threads. */
static int run_tiles(const GemmF16 *g) {
  int64_t groups = (g->m + ROWS - 1) / ROWS;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < groups; i++) {
    int64_t j0 = i * ROWS;
    int rows = (int)(g->m - j0 < ROWS ? g->m - j0 : ROWS);
    for (int64_t t0 = 0; t0 < g->n; t0 += TOKENS)
      tile(g->x, g->w, g->y, g->k, g->m, j0, rows, t0, (int)(g->n - t0 < TOKENS ? g->n - t0 : TOKENS));
    for (int64_t t = 0; t < g->n; t++)
      for (int r = 0; r < rows; r++) g->y[t * g->m + j0 + r] += half_to_float(g->b[j0 + r]);
  }
  return 0;
}

/* Fills *g from the aot arguments x, w, b[, used int32 [1]], y; non-zero when a dtype or shape is not the op's.
 * `used` (a prompt padded to its graph's bucket): only its first `used` tokens are computed, the rest of y zeros. */
static int parse_linear(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, GemmF16 *g) {
  const int out = nparam - 1;
  if ((nparam != 4 && nparam != 5) || strcmp(dtypes[0], "float32") || strcmp(dtypes[1], "float16") ||
      strcmp(dtypes[2], "float16") || strcmp(dtypes[out], "float32") || ndims[1] != 2 ||
      (nparam == 5 && (strcmp(dtypes[3], "int32") || ndims[3] != 1 || shapes[3][0] != 1)))
    return 1;
  g->x = (const float *)params[0];
  g->w = (const uint16_t *)params[1];
  g->b = (const uint16_t *)params[2];
  g->y = (float *)params[out];
  g->k = shapes[1][1];
  g->m = shapes[1][0];
  g->n = 1;
  for (int d = 0; d < ndims[0] - 1; d++) g->n *= shapes[0][d];
  if (shapes[0][ndims[0] - 1] != g->k || shapes[2][0] != g->m) return 2;
  if (nparam == 5) {
    int64_t used = *(const int32_t *)params[3];
    used = used < 0 ? 0 : used > g->n ? g->n : used;
    memset(g->y + used * g->m, 0, sizeof(float) * (size_t)((g->n - used) * g->m));
    g->n = used;
  }
  return 0;
}

int glm_linear_f16(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                   void *extra) {
  (void)stream;
  (void)extra;
  GemmF16 g;
  int bad = parse_linear(nparam, params, ndims, shapes, dtypes, &g);
  if (bad) return bad;
#if GEMM_F16_AVX2
  if (g.k > 0 && g.n >= GEMM_MIN) return gemm_f16(&g);
#endif
  return run_tiles(&g);
}

/* y[b, a, c] = x[a, b, c] for 3-D float16 or float32 tensors: the head/token swap of attention. On MindSpore's
 * CPU backend a Transpose's output is never returned to the pool inside a graph (measured: 20 transposes of
 * 16 MB keep 1.5 GB), so every transpose of a 28-layer prefill would stay resident until the graph ends. */
int glm_swap01(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
               void *extra) {
  (void)stream;
  (void)extra;
  if (nparam != 2 || ndims[0] != 3 || strcmp(dtypes[0], dtypes[1])) return 1;
  int64_t a = shapes[0][0], b = shapes[0][1], c = shapes[0][2];
  size_t item = strcmp(dtypes[0], "float32") == 0 ? 4 : strcmp(dtypes[0], "float16") == 0 ? 2 : 0;
  if (item == 0) return 2;
  const char *x = (const char *)params[0];
  char *y = (char *)params[1];
  size_t row = (size_t)c * item;
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < b; j++)
    for (int64_t i = 0; i < a; i++) memcpy(y + ((size_t)j * a + i) * row, x + ((size_t)i * b + j) * row, row);
  return 0;
}
