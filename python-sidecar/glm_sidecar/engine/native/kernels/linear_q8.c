/* y = x . w^T + b with int8 weights in 32-blocks (w = qs * scale), activations quantized to int8 per 32-block at run
 * time, integer dot products: the CPU's linear for --precision int8 (decode and prompt).
 *
 * A MindSpore "aot" Custom op: glm_linear_q8(x float32 [..., k], qs int8 [m, k], scales float16 [m, k / 32],
 * b float16 [m]) -> y float32 [..., m]; non-zero on other dtypes or shapes (k % 32 != 0 among them).
 * Row path (n < PANEL tokens, the decode step; and every n in the portable build): each thread walks its rows once,
 * so one token reads each weight byte exactly once. Prompt path (AVX2, n >= PANEL): 4 rows x 16 tokens per tile,
 * each 4-byte weight group broadcast over 8 tokens' activations (panels), maddubs + madd with the sign trick,
 * int32 sums per block turned into float once per block with the product of the two scales. */
#include "quant_common.h"

#define RM 4 /* weight rows per prompt tile */
#define RV 2 /* token panels per prompt tile */

/* Rows [j0, j1) against every token; sc holds nb floats. */
static void rows_q8(const QLinear *a, const QAct *act, int64_t j0, int64_t j1, float *sc) {
  for (int64_t j = j0; j < j1; j++) {
    const int8_t *w = (const int8_t *)a->qs + j * a->k;
    for (int64_t t = 0; t < a->n; t++) {
      const int8_t *x = act->q + t * a->k;
      scale_products(a->scales + j * a->nb, act->d + t * a->nb, sc, a->nb);
#if QUANT_AVX2
      const __m256i ones = _mm256_set1_epi16(1);
      __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t b = 0; b < a->nb; b++) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)(w + b * QBLOCK));
        __m256i xv = _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK));
        __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv)),
                                        ones);
        acc[b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(sc + b), acc[b & 1]);
      }
      float sum = hsum8(_mm256_add_ps(acc[0], acc[1]));
#else
      float sum = 0.0f;
      for (int64_t b = 0; b < a->nb; b++) {
        int32_t dot = 0;
        for (int i = 0; i < QBLOCK; i++) dot += (int32_t)w[b * QBLOCK + i] * x[b * QBLOCK + i];
        sum += (float)dot * sc[b];
      }
#endif
      a->y[t * a->m + j] = sum + half_to_float(a->bias[j]);
    }
  }
}

#if QUANT_AVX2
/* Rows j0.. (rows <= RM) against panels p0.. (panels <= RV) over all of k; dwf holds the rows' scales as floats. */
static inline __attribute__((always_inline)) void tile_q8(const QLinear *a, const QAct *act, const float *dwf,
                                                           int64_t j0, int rows, int64_t p0, int panels) {
  const int64_t nb = a->nb, groups = a->k / 4;
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t *pan = act->q + p0 * groups * 32;
  const uint8_t *w = a->qs + j0 * a->k;
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
        __m256i wb = broadcast4(w + r * a->k + b * QBLOCK + 4 * g), aw = _mm256_sign_epi8(wb, wb);
        for (int v = 0; v < panels; v++)
          acc[r][v] = _mm256_add_epi32(
              acc[r][v], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv[v], wb)), ones));
      }
    }
    for (int v = 0; v < panels; v++) {
      __m256 dx = _mm256_loadu_ps(act->d + ((p0 + v) * nb + b) * PANEL);
      for (int r = 0; r < rows; r++)
        f[r][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][v]), _mm256_mul_ps(_mm256_set1_ps(dwf[r * nb + b]), dx),
                                  f[r][v]);
    }
  }
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < panels; v++) {
      float lanes[PANEL];
      _mm256_storeu_ps(lanes, f[r][v]);
      store_panel(a, lanes, p0 + v, j0 + r);
    }
}

static __attribute__((noinline)) void tile_q8_edge(const QLinear *a, const QAct *act, const float *dwf, int64_t j0,
                                                   int rows, int64_t p0, int panels) {
  tile_q8(a, act, dwf, j0, rows, p0, panels);
}

/* The prompt path over all rows: OpenMP over tiles of RM rows, each tile's rows against every panel. */
static int gemm_q8(const QLinear *a, const QAct *act) {
  int64_t tiles = (a->m + RM - 1) / RM;
  int failed = 0;
#pragma omp parallel
  {
    float *dwf = (float *)malloc(sizeof(float) * (size_t)(RM * a->nb));
    if (!dwf) failed = 1;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < tiles; i++) {
      if (!dwf) continue;
      int64_t j0 = i * RM, p = 0;
      int rows = (int)(a->m - j0 < RM ? a->m - j0 : RM);
      for (int r = 0; r < rows; r++)
        for (int64_t b = 0; b < a->nb; b++) dwf[r * a->nb + b] = half_to_float(a->scales[(j0 + r) * a->nb + b]);
      if (rows == RM)
        for (; p + RV <= act->panels; p += RV) tile_q8(a, act, dwf, j0, RM, p, RV);
      for (; p < act->panels; p++) tile_q8_edge(a, act, dwf, j0, rows, p, 1);
    }
    free(dwf);
  }
  return failed ? 4 : 0;
}
#endif

int glm_linear_q8(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                  void *extra) {
  (void)stream;
  (void)extra;
  QLinear a;
  int bad = parse_qlinear(nparam, params, ndims, shapes, dtypes, "int8", 1, &a);
  if (bad) return bad;
  QAct act;
  int status = 0;
#if QUANT_AVX2
  if (a.n >= PANEL) {
    status = quantize_panels(&a, &act) ? 4 : gemm_q8(&a, &act);
    free_act(&act);
    return status;
  }
#endif
  if (quantize_rows(&a, &act)) {
    free_act(&act);
    return 4;
  }
#pragma omp parallel
  {
    float *sc = (float *)malloc(sizeof(float) * (size_t)a.nb);
    if (!sc) status = 4;
#pragma omp for schedule(static)
    for (int64_t j = 0; j < a.m; j++)
      if (sc) rows_q8(&a, &act, j, j + 1, sc);
    free(sc);
  }
  free_act(&act);
  return status;
}
