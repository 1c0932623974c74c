/* The prompt path of linear_f16.c on AVX2 + F16C + FMA: y = x . w^T + b as a blocked GEMM that never makes a float32
 * copy of w. Each thread owns blocks of NC weight rows; per k-block of KC columns it widens its rows into a float32
 * panel of its own (NC x KC x 4 = 128 KiB, in L2), stored as 16-row micro-panels [KC][16], then runs a 6-token x
 * 16-row register tile (12 accumulators, 2 weight vectors, 1 broadcast token value: 15 of AVX2's 16 registers) over
 * every 6 tokens, the tokens read in place. Sums are float32, one k-block after another into y (the first block
 * starts from the bias), so each y[t, j] is a plain float32 sum in k order. */
#ifndef GLM_GEMM_F16_H
#define GLM_GEMM_F16_H
#include <stdlib.h>

#include "simd_f16.h"

/* One call of the op: x float32 [n, k], w and b float16 [m, k] and [m], y float32 [n, m]. */
typedef struct {
  const float *x;
  const uint16_t *w, *b;
  float *y;
  int64_t n, k, m;
} GemmF16;

#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#define GEMM_F16_AVX2 1
#define MR 6    /* tokens per register tile */
#define NR 16   /* weight rows per register tile (two vectors) */
#define NC 128  /* weight rows a thread widens at once */
#define KC 256  /* columns of a k-block */

/* In-register transpose of an 8 x 8 block of floats. */
static inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; h++) {
    s[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

/* One micro-panel: 16 rows (src[r], NULL past the matrix's end) x kc columns, widened to dst[i * 16 + r]. */
static void widen_panel(const uint16_t *const src[NR], int kc, float *dst) {
  int i = 0;
  for (; i + 8 <= kc; i += 8)
    for (int half = 0; half < 2; half++) {
      __m256 r[8];
      for (int q = 0; q < 8; q++) {
        const uint16_t *row = src[8 * half + q];
        r[q] = row ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i))) : _mm256_setzero_ps();
      }
      transpose8(r);
      for (int q = 0; q < 8; q++) _mm256_store_ps(dst + (i + q) * NR + 8 * half, r[q]);
    }
  for (; i < kc; i++)
    for (int r = 0; r < NR; r++) dst[i * NR + r] = src[r] ? half_to_float(src[r][i]) : 0.0f;
}

/* Rows j0..j0+rows-1, columns p0..p0+kc-1 of w as float32 micro-panels: panel q at pack + q * kc * 16. */
static void widen_rows(const GemmF16 *g, int64_t j0, int rows, int64_t p0, int kc, float *pack) {
  for (int q = 0; q * NR < rows; q++) {
    const uint16_t *src[NR];
    for (int r = 0; r < NR; r++) src[r] = q * NR + r < rows ? g->w + (j0 + q * NR + r) * g->k + p0 : NULL;
    widen_panel(src, kc, pack + (int64_t)q * kc * NR);
  }
}

/* Token t's two accumulators: load from c[t], one column's multiply-add, store to c[t] (t < tokens only). Named
 * variables, not an array: GCC keeps an array of accumulators on the stack and stores it every iteration. */
#define ACC_LOAD(t, a0, a1)                          \
  if (tokens > t) {                                  \
    a0 = _mm256_loadu_ps(c[t]);                      \
    a1 = _mm256_loadu_ps(c[t] + 8);                  \
  }
#define ACC_FMA(t, a0, a1)                           \
  if (tokens > t) {                                  \
    __m256 xv = _mm256_broadcast_ss(x[t] + i);       \
    a0 = _mm256_fmadd_ps(w0, xv, a0);                \
    a1 = _mm256_fmadd_ps(w1, xv, a1);                \
  }
#define ACC_STORE(t, a0, a1)                         \
  if (tokens > t) {                                  \
    _mm256_storeu_ps(c[t], a0);                      \
    _mm256_storeu_ps(c[t] + 8, a1);                  \
  }

/* The register tile: c[t][0..15] += x[t][0..kc-1] . panel for t < tokens (a constant in each copy made). */
static inline __attribute__((always_inline)) void tile_sums(float *const c[MR], const float *const x[MR],
                                                             const float *panel, int kc, const int tokens) {
  __m256 a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51;
  a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = a40 = a41 = a50 = a51 = _mm256_setzero_ps();
  ACC_LOAD(0, a00, a01) ACC_LOAD(1, a10, a11) ACC_LOAD(2, a20, a21)
  ACC_LOAD(3, a30, a31) ACC_LOAD(4, a40, a41) ACC_LOAD(5, a50, a51)
  for (int i = 0; i < kc; i++) {
    __m256 w0 = _mm256_load_ps(panel + i * NR), w1 = _mm256_load_ps(panel + i * NR + 8);
    ACC_FMA(0, a00, a01) ACC_FMA(1, a10, a11) ACC_FMA(2, a20, a21)
    ACC_FMA(3, a30, a31) ACC_FMA(4, a40, a41) ACC_FMA(5, a50, a51)
  }
  ACC_STORE(0, a00, a01) ACC_STORE(1, a10, a11) ACC_STORE(2, a20, a21)
  ACC_STORE(3, a30, a31) ACC_STORE(4, a40, a41) ACC_STORE(5, a50, a51)
}

