/* Shared by linear_q8.c and linear_q4.c: the aot argument checks, run-time activation quantization (32-blocks to
 * int8, natural rows or 8-token panels) and the little helpers both the AVX2 and the portable paths use.
 *
 * Activations: per token t and 32-block b, d = amax / 127 and q = nearbyint(x * (127 / amax)) (q = 0, d = 0 for an
 * all-zero block), so q is in [-127, 127] (never -128: maddubs' sign trick and int16 sums rely on it).
 * Panels (prompt path): 8 tokens side by side in 4-byte groups, panel p, group g (k / 4 of them) at
 * pan[(p * (k / 4) + g) * 32 + 4 * token + 0..3]; scales dpan[(p * nb + b) * 8 + token] and the blocks' sums of q
 * span[(p * nb + b) * 8 + token]; padding tokens are zeros. */
#ifndef GLM_QUANT_COMMON_H
#define GLM_QUANT_COMMON_H
#include <stdlib.h>

#include "simd_f16.h"

#define QBLOCK 32
#define PANEL 8

typedef struct {
  const float *x;
  const uint8_t *qs; /* int8 [m, k] (q8) or packed nibbles uint8 [m, k / 2] (q4) */
  const uint16_t *scales, *bias;
  float *y;
  int64_t n, k, m, nb;
} QLinear;

/* Fills *a from the aot arguments x float32 [..., k], qs weight_dtype [m, k / per_byte], scales float16
 * [m, k / 32], b float16 [m], optionally used int32 [1], y float32 [..., m]; non-zero when a dtype or shape is not
 * that. `used` (a prompt padded to its graph's bucket): only the first `used` tokens are computed, the rest of y
 * is zeros, so a 16-token prompt in the 64-token graph costs 16 tokens. */
static int parse_qlinear(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                         const char *weight_dtype, int per_byte, QLinear *a) {
  const int out = nparam - 1; /* y's index: 4, or 5 after `used` */
  if ((nparam != 5 && nparam != 6) || strcmp(dtypes[0], "float32") || strcmp(dtypes[1], weight_dtype) ||
      strcmp(dtypes[2], "float16") || strcmp(dtypes[3], "float16") || strcmp(dtypes[out], "float32") ||
      (nparam == 6 && (strcmp(dtypes[4], "int32") || ndims[4] != 1 || shapes[4][0] != 1)))
    return 1;
  if (ndims[0] < 1 || ndims[1] != 2 || ndims[2] != 2 || ndims[3] != 1 || ndims[out] != ndims[0]) return 2;
  a->k = shapes[0][ndims[0] - 1];
  a->m = shapes[1][0];
  a->nb = a->k / QBLOCK;
  a->n = 1;
  for (int d = 0; d < ndims[0] - 1; d++) {
    if (shapes[out][d] != shapes[0][d]) return 3;
    a->n *= shapes[0][d];
  }
  if (a->k <= 0 || a->k % QBLOCK || shapes[1][1] * per_byte != a->k || shapes[2][0] != a->m ||
      shapes[2][1] != a->nb || shapes[3][0] != a->m || shapes[out][ndims[0] - 1] != a->m)
    return 3;
  a->x = (const float *)params[0];
  a->qs = (const uint8_t *)params[1];
  a->scales = (const uint16_t *)params[2];
  a->bias = (const uint16_t *)params[3];
  a->y = (float *)params[out];
  if (nparam == 6) {
    int64_t used = *(const int32_t *)params[4];
    used = used < 0 ? 0 : used > a->n ? a->n : used;
    memset(a->y + used * a->m, 0, sizeof(float) * (size_t)((a->n - used) * a->m));
    a->n = used;
  }
  return 0;
}

/* One 32-block of activations to int8; returns its scale d, *sum gets the sum of the q. */
static inline float quantize_block(const float *x, int8_t *q, int32_t *sum) {
  float amax = 0.0f;
  for (int i = 0; i < QBLOCK; i++) {
    float v = fabsf(x[i]);
    amax = v > amax ? v : amax;
  }
  float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  int32_t s = 0;
  for (int i = 0; i < QBLOCK; i++) {
    q[i] = (int8_t)nearbyintf(x[i] * inv);
    s += q[i];
  }
  *sum = s;
  return amax / 127.0f;
}

/* Quantized activations: natural rows (q [n, k], d and s [n, nb]) or panels (see the top of this file). */
typedef struct {
  int8_t *q;
  float *d;
  int32_t *s;
  int64_t panels;
} QAct;

static void free_act(QAct *act) {
  free(act->q);
  free(act->d);
  free(act->s);
}

