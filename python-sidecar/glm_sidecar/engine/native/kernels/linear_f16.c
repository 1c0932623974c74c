/* y[t, j] = sum_i x[t, i] * w[j, i] + b[j] with float16 weights read as they are (no float32 copy of w is ever
 * made) and float32 activations and sums: the CPU's matrix-vector product for GLM-6B's float16 decode step.
 *
 * A MindSpore "aot" Custom op (see mindspore.ops.Custom): inputs x float32 [..., k], w float16 [m, k],
 * b float16 [m]; output y float32 [..., m]. Built at first use with the machine's own compiler and flags
 * (build.py). Rows of w are split across OpenMP threads; each group of 4 rows is streamed once per
 * 4 tokens, so a single token reads every weight byte exactly once (memory-bound, as decode is). */
#include "simd_f16.h"

#define ROWS 4
#define TOKENS 4

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

int glm_linear_f16(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                   void *extra) {
  (void)stream;
  (void)extra;
  if (nparam != 4 || strcmp(dtypes[0], "float32") || strcmp(dtypes[1], "float16") || strcmp(dtypes[2], "float16") ||
      strcmp(dtypes[3], "float32") || ndims[1] != 2)
    return 1;
  const float *x = (const float *)params[0];
  const uint16_t *w = (const uint16_t *)params[1], *b = (const uint16_t *)params[2];
  float *y = (float *)params[3];
  int64_t k = shapes[1][1], m = shapes[1][0], n = 1;
  for (int d = 0; d < ndims[0] - 1; d++) n *= shapes[0][d];
  if (shapes[0][ndims[0] - 1] != k || shapes[2][0] != m) return 2;
  int64_t groups = (m + ROWS - 1) / ROWS;
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; g++) {
    int64_t j0 = g * ROWS;
    int rows = (int)(m - j0 < ROWS ? m - j0 : ROWS);
    for (int64_t t0 = 0; t0 < n; t0 += TOKENS)
      tile(x, w, y, k, m, j0, rows, t0, (int)(n - t0 < TOKENS ? n - t0 : TOKENS));
    for (int64_t t = 0; t < n; t++)
      for (int r = 0; r < rows; r++) y[t * m + j0 + r] += half_to_float(b[j0 + r]);
  }
  return 0;
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
