/* Baselines for scripts/bench_kernels.py, measured in the same run as the kernels: a streaming read of a buffer
 * (the decode roofline), a float32 FMA loop and an int16 multiply-add loop on every OpenMP thread (the peaks).
 * Built with the kernels' native flags; called through ctypes. */
#include <stdint.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

/* Sums `bytes` of `buf` (a multiple of 256) as 64-bit words split across threads; returns the sum so the reads
 * cannot be dropped. */
uint64_t probe_read(const uint8_t *buf, int64_t bytes) {
  uint64_t total = 0;
  int64_t chunks = bytes / 256;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t c = 0; c < chunks; c++) {
#if defined(__AVX2__)
    const __m256i *p = (const __m256i *)(buf + c * 256);
    __m256i a = _mm256_xor_si256(_mm256_loadu_si256(p), _mm256_loadu_si256(p + 1));
    __m256i b = _mm256_xor_si256(_mm256_loadu_si256(p + 2), _mm256_loadu_si256(p + 3));
    a = _mm256_xor_si256(a, _mm256_xor_si256(_mm256_loadu_si256(p + 4), _mm256_loadu_si256(p + 5)));
    b = _mm256_xor_si256(b, _mm256_xor_si256(_mm256_loadu_si256(p + 6), _mm256_loadu_si256(p + 7)));
    a = _mm256_xor_si256(a, b);
    total += (uint64_t)_mm256_extract_epi64(a, 0) + (uint64_t)_mm256_extract_epi64(a, 3);
#else
    const uint64_t *p = (const uint64_t *)(buf + c * 256);
    uint64_t a = 0;
    for (int i = 0; i < 32; i++) a ^= p[i];
    total += a;
#endif
  }
  return total;
}

/* `iterations` rounds of 12 independent float32 FMA chains per thread: 12 * 2 * lanes flops a round. Returns the
 * lanes per vector (1 without AVX2+FMA) so the caller can count flops. */
int probe_fma(int64_t iterations, float *sink) {
#if defined(__AVX2__) && defined(__FMA__)
  float out = 0.0f;
#pragma omp parallel reduction(+ : out)
  {
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (int64_t n = 0; n < iterations; n++)
      for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, a[0]);
    out += lanes[0];
  }
  *sink = out;
  return 8;
#else
  float out = 0.0f;
#pragma omp parallel reduction(+ : out)
  {
    float a[12];
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    for (int64_t n = 0; n < iterations; n++)
      for (int i = 0; i < 12; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    for (int i = 1; i < 12; i++) a[0] += a[i];
    out += a[0];
  }
  *sink = out;
  return 1;
#endif
}

/* Integer peaks of the int8 kernels' instruction mixes: `iterations` rounds, per thread, of 6 independent
 * vpmaddwd + vpaddd (int16 pairs, 16 multiply-adds each; bytes == 0) or vpmaddubsw + vpaddw (byte pairs, 32 each;
 * bytes == 1). Returns the multiply-adds per round (0 without AVX2). */
int probe_madd(int64_t iterations, int bytes, int32_t *sink) {
#if defined(__AVX2__)
  int32_t out = 0;
#pragma omp parallel reduction(+ : out)
  {
    __m256i acc[6], x[6], w = _mm256_set1_epi16(5);
    for (int i = 0; i < 6; i++) {
      acc[i] = _mm256_set1_epi32(i);
      x[i] = _mm256_set1_epi16((short)(i + 1));
    }
    if (bytes)
      for (int64_t n = 0; n < iterations; n++) {
        __asm__ volatile("" : "+x"(w));
        for (int i = 0; i < 6; i++) acc[i] = _mm256_add_epi16(acc[i], _mm256_maddubs_epi16(x[i], w));
      }
    else
      for (int64_t n = 0; n < iterations; n++) {
        __asm__ volatile("" : "+x"(w));
        for (int i = 0; i < 6; i++) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(x[i], w));
      }
    for (int i = 1; i < 6; i++) acc[0] = _mm256_add_epi32(acc[0], acc[i]);
    out += _mm256_extract_epi32(acc[0], 0);
  }
  *sink = out;
  return bytes ? 6 * 32 : 6 * 16;
#else
  (void)bytes;
  *sink = (int32_t)iterations;
  return 0;
#endif
}
