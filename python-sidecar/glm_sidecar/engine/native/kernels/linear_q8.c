/* y = x . w^T + b with int8 weights in 32-blocks (w = qs * scale): the CPU's linear for --precision int8, decode and
 * prompt. Activations are quantized to int8 per 32-block at run time and multiplied with integer dot products.
 *
 * A MindSpore "aot" Custom op: glm_linear_q8(x float32 [..., k], qs int8 [m, k], scales float16 [m, k / 32],
 * b float16 [m][, used int32 [1]: only the first `used` tokens, the rest of y zeros]) -> y float32 [..., m];
 * non-zero on other dtypes or shapes (k % 32 != 0 among them).
 * Row path (n < GEMM_MIN tokens, the decode step; every n in the portable build): each thread walks its rows once,
 * so one token reads each weight byte exactly once; per block maddubs + madd with the sign trick (AVX2) or plain
 * C. Prompt path (AVX2, n >= GEMM_MIN): quant_tile.h's blocked GEMM. Both compute the exact integer dot product of
 * every block and scale it by (weight scale * activation scale), so a token gets the same y alone or in a batch up
 * to the order of the float sums. */
#include "quant_tile.h"

static float dot_q8(const QLinear *a, const QAct *act, int64_t j, int64_t t, float *sc) {
  const int64_t nb = a->nb;
  const int8_t *w = (const int8_t *)a->qs + j * a->k, *x = act->q + t * a->k;
  scale_products(a->scales + j * nb, act->d + t * nb, act->s + t * nb, sc, nb);
#if QUANT_AVX2
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t b = 0; b < nb; b++) {
    __m256i wv = _mm256_loadu_si256((const __m256i *)(w + b * QBLOCK));
    __m256i xv = _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK));
    __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv)), ones);
    acc[b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(sc + b), acc[b & 1]);
  }
  return hsum8(_mm256_add_ps(acc[0], acc[1]));
#else
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; b++) {
    int32_t dot = 0;
    for (int i = 0; i < QBLOCK; i++) dot += (int32_t)w[b * QBLOCK + i] * x[b * QBLOCK + i];
    sum += (float)dot * sc[b];
  }
  return sum;
#endif
}

#if QUANT_AVX2
/* dot_q8 for rows j0..j0+3 against token t: each block of x is loaded once for the four rows. */
static void dot4_q8(const QLinear *a, const QAct *act, int64_t j0, int64_t t, float *sc, float *out) {
  const int64_t nb = a->nb, k = a->k;
  const int8_t *w = (const int8_t *)a->qs + j0 * k, *x = act->q + t * k;
  for (int r = 0; r < 4; r++) scale_products(a->scales + (j0 + r) * nb, act->d + t * nb, act->s + t * nb, sc + r * nb, nb);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t b = 0; b < nb; b++) {
    __m256i xv = _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK));
    for (int r = 0; r < 4; r++) {
      __m256i wv = _mm256_loadu_si256((const __m256i *)(w + r * k + b * QBLOCK));
      __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv)), ones);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(sc + r * nb + b), acc[r]);
    }
  }
  for (int r = 0; r < 4; r++) out[r] = hsum8(acc[r]);
}
#define DOT4_Q8 dot4_q8
#else
#define DOT4_Q8 NULL
#endif

int glm_linear_q8(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                  void *extra) {
  (void)stream;
  (void)extra;
  return run_linear(nparam, params, ndims, shapes, dtypes, "int8", 1, dot_q8, DOT4_Q8);
}
