/* The parts of linear_q8.c and linear_q4.c that do not depend on the weight format: the row path's driver (decode,
 * and every n in the portable build) and the AVX2 prompt path, a blocked GEMM over 8-token activation panels.
 *
 * Prompt tile: RM weight rows x RV panels (8 tokens each) over all of k. Per 4-byte group of a block, the 4 weight
 * bytes of a row are broadcast to the 8 token lanes and multiplied with the panel's 4 bytes per token (maddubs, then
 * madd with ones: one int32 per token lane, no horizontal sums); each block's int32 sums become float once, times
 * the weight scale and the token's activation scale. int8 weights use the sign trick (|w| unsigned, x given w's
 * sign); int4 weights stay unsigned (q + 8, 0..15), their maddubs results are summed as int16 over the block
 * before one madd (9 multiplies per block and tile cell instead of 16), and each block subtracts 8 * (the sum of
 * the token's codes), so both give the exact integer dot product of every block, as the row path does. */
#ifndef GLM_QUANT_TILE_H
#define GLM_QUANT_TILE_H
#include "quant_common.h"

/* y[t, j] for t < n of one row j: dot(row j, token t) per block, sc holds nb floats of scratch. */
typedef float (*row_dot_fn)(const QLinear *a, const QAct *act, int64_t j, int64_t t, float *sc);
/* The same for rows j0..j0+3 at once into out[4] (four weight streams and four independent sums per thread, which
 * a single row's chain of dependent adds cannot keep busy); sc holds 4 * nb floats. NULL: one row at a time. */
typedef void (*rows4_dot_fn)(const QLinear *a, const QAct *act, int64_t j0, int64_t t, float *sc, float *out);

/* Every row against every token, rows split over threads in groups of 4: one token reads each weight byte once. */
static int run_rows(const QLinear *a, row_dot_fn dot, rows4_dot_fn dot4, int pairs) {
  QAct act;
  int status = quantize_rows(a, &act, pairs) ? 4 : 0;
  const int64_t groups = (a->m + 3) / 4;
  if (!status) {
#pragma omp parallel
    {
      float *sc = (float *)malloc(sizeof(float) * (size_t)(4 * a->nb) + 32);
      if (!sc) status = 4;
#pragma omp for schedule(static)
      for (int64_t g = 0; g < groups; g++) {
        if (!sc) continue;
        const int64_t j0 = 4 * g;
        const int rows = (int)(a->m - j0 < 4 ? a->m - j0 : 4);
        for (int64_t t = 0; t < a->n; t++) {
          float out[4];
          if (dot4 && rows == 4)
            dot4(a, &act, j0, t, sc, out);
          else
            for (int r = 0; r < rows; r++) out[r] = dot(a, &act, j0 + r, t, sc);
          for (int r = 0; r < rows; r++) a->y[t * a->m + j0 + r] = out[r] + half_to_float(a->bias[j0 + r]);
        }
      }
      free(sc);
    }
  }
  free_act(&act);
  return status;
}

#if QUANT_AVX2
#define RM 4    /* weight rows per prompt tile */
#define RV 2    /* token panels per prompt tile */
#define GEMM_MIN 4 /* tokens from which the panel path is used */

/* Rows j0..j0+rows-1 (their bytes at w, row stride k: int8 codes, or int4 codes + 8 when q4) against panels
 * p0..p0+panels-1; dwf holds the rows' scales as floats [rows, nb]. */
static inline __attribute__((always_inline)) void tile(const QLinear *a, const QAct *act, const uint8_t *w,
                                                        const float *dwf, int64_t j0, int rows, int64_t p0,
                                                        int panels, const int q4) {
  const int64_t nb = a->nb, groups = a->k / 4;
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t *pan = act->q + p0 * groups * 32;
  __m256 f[RM][RV];
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < panels; v++) f[r][v] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m256i acc[RM][RV];
    for (int r = 0; r < rows; r++)
      for (int v = 0; v < panels; v++) acc[r][v] = _mm256_setzero_si256();
    for (int g = 0; g < QBLOCK / 4; g++) {
      __m256i xv[RV];
      for (int v = 0; v < panels; v++)
        xv[v] = _mm256_loadu_si256((const __m256i *)(pan + (v * groups + b * (QBLOCK / 4) + g) * 32));
      for (int r = 0; r < rows; r++) {
        __m256i wb = broadcast4(w + r * a->k + b * QBLOCK + 4 * g);
        if (q4) { /* int16 sums over the block's 8 groups: 8 x 2 x 15 x 127 = 30,480 fits, one madd per block */
          for (int v = 0; v < panels; v++) acc[r][v] = _mm256_add_epi16(acc[r][v], _mm256_maddubs_epi16(wb, xv[v]));
        } else {
          __m256i aw = _mm256_sign_epi8(wb, wb);
          for (int v = 0; v < panels; v++)
            acc[r][v] = _mm256_add_epi32(
                acc[r][v], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv[v], wb)), ones));
        }
      }
    }
    if (q4)
      for (int r = 0; r < rows; r++)
        for (int v = 0; v < panels; v++) acc[r][v] = _mm256_madd_epi16(acc[r][v], ones);
    for (int v = 0; v < panels; v++) {
      int64_t at = ((p0 + v) * nb + b) * PANEL;
      __m256 dx = _mm256_loadu_ps(act->d + at);
      __m256i s8 = q4 ? _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(act->s + at)), 3) : ones;
      for (int r = 0; r < rows; r++) {
        __m256i dot = q4 ? _mm256_sub_epi32(acc[r][v], s8) : acc[r][v];
        f[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(_mm256_set1_ps(dwf[r * nb + b]), dx),
                                  f[r][v]);
      }
    }
  }
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < panels; v++) {
      float lanes[PANEL];
      _mm256_storeu_ps(lanes, f[r][v]);
      store_panel(a, lanes, p0 + v, j0 + r);
    }
}

