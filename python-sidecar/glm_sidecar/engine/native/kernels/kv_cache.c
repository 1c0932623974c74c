/* Keys and values as the int8 KV cache stores them, a MindSpore "aot" Custom op: glm_quantize_kv takes x float32
 * [rows, heads, d] and writes int8 [rows, heads, d + 4]: for each row and head, d codes round(x * 127 / amax) and
 * then the float32 scale amax / 127 in its 4 bytes (native byte order), so value = code * scale, off by at most
 * scale / 2. One scale per head and row, as llama.cpp's q8_0 cache has one per 32 values: a head's keys have
 * outlier channels, and a coarser scale spends the codes on them. glm_attend_decode (attention.c) reads this
 * layout; the graph writes it into the cache with ScatterUpdate, as it writes float rows. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KV_SCALE_BYTES 4

static void quantize_head(const float *x, int64_t d, int8_t *out) {
  float top = 0.0f;
  for (int64_t i = 0; i < d; i++) top = fabsf(x[i]) > top ? fabsf(x[i]) : top;
  float scale = top / 127.0f, inverse = top > 0.0f ? 127.0f / top : 0.0f;
  for (int64_t i = 0; i < d; i++) {
    float code = nearbyintf(x[i] * inverse);
    out[i] = (int8_t)(code > 127.0f ? 127.0f : code < -127.0f ? -127.0f : code);
  }
  memcpy(out + d, &scale, sizeof(float));
}

int glm_quantize_kv(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                    void *extra) {
  (void)stream;
  (void)extra;
  if (nparam != 2 || strcmp(dtypes[0], "float32") || strcmp(dtypes[1], "int8") || ndims[0] != 3 || ndims[1] != 3)
    return 1;
  int64_t rows = shapes[0][0], heads = shapes[0][1], d = shapes[0][2];
  if (shapes[1][0] != rows || shapes[1][1] != heads || shapes[1][2] != d + KV_SCALE_BYTES) return 3;
  const float *x = (const float *)params[0];
  int8_t *out = (int8_t *)params[1];
#pragma omp parallel for schedule(static) if (rows * heads > 64)
  for (int64_t at = 0; at < rows * heads; at++) quantize_head(x + at * d, d, out + at * (d + KV_SCALE_BYTES));
  return 0;
}
