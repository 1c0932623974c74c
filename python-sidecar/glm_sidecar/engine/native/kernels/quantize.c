/* Quantizes float16/float32 weight rows into int8 or int4 with one float16 scale per block (docs/quantized-weights.md)
 * and dequantizes them back to float32; called through ctypes by quantize_kernel.py, bit for bit what quantizer.py
 * computes with NumPy. AVX2 + F16C where the build has them, portable C otherwise. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

/* x - q * d must round twice, as NumPy does, or a fused multiply-add picks the other int4 scale in near ties. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define GROUP 32 /* weights whose int4 codes share 16 bytes: low nibbles 0..15, high nibbles 16..31 */
enum { SRC_F16 = 0, SRC_F32 = 1 };
enum { RULE_ABSMAX = 0, RULE_MAXMAG = 1, RULE_BEST = 2 };

static inline float h2f(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  float f;
  if (exp == 0) {
    f = (float)man * (1.0f / 16777216.0f); /* subnormal: man * 2^-24, exact */
    memcpy(&bits, &f, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  }
  memcpy(&f, &bits, 4);
  return f;
#endif
}

/* Round to nearest, ties to even, as NumPy's astype(float16). */
static inline uint16_t f2h(float f) {
#if defined(__F16C__)
  return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
#else
  uint32_t x, ax, h, rem;
  uint16_t sign;
  memcpy(&x, &f, 4);
  sign = (uint16_t)((x >> 16) & 0x8000u);
  ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u);
  if (ax >= 0x477ff000u) return sign | 0x7c00u; /* 65520 and up round to infinity */
  if (ax < 0x38800000u) {                     /* below 2^-14: a subnormal half (or 1024 = the smallest normal) */
    float a;
    memcpy(&a, &ax, 4);
    return sign | (uint16_t)nearbyintf(a * 16777216.0f);
  }
  h = (ax - 0x38000000u) >> 13;
  rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return (uint16_t)(sign | h);
#endif
}

static void widen(const uint16_t *h, int64_t n, float *out) {
  int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
  for (; i < n; i++) out[i] = h2f(h[i]);
}

/* The block's scale as stored (float16) and as used (that value widened back to float32). */
static inline float stored_scale(float d, uint16_t *bits) {
  *bits = f2h(d);
  return h2f(*bits);
}

/* round(x * inv), ties to even, clamped to [lo, hi]. |x * inv| stays below 2^22 (a block's scale comes from its
 * own largest weight), where adding and subtracting 1.5 * 2^23 rounds as nearbyintf does without a libm call
 * (IEEE arithmetic assumed: never build this file with -ffast-math). */
static inline float code(float x, float inv, float lo, float hi) {
  float q = (x * inv + 12582912.0f) - 12582912.0f;
  return q < lo ? lo : (q > hi ? hi : q);
}

#if defined(__AVX2__) && defined(__F16C__)
/* 8 lanes at a time; each lane rounds exactly where the portable code below rounds. */
static inline __m256 code8(__m256 x, __m256 inv, __m256 lo, __m256 hi) {
  __m256 q = _mm256_round_ps(_mm256_mul_ps(x, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm256_min_ps(_mm256_max_ps(q, lo), hi);
}

static float absmax(const float *x, int64_t n, int *bad) {
  __m256 sign = _mm256_set1_ps(-0.0f), big = _mm256_set1_ps(3.4e38f), m = _mm256_setzero_ps(), nf = m;
  for (int64_t i = 0; i < n; i += 8) {
    __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i));
    nf = _mm256_or_ps(nf, _mm256_cmp_ps(a, big, _CMP_NLE_UQ)); /* above the largest float, or NaN */
    m = _mm256_max_ps(m, a);
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  *bad = _mm256_movemask_ps(nf) != 0;
  return _mm_cvtss_f32(h);
}

/* Sum of squared errors at scale d: float32 errors, squared and summed in double, so that NumPy (which sums in
 * another order) ranks the two int4 candidates the same way. */
static double block_error(const float *x, int64_t n, float d, float lo, float hi) {
  __m256 inv = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f), vd = _mm256_set1_ps(d);
  __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  __m256d sse = _mm256_setzero_pd();
  for (int64_t i = 0; i < n; i += 8) {
    __m256 xv = _mm256_loadu_ps(x + i);
    __m256 e = _mm256_sub_ps(xv, _mm256_mul_ps(code8(xv, inv, vlo, vhi), vd));
    __m256d e0 = _mm256_cvtps_pd(_mm256_castps256_ps128(e)), e1 = _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1));
    sse = _mm256_add_pd(sse, _mm256_add_pd(_mm256_mul_pd(e0, e0), _mm256_mul_pd(e1, e1)));
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, sse);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