static __attribute__((noinline)) void tile_full(const QLinear *a, const QAct *act, const uint8_t *w,
                                                const float *dwf, int64_t j0, int64_t p0, const int q4) {
  if (q4)
    tile(a, act, w, dwf, j0, RM, p0, RV, 1);
  else
    tile(a, act, w, dwf, j0, RM, p0, RV, 0);
}

static __attribute__((noinline)) void tile_edge(const QLinear *a, const QAct *act, const uint8_t *w,
                                                const float *dwf, int64_t j0, int rows, int64_t p0, int q4) {
  if (q4)
    tile(a, act, w, dwf, j0, rows, p0, 1, 1);
  else
    tile(a, act, w, dwf, j0, rows, p0, 1, 0);
}

/* Unpacks rows j0..j0+rows-1 of packed int4 codes to one byte each (q + 8, in k order) at buf [rows, k]. */
static void unpack_q4_rows(const QLinear *a, int64_t j0, int rows, uint8_t *buf) {
  const __m128i low = _mm_set1_epi8(15);
  for (int r = 0; r < rows; r++) {
    const uint8_t *src = a->qs + (j0 + r) * (a->k / 2);
    uint8_t *dst = buf + r * a->k;
    for (int64_t b = 0; b < a->nb; b++) {
      __m128i v = _mm_loadu_si128((const __m128i *)(src + b * 16));
      _mm_storeu_si128((__m128i *)(dst + b * QBLOCK), _mm_and_si128(v, low));
      _mm_storeu_si128((__m128i *)(dst + b * QBLOCK + 16), _mm_and_si128(_mm_srli_epi16(v, 4), low));
    }
  }
}

/* The prompt path: activations to panels once, then OpenMP over tiles of RM rows, each against every panel. */
static int run_gemm(const QLinear *a, int q4) {
  QAct act;
  int64_t tiles = (a->m + RM - 1) / RM;
  int failed = quantize_panels(a, &act) ? 1 : 0;
  if (!failed) {
#pragma omp parallel
    {
      float *dwf = (float *)malloc(sizeof(float) * (size_t)(RM * a->nb));
      uint8_t *buf = q4 ? (uint8_t *)malloc((size_t)(RM * a->k)) : NULL;
      if (!dwf || (q4 && !buf)) failed = 1;
#pragma omp for schedule(static)
      for (int64_t i = 0; i < tiles; i++) {
        if (!dwf || (q4 && !buf)) continue;
        int64_t j0 = i * RM, p = 0;
        int rows = (int)(a->m - j0 < RM ? a->m - j0 : RM);
        for (int64_t e = 0; e < rows * a->nb; e++) dwf[e] = half_to_float(a->scales[j0 * a->nb + e]);
        const uint8_t *w = a->qs + j0 * a->k;
        if (q4) {
          unpack_q4_rows(a, j0, rows, buf);
          w = buf;
        }
        if (rows == RM)
          for (; p + RV <= act.panels; p += RV) tile_full(a, &act, w, dwf, j0, p, q4);
        for (; p < act.panels; p++) tile_edge(a, &act, w, dwf, j0, rows, p, q4);
      }
      free(dwf);
      free(buf);
    }
  }
  free_act(&act);
  return failed ? 4 : 0;
}
#endif

/* The whole op for one weight format: parse, then the panel path (AVX2, n >= GEMM_MIN) or the row path. */
static int run_linear(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                      const char *weight_dtype, int per_byte, row_dot_fn dot, rows4_dot_fn dot4) {
  QLinear a;
  int bad = parse_qlinear(nparam, params, ndims, shapes, dtypes, weight_dtype, per_byte, &a);
  if (bad) return bad;
  if (a.n == 0 || a.m == 0) return 0;
#if QUANT_AVX2
  if (a.n >= GEMM_MIN) return run_gemm(&a, per_byte == 2);
#endif
  /* Four rows at a time pays where a row is at least 4 KB (measured on box B, 2026-12-07: q8 1.06-1.64x at k = 4096
   * and 16384, q4 1.34-1.42x at k = 16384 but 0.77-0.90x at k = 4096, its 2 KB rows). */
  if (a.k / per_byte < 4096) dot4 = NULL;
  return run_rows(&a, dot, dot4, QUANT_AVX2 && per_byte == 2); /* linear_q4.c's AVX2 row path reads block pairs */
}

#endif