/* Natural layout for the row-at-a-time path, or (pairs) each two blocks' middle 16-byte quarters swapped
 * ([x_b 0..15, x_b+1 0..15, x_b 16..31, x_b+1 16..31]: the int4 row path's order); 0 or -1 when out of memory. */
static int quantize_rows(const QLinear *a, QAct *act, int pairs) {
  act->panels = 0;
  act->q = (int8_t *)malloc((size_t)(a->n * a->k) + 32);
  act->d = (float *)malloc(sizeof(float) * (size_t)(a->n * a->nb) + 32);
  act->s = (int32_t *)malloc(sizeof(int32_t) * (size_t)(a->n * a->nb) + 32);
  if (!act->q || !act->d || !act->s) return -1;
#pragma omp parallel for schedule(static) if (a->n * a->k >= 65536)
  for (int64_t t = 0; t < a->n; t++)
    for (int64_t b = 0; b < a->nb; b++)
      act->d[t * a->nb + b] = quantize_block(a->x + t * a->k + b * QBLOCK, act->q + t * a->k + b * QBLOCK,
                                             act->s + t * a->nb + b);
  if (pairs)
    for (int64_t t = 0; t < a->n; t++)
      for (int64_t b = 0; b + 2 <= a->nb; b += 2) {
        int8_t *q = act->q + t * a->k + b * QBLOCK, tmp[16];
        memcpy(tmp, q + 16, 16);
        memcpy(q + 16, q + 32, 16);
        memcpy(q + 32, tmp, 16);
      }
  return 0;
}

/* Panel layout for the blocked prompt path; 0 or -1 when out of memory. */
static __attribute__((unused)) int quantize_panels(const QLinear *a, QAct *act) {
  int64_t panels = (a->n + PANEL - 1) / PANEL, groups = a->k / 4;
  act->panels = panels;
  act->q = (int8_t *)calloc((size_t)(panels * PANEL * a->k) + 32, 1);
  act->d = (float *)calloc((size_t)(panels * PANEL * a->nb) + 8, sizeof(float));
  act->s = (int32_t *)calloc((size_t)(panels * PANEL * a->nb) + 8, sizeof(int32_t));
  if (!act->q || !act->d || !act->s) return -1;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < a->n; t++) {
    int64_t p = t / PANEL, lane = t % PANEL;
    int8_t block[QBLOCK];
    for (int64_t b = 0; b < a->nb; b++) {
      int64_t at = (p * a->nb + b) * PANEL + lane;
      act->d[at] = quantize_block(a->x + t * a->k + b * QBLOCK, block, act->s + at);
      for (int g = 0; g < QBLOCK / 4; g++)
        memcpy(act->q + ((p * groups + b * (QBLOCK / 4) + g) * PANEL + lane) * 4, block + 4 * g, 4);
    }
  }
  return 0;
}

/* y[t, j] for the lanes of one panel that are real tokens: y = acc + bias[j]. */
static inline void store_panel(const QLinear *a, const float *lanes, int64_t panel, int64_t j) {
  float bias = half_to_float(a->bias[j]);
  for (int lane = 0; lane < PANEL; lane++) {
    int64_t t = panel * PANEL + lane;
    if (t < a->n) a->y[t * a->m + j] = lanes[lane] + bias;
  }
}

/* sc[b] = scales[b] (float16) * d[b] for the nb blocks of one row and one token; returns sum_b sc[b] * s[b] (the
 * int4 kernel's correction for its unsigned codes, ignored by the int8 one). */
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#define QUANT_AVX2 1
static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

/* 4 bytes of a weight row repeated over the 8 token lanes of a panel group. */
static inline __m256i broadcast4(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

static inline float scale_products(const uint16_t *scales, const float *d, const int32_t *s, float *sc, int64_t nb) {
  __m256 corr = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    __m256 v = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(scales + b))), _mm256_loadu_ps(d + b));
    _mm256_storeu_ps(sc + b, v);
    corr = _mm256_fmadd_ps(v, _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(s + b))), corr);
  }
  float c = hsum8(corr);
  for (; b < nb; b++) {
    sc[b] = half_to_float(scales[b]) * d[b];
    c += sc[b] * (float)s[b];
  }
  return c;
}
#else
#define QUANT_AVX2 0
static inline float scale_products(const uint16_t *scales, const float *d, const int32_t *s, float *sc, int64_t nb) {
  float c = 0.0f;
  for (int64_t b = 0; b < nb; b++) {
    sc[b] = half_to_float(scales[b]) * d[b];
    c += sc[b] * (float)s[b];
  }
  return c;
}
#endif

#endif