/* n values (a multiple of 32) at 1/scale `inv` -> int8 codes, or int4 codes + 8 packed two per byte. */
static void encode(const float *x, int64_t n, float inv, int bits, void *out) {
  __m256 vinv = _mm256_set1_ps(inv), c[4];
  __m256 lo = _mm256_set1_ps(bits == 8 ? -127.0f : -8.0f), hi = _mm256_set1_ps(bits == 8 ? 127.0f : 7.0f);
  __m256 offset = _mm256_set1_ps(bits == 8 ? 0.0f : 8.0f);
  __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t g = 0; g < n; g += GROUP) {
    for (int j = 0; j < 4; j++) c[j] = _mm256_add_ps(code8(_mm256_loadu_ps(x + g + 8 * j), vinv, lo, hi), offset);
    __m256i a = _mm256_packs_epi32(_mm256_cvtps_epi32(c[0]), _mm256_cvtps_epi32(c[1]));
    __m256i b = _mm256_packs_epi32(_mm256_cvtps_epi32(c[2]), _mm256_cvtps_epi32(c[3]));
    __m256i v = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), order); /* the 32 codes as bytes, in order */
    if (bits == 8) {
      _mm256_storeu_si256((__m256i *)((int8_t *)out + g), v);
    } else { /* codes + 8 are 0..15: shifting 16-bit lanes by 4 moves no bit across a byte */
      __m128i low = _mm256_castsi256_si128(v), high = _mm256_extracti128_si256(v, 1);
      _mm_storeu_si128((__m128i *)((uint8_t *)out + g / 2), _mm_or_si128(low, _mm_slli_epi16(high, 4)));
    }
  }
}

/* 32 weights of one group -> float32. */
static inline void decode(const void *q, int bits, float d, float *y) {
  __m256 vd = _mm256_set1_ps(d);
  __m128i b[2];
  if (bits == 8) {
    b[0] = _mm_loadu_si128((const __m128i *)q);
    b[1] = _mm_loadu_si128((const __m128i *)q + 1);
  } else {
    __m128i v = _mm_loadu_si128((const __m128i *)q), mask = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
    b[0] = _mm_sub_epi8(_mm_and_si128(v, mask), eight);
    b[1] = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), mask), eight);
  }
  for (int h = 0; h < 2; h++) {
    _mm256_storeu_ps(y + 16 * h, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b[h])), vd));
    _mm256_storeu_ps(y + 16 * h + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b[h], 8))), vd));
  }
}
#else
static float absmax(const float *x, int64_t n, int *bad) {
  float m = 0.0f;
  *bad = 0;
  for (int64_t i = 0; i < n; i++) {
    float a = fabsf(x[i]);
    if (!(a <= 3.4e38f)) *bad = 1;
    if (a > m) m = a;
  }
  return m;
}

static double block_error(const float *x, int64_t n, float d, float lo, float hi) {
  float inv = d != 0.0f ? 1.0f / d : 0.0f;
  double sse = 0.0;
  for (int64_t i = 0; i < n; i++) {
    float e = x[i] - code(x[i], inv, lo, hi) * d;
    sse += (double)e * (double)e;
  }
  return sse;
}

static void encode(const float *x, int64_t n, float inv, int bits, void *out) {
  if (bits == 8) {
    for (int64_t i = 0; i < n; i++) ((int8_t *)out)[i] = (int8_t)code(x[i], inv, -127.0f, 127.0f);
    return;
  }
  for (int64_t g = 0; g < n; g += GROUP)
    for (int i = 0; i < GROUP / 2; i++) {
      int low = (int)code(x[g + i], inv, -8.0f, 7.0f) + 8, high = (int)code(x[g + GROUP / 2 + i], inv, -8.0f, 7.0f) + 8;
      ((uint8_t *)out)[g / 2 + i] = (uint8_t)(low | (high << 4));
    }
}

static inline void decode(const void *q, int bits, float d, float *y) {
  for (int i = 0; i < GROUP / 2; i++) {
    if (bits == 8) {
      y[i] = (float)((const int8_t *)q)[i] * d;
      y[i + GROUP / 2] = (float)((const int8_t *)q)[i + GROUP / 2] * d;
    } else {
      uint8_t v = ((const uint8_t *)q)[i];
      y[i] = (float)((v & 15) - 8) * d;
      y[i + GROUP / 2] = (float)((v >> 4) - 8) * d;
    }
  }
}
#endif

