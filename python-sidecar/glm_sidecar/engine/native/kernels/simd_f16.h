/* The vector lanes the CPU kernels share: float16 and int8 loads widened to float32, fused multiply-adds, sums and e^x,
 * on AVX-512, AVX2 + F16C + FMA, or one lane of portable C. Included by each kernel file. */
#ifndef GLM_SIMD_F16_H
#define GLM_SIMD_F16_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define LANES 16
typedef __m512 vec;
static inline vec load_h(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline vec load_f(const float *p) { return _mm512_loadu_ps(p); }
static inline vec load_b(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }
static inline vec fma_v(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline vec zero_v(void) { return _mm512_setzero_ps(); }
static inline float sum_v(vec a) { return _mm512_reduce_add_ps(a); }
static inline vec set_v(float a) { return _mm512_set1_ps(a); }
static inline void store_f(float *p, vec a) { _mm512_storeu_ps(p, a); }
static inline vec add_v(vec a, vec b) { return _mm512_add_ps(a, b); }
static inline vec mul_v(vec a, vec b) { return _mm512_mul_ps(a, b); }
static inline vec div_v(vec a, vec b) { return _mm512_div_ps(a, b); }
static inline vec max_v(vec a, vec b) { return _mm512_max_ps(a, b); }
static inline vec round_v(vec a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vec scale2_v(vec a, vec n) { return _mm512_scalef_ps(a, n); } /* a * 2^n, n integral */
#elif defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#define LANES 8
typedef __m256 vec;
static inline vec load_h(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline vec load_f(const float *p) { return _mm256_loadu_ps(p); }
static inline vec load_b(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }
static inline vec fma_v(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline vec zero_v(void) { return _mm256_setzero_ps(); }
static inline vec set_v(float a) { return _mm256_set1_ps(a); }
static inline void store_f(float *p, vec a) { _mm256_storeu_ps(p, a); }
static inline vec add_v(vec a, vec b) { return _mm256_add_ps(a, b); }
static inline vec mul_v(vec a, vec b) { return _mm256_mul_ps(a, b); }
static inline vec div_v(vec a, vec b) { return _mm256_div_ps(a, b); }
static inline vec max_v(vec a, vec b) { return _mm256_max_ps(a, b); }
static inline vec round_v(vec a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vec scale2_v(vec a, vec n) {
  __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(a, _mm256_castsi256_ps(bits));
}
static inline float sum_v(vec a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#else
#define LANES 1
typedef float vec;
static inline vec load_f(const float *p) { return *p; }
static inline vec load_b(const int8_t *p) { return (float)*p; }
static inline vec fma_v(vec a, vec b, vec c) { return a * b + c; }
static inline vec zero_v(void) { return 0.0f; }
static inline float sum_v(vec a) { return a; }
static inline vec set_v(float a) { return a; }
static inline void store_f(float *p, vec a) { *p = a; }
static inline vec add_v(vec a, vec b) { return a + b; }
static inline vec mul_v(vec a, vec b) { return a * b; }
static inline vec div_v(vec a, vec b) { return a / b; }
static inline vec max_v(vec a, vec b) { return a > b ? a : b; }
static inline vec round_v(vec a) { return nearbyintf(a); }
static inline vec scale2_v(vec a, vec n) { return ldexpf(a, (int)n); }
#endif

/* e^x for -87 <= x <= 87 (softmax's shifted scores, GeLU's sigmoid), within a few float32 ulp: x = n ln2 + r
 * with |r| <= ln2 / 2, then e^r by its degree-6 Taylor-like polynomial (Cephes' expf coefficients) and a scale by
 * 2^n. Below -87 it gives about 1e-38 instead of 0, which a softmax weight cannot tell apart; above 87, 2^n would
 * no longer be a float, so callers clamp there. */
static inline vec exp_v(vec x) {
  x = max_v(x, set_v(-87.0f));
  vec n = round_v(mul_v(x, set_v(1.44269504088896341f)));
  vec r = fma_v(n, set_v(-0.693359375f), x);
  r = fma_v(n, set_v(2.12194440e-4f), r);
  vec p = set_v(1.9875691500e-4f);
  p = fma_v(p, r, set_v(1.3981999507e-3f));
  p = fma_v(p, r, set_v(8.3334519073e-3f));
  p = fma_v(p, r, set_v(4.1665795894e-2f));
  p = fma_v(p, r, set_v(1.6666665459e-1f));
  p = fma_v(p, r, set_v(5.0000001201e-1f));
  p = fma_v(p, mul_v(r, r), add_v(r, set_v(1.0f)));
  return scale2_v(p, n);
}

/* IEEE half -> float for the remainder lanes and the portable build. */
static inline float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) { bits = sign; } else {
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) { man <<= 1; exp--; }
      bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) { bits = sign | 0x7f800000 | (man << 13); }
  else { bits = sign | ((exp + 127 - 15) << 23) | (man << 13); }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}
#if LANES == 1
static inline vec load_h(const uint16_t *p) { return half_to_float(*p); }
#endif

#endif
