/* y = x . w^T + b with int4 weights in 32-blocks (w = q * scale, q in [-8, 7]): the CPU's linear for --precision
 * int4, decode and prompt. Activations are quantized to int8 per 32-block at run time (integer dot products).
 *
 * A MindSpore "aot" Custom op: glm_linear_q4(x float32 [..., k], qs uint8 [m, k / 2], scales float16 [m, k / 32],
 * b float16 [m][, used int32 [1]: only the first `used` tokens, the rest of y zeros]) -> y float32 [..., m];
 * non-zero on other dtypes or shapes. Byte 16b + i of a row holds q[32b + i] + 8
 * in its low nibble and q[32b + 16 + i] + 8 in its high one. Row path (decode; every n in the portable build): each
 * thread walks its rows once, one token reads each weight byte once; AVX2 multiplies the unsigned nibbles (q + 8)
 * with maddubs, two blocks per 32-byte load, and takes 8 * sum_b(scale_b * sum of the block's activation codes) off
 * the row's sum once. Prompt path (AVX2, n >= GEMM_MIN): quant_tile.h's blocked GEMM on the rows unpacked to bytes,
 * a tile at a time. */
#include "quant_tile.h"

static float dot_q4(const QLinear *a, const QAct *act, int64_t j, int64_t t, float *sc) {
  const int64_t nb = a->nb;
  const uint8_t *w = a->qs + j * (a->k / 2);
  const int8_t *x = act->q + t * a->k;
  float corr = scale_products(a->scales + j * nb, act->d + t * nb, act->s + t * nb, sc, nb);
#if QUANT_AVX2
  /* Two blocks a step: one 32-byte load of their nibbles, low nibbles against [x_b 0..15, x_b+1 0..15] and high
   * ones against [x_b 16..31, x_b+1 16..31] (quantize_rows' pair order), int16 sums (<= 7620) added, one madd:
   * lanes 0-3 are block b's, 4-7 block b+1's, scaled by [sc_b x 4, sc_b+1 x 4]. */
  const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(15);
  const __m256i idx = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(w + b * 16));
    __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK))),
                                 _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK + 32))));
    __m256 s = _mm256_permutevar8x32_ps(
        _mm256_castps128_ps256(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(sc + b)))), idx);
    acc[(b >> 1) & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), s, acc[(b >> 1) & 1]);
  }
  if (b < nb) { /* an odd last block, in natural order */
    __m128i v = _mm_loadu_si128((const __m128i *)(w + b * 16));
    __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), low);
    __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK))),
                                    ones);
    acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(sc + b), acc[0]);
  }
  return hsum8(_mm256_add_ps(acc[0], acc[1])) - 8.0f * corr;
#else
  (void)corr;
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; b++) {
    int32_t dot = 0;
    for (int i = 0; i < QBLOCK / 2; i++) {
      uint8_t byte = w[b * 16 + i];
      dot += ((int32_t)(byte & 15) - 8) * x[b * QBLOCK + i] + ((int32_t)(byte >> 4) - 8) * x[b * QBLOCK + 16 + i];
    }
    sum += (float)dot * sc[b];
  }
  return sum;
#endif
}

#if QUANT_AVX2
/* dot_q4 for rows j0..j0+3 against token t: each pair of activation blocks is loaded once for the four rows. */
static void dot4_q4(const QLinear *a, const QAct *act, int64_t j0, int64_t t, float *sc, float *out) {
  const int64_t nb = a->nb, row = a->k / 2;
  const uint8_t *w = a->qs + j0 * row;
  const int8_t *x = act->q + t * a->k;
  float corr[4];
  for (int r = 0; r < 4; r++)
    corr[r] = scale_products(a->scales + (j0 + r) * nb, act->d + t * nb, act->s + t * nb, sc + r * nb, nb);
  const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(15);
  const __m256i idx = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK));
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK + 32));
    for (int r = 0; r < 4; r++) {
      __m256i v = _mm256_loadu_si256((const __m256i *)(w + r * row + b * 16));
      __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
      __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, x0), _mm256_maddubs_epi16(hi, x1));
      __m256 s = _mm256_permutevar8x32_ps(
          _mm256_castps128_ps256(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(sc + r * nb + b)))), idx);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), s, acc[r]);
    }
  }
  for (int r = 0; r < 4; r++) {
    if (b < nb) { /* an odd last block, in natural order */
      __m128i v = _mm_loadu_si128((const __m128i *)(w + r * row + b * 16));
      __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), low);
      __m256i dot = _mm256_madd_epi16(
          _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)(x + b * QBLOCK))), ones);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(sc + r * nb + b), acc[r]);
    }
    out[r] = hsum8(acc[r]) - 8.0f * corr[r];
  }
}
#define DOT4_Q4 dot4_q4
#else
#define DOT4_Q4 NULL
#endif

int glm_linear_q4(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                  void *extra) {
  (void)stream;
  (void)extra;
  return run_linear(nparam, params, ndims, shapes, dtypes, "uint8", 2, dot_q4, DOT4_Q4);
}