static int quantize_row(const float *x, int64_t k, int64_t block, int bits, int rule, void *qs, uint16_t *scales) {
  for (int64_t b = 0; b < k / block; b++) {
    const float *xb = x + b * block;
    int bad;
    float amax = absmax(xb, block, &bad), d;
    uint16_t sbits;
    if (bad) return 2;
    if (bits == 8) {
      d = stored_scale(amax / 127.0f, &sbits);
    } else {
      float peak = 0.0f;
      for (int64_t i = 0; i < block; i++)
        if (fabsf(xb[i]) == amax) { /* the first value of the largest magnitude, as NumPy's argmax */
          peak = xb[i];
          break;
        }
      uint16_t abits, pbits;
      float da = stored_scale(amax / 7.0f, &abits), dp = stored_scale(peak / -8.0f, &pbits);
      int use_peak = rule == RULE_MAXMAG || (rule == RULE_BEST && block_error(xb, block, dp, -8.0f, 7.0f) <
                                                                      block_error(xb, block, da, -8.0f, 7.0f));
      d = use_peak ? dp : da;
      sbits = use_peak ? pbits : abits;
    }
    if (!(fabsf(d) <= 65504.0f)) return 2; /* a weight too large for a float16 scale */
    scales[b] = sbits;
    encode(xb, block, d != 0.0f ? 1.0f / d : 0.0f, bits,
           bits == 8 ? (void *)((int8_t *)qs + b * block) : (void *)((uint8_t *)qs + b * block / 2));
  }
  return 0;
}

static int bad_args(int64_t rows, int64_t k, int64_t block, int bits) {
  return rows < 0 || k <= 0 || block <= 0 || block % GROUP || k % block || (bits != 8 && bits != 4);
}

/* src [rows, k] (float16 bits or float32) -> qs (int8 [rows, k] or uint8 [rows, k/2]) and scales float16
 * [rows, k/block]. int4 scales: rule 0 absmax/7, 1 (the signed value of largest magnitude)/-8, 2 the better of the
 * two per block (lower squared error, absmax/7 on ties). 0 on success, 1 bad arguments or no memory, 2 a NaN or
 * infinite weight, or one whose scale overflows float16. */
int glm_quantize_rows(const void *src, int src_type, int64_t rows, int64_t k, int64_t block, int bits, int rule,
                      void *qs, uint16_t *scales) {
  if (bad_args(rows, k, block, bits) || (src_type != SRC_F16 && src_type != SRC_F32) || rule < 0 || rule > 2) return 1;
  int status = 0;
  int64_t row_bytes = bits == 8 ? k : k / 2;
#pragma omp parallel
  {
    float *x = src_type == SRC_F16 ? (float *)malloc((size_t)k * sizeof(float)) : NULL;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      int err = 1;
      if (src_type == SRC_F32) {
        err = quantize_row((const float *)src + r * k, k, block, bits, rule, (uint8_t *)qs + r * row_bytes,
                           scales + r * (k / block));
      } else if (x) {
        widen((const uint16_t *)src + r * k, k, x);
        err = quantize_row(x, k, block, bits, rule, (uint8_t *)qs + r * row_bytes, scales + r * (k / block));
      }
      if (err) {
#pragma omp atomic write
        status = err;
      }
    }
    free(x);
  }
  return status;
}

/* qs + scales as above -> float32 [rows, k]: w = q * scale. */
int glm_dequantize_rows(const void *qs, const uint16_t *scales, int64_t rows, int64_t k, int64_t block, int bits,
                        float *out) {
  if (bad_args(rows, k, block, bits)) return 1;
  int64_t row_bytes = bits == 8 ? k : k / 2, group_bytes = bits == 8 ? GROUP : GROUP / 2;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *q = (const uint8_t *)qs + r * row_bytes;
    for (int64_t g = 0; g < k / GROUP; g++)
      decode(q + g * group_bytes, bits, h2f(scales[r * (k / block) + g * GROUP / block]), out + r * k + g * GROUP);
  }
  return 0;
}

/* float16 bits -> float32, n values (the reference forward widens checkpoint rows with it). */
int glm_f16_to_f32(const uint16_t *src, int64_t n, float *out) {
  if (n < 0) return 1;
  int64_t step = 1 << 16;
#pragma omp parallel for schedule(static)
  for (int64_t start = 0; start < n; start += step) widen(src + start, n - start < step ? n - start : step, out + start);
  return 0;
}
