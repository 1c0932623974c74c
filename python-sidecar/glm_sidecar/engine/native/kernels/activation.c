/* GLM-6B's GeLU on CPU, as a MindSpore "aot" Custom op: vectorized and on every thread, where MindSpore's CPU GeLU
 * calls libm's tanhf one element at a time (about 1 s of a 1,700-token prompt's 8.5 s per layer on box B).
 *
 * glm_gelu: input x float32 [..., n], optionally used int32 [1] (only the first `used` rows of n are computed, the
 * rest of y is zeros: the padding of a prompt's bucket); output y float32, x's shape. The tanh approximation
 * MindSpore's GeLU and GLM's gelu_impl use, 0.5 x (1 + tanh(u)) with u = sqrt(2 / pi) (x + 0.044715 x^3), written
 * as x / (1 + e^(-2u)) (the same function: 0.5 (1 + tanh(u)) is the sigmoid of 2u), with -2u clamped to 87. */
#include <stdlib.h>

#include "simd_f16.h"

#define GELU_2C 1.5957691216057308f /* 2 sqrt(2 / pi) */

static inline vec gelu_v(vec x) {
  vec a = mul_v(mul_v(x, set_v(-GELU_2C)), fma_v(mul_v(x, x), set_v(0.044715f), set_v(1.0f))); /* -2u */
  a = mul_v(max_v(mul_v(a, set_v(-1.0f)), set_v(-87.0f)), set_v(-1.0f));                   /* min(-2u, 87) */
  return div_v(x, add_v(set_v(1.0f), exp_v(a)));
}

int glm_gelu(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
             void *extra) {
  (void)stream;
  (void)extra;
  const int out = nparam - 1;
  if ((nparam != 2 && nparam != 3) || strcmp(dtypes[0], "float32") || strcmp(dtypes[out], "float32") ||
      ndims[0] < 1 || ndims[out] != ndims[0] ||
      (nparam == 3 && (strcmp(dtypes[1], "int32") || ndims[1] != 1 || shapes[1][0] != 1)))
    return 1;
  int64_t rows = 1, n = shapes[0][ndims[0] - 1];
  for (int d = 0; d < ndims[0]; d++) {
    if (shapes[out][d] != shapes[0][d]) return 3;
    if (d < ndims[0] - 1) rows *= shapes[0][d];
  }
  const float *x = (const float *)params[0];
  float *y = (float *)params[out];
  if (nparam == 3) {
    int64_t used = *(const int32_t *)params[1];
    used = used < 0 ? 0 : used > rows ? rows : used;
    memset(y + used * n, 0, sizeof(float) * (size_t)((rows - used) * n));
    rows = used;
  }
  const int64_t total = rows * n, body = total - total % LANES, chunk = 4096 * LANES;
#pragma omp parallel for schedule(static) if (total >= 65536)
  for (int64_t start = 0; start < body; start += chunk) {
    int64_t end = start + chunk < body ? start + chunk : body;
    for (int64_t i = start; i < end; i += LANES) store_f(y + i, gelu_v(load_f(x + i)));
  }
  for (int64_t i = body; i < total; i++) {
    float u = -GELU_2C * x[i] * (1.0f + 0.044715f * x[i] * x[i]);
    y[i] = x[i] / (1.0f + expf(u < 87.0f ? u : 87.0f));
  }
  return 0;
}