/* y[t0..t0+tokens-1, j0..j0+rows-1] (+)= x[t, p0..p0+kc-1] . panel; the first k-block starts from the bias (bias,
 * 16 floats), later ones from y. Full-width tiles work on y in place, narrower ones on a copy. */
static inline __attribute__((always_inline)) void gemm_tile(const GemmF16 *g, const float *panel,
                                                             const float *bias, int64_t t0, const int tokens,
                                                             int64_t j0, int rows, int64_t p0, int kc) {
  float copy[MR][NR];
  float *c[MR];
  const float *x[MR];
  for (int t = 0; t < tokens; t++) {
    float *yr = g->y + (t0 + t) * g->m + j0;
    x[t] = g->x + (t0 + t) * g->k + p0;
    c[t] = rows == NR && p0 > 0 ? yr : copy[t];
    if (c[t] != copy[t]) continue;
    memcpy(copy[t], p0 > 0 ? yr : bias, sizeof(float) * (size_t)(p0 > 0 ? rows : NR));
    if (p0 > 0) memset(copy[t] + rows, 0, sizeof(float) * (size_t)(NR - rows));
  }
  tile_sums(c, x, panel, kc, tokens);
  for (int t = 0; t < tokens; t++)
    if (c[t] == copy[t]) memcpy(g->y + (t0 + t) * g->m + j0, copy[t], sizeof(float) * (size_t)rows);
}

static __attribute__((noinline)) void gemm_tile_full(const GemmF16 *g, const float *panel, const float *bias,
                                                     int64_t t0, int64_t j0, int rows, int64_t p0, int kc) {
  gemm_tile(g, panel, bias, t0, MR, j0, rows, p0, kc);
}

/* The last tokens_left (< MR) tokens. */
static __attribute__((noinline)) void gemm_tile_edge(const GemmF16 *g, const float *panel, const float *bias,
                                                     int64_t t0, int tokens_left, int64_t j0, int rows, int64_t p0,
                                                     int kc) {
  switch (tokens_left) {
    case 1: gemm_tile(g, panel, bias, t0, 1, j0, rows, p0, kc); break;
    case 2: gemm_tile(g, panel, bias, t0, 2, j0, rows, p0, kc); break;
    case 3: gemm_tile(g, panel, bias, t0, 3, j0, rows, p0, kc); break;
    case 4: gemm_tile(g, panel, bias, t0, 4, j0, rows, p0, kc); break;
    default: gemm_tile(g, panel, bias, t0, 5, j0, rows, p0, kc); break;
  }
}

/* One block of rows j0..j0+rows-1 (rows <= NC) against every token, k-block by k-block; per k-block, each 6 tokens
 * (read from L1 after the first micro-panel) meet every micro-panel of the widened rows (from L2). */
static void gemm_rows(const GemmF16 *g, int64_t j0, int rows, float *pack, float *bias) {
  const int panels = (rows + NR - 1) / NR;
  for (int r = 0; r < NC + NR; r++) bias[r] = r < rows ? half_to_float(g->b[j0 + r]) : 0.0f;
  for (int64_t p0 = 0; p0 < g->k; p0 += KC) {
    int kc = (int)(g->k - p0 < KC ? g->k - p0 : KC);
    widen_rows(g, j0, rows, p0, kc, pack);
    for (int64_t t0 = 0; t0 < g->n; t0 += MR)
      for (int q = 0; q < panels; q++) {
        const float *panel = pack + (int64_t)q * kc * NR;
        int width = rows - q * NR < NR ? rows - q * NR : NR;
        if (t0 + MR <= g->n)
          gemm_tile_full(g, panel, bias + q * NR, t0, j0 + q * NR, width, p0, kc);
        else
          gemm_tile_edge(g, panel, bias + q * NR, t0, (int)(g->n - t0), j0 + q * NR, width, p0, kc);
      }
  }
}

/* The whole product, blocks of NC rows split over OpenMP threads; 0, or 4 when a thread's buffers cannot be had. */
static int gemm_f16(const GemmF16 *g) {
  int64_t blocks = (g->m + NC - 1) / NC;
  int failed = 0;
#pragma omp parallel
  {
    float *pack = (float *)aligned_alloc(32, sizeof(float) * NC * KC);
    float *bias = (float *)malloc(sizeof(float) * (NC + NR));
    if (!pack || !bias) failed = 1;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < blocks; i++) {
      if (!pack || !bias) continue;
      int64_t j0 = i * NC;
      gemm_rows(g, j0, (int)(g->m - j0 < NC ? g->m - j0 : NC), pack, bias);
    }
    free(pack);
    free(bias);
  }
  return failed ? 4 : 0;
}
#else
#define GEMM_F16_AVX2 0
#endif

#endif
