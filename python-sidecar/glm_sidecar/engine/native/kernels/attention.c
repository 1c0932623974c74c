/* GLM-6B's attention on CPU, as MindSpore "aot" Custom ops: one new token over the KV cache (decode) and a whole
 * prompt within itself (prefill), float32 scores and softmax, never a score matrix of the prompt's size.
 *
 * glm_attend_decode: inputs q float32 [1, heads, d] (already scaled by 1 / (sqrt(d) * coeff)), k and v caches
 * [rows, heads, d] in float16 or float32, or int8 [rows, heads, d + 4] (codes and a scale per row and head), last int32 [1] (the last cache row the token sees), coeff float32 [1];
 * output float32 [1, heads * d]. Per head: scores q.k[j] * coeff for j <= last, a softmax, then the
 * probability-weighted sum of v[j]. Rows past `last` are never read, so a token costs O(length) cache bytes, not
 * the whole cache cast to float32 and transposed as the graph's ops would. */
#include <math.h>
#include <stdlib.h>

#include "simd_f16.h"

#ifdef _OPENMP
#include <omp.h>
static inline int64_t thread_count(void) { return omp_get_num_threads(); }
static inline int64_t thread_index(void) { return omp_get_thread_num(); }
#else
static inline int64_t thread_count(void) { return 1; }
static inline int64_t thread_index(void) { return 0; }
#endif

/* How the decode kernel's caches store a row: float32, float16, or int8 codes in which each head's d codes are
 * followed by that head's float32 scale (d + 4 bytes, kv_cache.c writes them; value = code * scale). */
enum { KV_F32, KV_F16, KV_Q8 };
#define KV_SCALE_BYTES 4

/* LANES values of a cache row from element `offset` on, as float32 lanes (int8 codes not yet scaled). */
static inline vec load_row(const void *cache, int kind, int64_t offset) {
  if (kind == KV_Q8) return load_b((const int8_t *)cache + offset);
  return kind == KV_F16 ? load_h((const uint16_t *)cache + offset) : load_f((const float *)cache + offset);
}

static inline float scalar_at(const void *cache, int kind, int64_t offset) {
  if (kind == KV_Q8) return (float)((const int8_t *)cache)[offset];
  return kind == KV_F16 ? half_to_float(((const uint16_t *)cache)[offset]) : ((const float *)cache)[offset];
}

/* The factor a head's row of d values at `at` is multiplied by: its scale for int8 codes, else 1. */
static inline float row_scale(const void *cache, int kind, int64_t at, int64_t d) {
  float scale = 1.0f;
  if (kind == KV_Q8) memcpy(&scale, (const int8_t *)cache + at + d, sizeof(float));
  return scale;
}

/* scores[0..count) = softmax(scores): the largest first, then e^(s - largest) LANES at a time, then the sum's inverse. */
static void softmax_in_place(float *scores, int64_t count) {
  int64_t body = count - count % LANES, j;
  float top = -INFINITY, total = 0.0f;
  for (j = 0; j < count; j++) top = scores[j] > top ? scores[j] : top;
  vec shift = set_v(-top), sum = zero_v();
  for (j = 0; j < body; j += LANES) {
    vec e = exp_v(add_v(load_f(scores + j), shift));
    store_f(scores + j, e);
    sum = add_v(sum, e);
  }
  total = sum_v(sum);
  for (; j < count; j++) {
    scores[j] = expf(scores[j] - top);
    total += scores[j];
  }
  vec inverse = set_v(1.0f / total);
  for (j = 0; j < body; j += LANES) store_f(scores + j, mul_v(load_f(scores + j), inverse));
  for (; j < count; j++) scores[j] /= total;
}

/* q . k[at .. at + d) for one head and one cache row: two accumulators, so two FMA chains run at once. */
static inline float dot_row(const float *q, const void *k, int kind, int64_t at, int64_t d) {
  int64_t body = d - d % (2 * LANES), i;
  vec a0 = zero_v(), a1 = zero_v();
  for (i = 0; i < body; i += 2 * LANES) {
    a0 = fma_v(load_row(k, kind, at + i), load_f(q + i), a0);
    a1 = fma_v(load_row(k, kind, at + i + LANES), load_f(q + i + LANES), a1);
  }
  for (; i + LANES <= d; i += LANES) a0 = fma_v(load_row(k, kind, at + i), load_f(q + i), a0);
  float s = sum_v(add_v(a0, a1));
  for (; i < d; i++) s += scalar_at(k, kind, at + i) * q[i];
  return s * row_scale(k, kind, at, d);
}

/* Heads h0..h1-1 of one token over cache rows 0..count-1: out[h] = softmax_j(q[h] . k[j][h] * coeff) . v[j][h].
 * A head's slice of a row is `width` elements (d, or d + 4 bytes for int8), a row `stride`. Row by row, these heads'
 * slices of a row are contiguous, so both caches are read in address order; a head at a time walked them one row
 * (8 KB at GLM-6B's width) apart, a new page at each read, which the prefetchers and the TLB could not follow.
 * scores: (h1 - h0) x count floats. */
static void attend_heads(const float *q, const void *k, const void *v, int kind, int64_t stride, int64_t width,
                         int64_t count, int64_t d, int64_t h0, int64_t h1, float coeff, float *scores, float *out) {
  int64_t body = d - d % LANES;
  for (int64_t j = 0; j < count; j++)
    for (int64_t h = h0; h < h1; h++)
      scores[(h - h0) * count + j] = dot_row(q + h * d, k, kind, j * stride + h * width, d) * coeff;
  for (int64_t h = h0; h < h1; h++) softmax_in_place(scores + (h - h0) * count, count);
  for (int64_t i = h0 * d; i < h1 * d; i++) out[i] = 0.0f;
  for (int64_t j = 0; j < count; j++)
    for (int64_t h = h0; h < h1; h++) {
      int64_t at = j * stride + h * width;
      float p = scores[(h - h0) * count + j] * row_scale(v, kind, at, d), *o = out + h * d;
      vec pv = set_v(p);
      for (int64_t i = 0; i < body; i += LANES) store_f(o + i, fma_v(load_row(v, kind, at + i), pv, load_f(o + i)));
      for (int64_t i = body; i < d; i++) o[i] += p * scalar_at(v, kind, at + i);
    }
}

/* glm_attend_decode: see the top of this file. Each thread takes an even share of the heads. */
int glm_attend_decode(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                   void *extra) {
  (void)stream;
  (void)extra;
  if (nparam != 6 || strcmp(dtypes[0], "float32") || strcmp(dtypes[1], dtypes[2]) || strcmp(dtypes[3], "int32") ||
      strcmp(dtypes[4], "float32") || strcmp(dtypes[5], "float32") || ndims[0] != 3 || ndims[1] != 3 || ndims[2] != 3)
    return 1;
  int kind = !strcmp(dtypes[1], "float16") ? KV_F16 : !strcmp(dtypes[1], "int8") ? KV_Q8 : KV_F32;
  if (kind == KV_F32 && strcmp(dtypes[1], "float32")) return 2;
  int64_t rows = shapes[1][0], heads = shapes[1][1], width = shapes[1][2], d = shapes[0][2];
  if (shapes[0][0] != 1 || shapes[0][1] != heads || width != d + (kind == KV_Q8 ? KV_SCALE_BYTES : 0)) return 3;
  for (int i = 0; i < 3; i++)
    if (shapes[2][i] != shapes[1][i]) return 3;
  int64_t last = *(const int32_t *)params[3];
  if (last < 0 || last >= rows) return 4;
  float coeff = *(const float *)params[4];
  const float *q = (const float *)params[0];
  float *out = (float *)params[5];
  float *scores = (float *)malloc((size_t)heads * (size_t)(last + 1) * sizeof(float));  /* 256 KiB at 2,048 rows */
  if (scores == NULL) return 5;
#pragma omp parallel
  {
    int64_t share = thread_count(), t = thread_index();
    int64_t h0 = heads * t / share, h1 = heads * (t + 1) / share;
    if (h1 > h0)
      attend_heads(q, params[1], params[2], kind, heads * width, width, last + 1, d, h0, h1, coeff,
                   scores + h0 * (last + 1), out);
  }
  free(scores);
  return 0;
}

/* The prompt kernel takes QUERIES queries of one head at a time: each key and value vector it loads serves all of
 * them, and scores come out LANES keys at a time with no horizontal sums. */
#define QUERIES 8

/* One head's block of queries q[0..QUERIES) (the last `QUERIES - live` repeat a live one and are computed but never
 * stored) against keys kt (LANES-key panels: panel p holds keys p*LANES.. as d rows of LANES floats, zero past the
 * last key) and values vh [keys, d]. seen[i]: the keys query i sees, seen non-decreasing; scores: QUERIES rows of
 * `width` floats. Writes out[i][0..d) for i < live. */
static void attend_queries(const float *const *q, const float *kt, const float *vh, const int64_t *seen, int live,
                           int64_t d, int64_t width, float coeff, float *scores, float *const *out) {
  int64_t span = seen[live - 1], panels = (span + LANES - 1) / LANES;
  for (int64_t p = 0; p < panels; p++) {
    vec acc[QUERIES];
    for (int i = 0; i < QUERIES; i++) acc[i] = zero_v();
    const float *panel = kt + p * d * LANES;
    for (int64_t c0 = 0; c0 < d; c0 += 16) {  /* partial sums of 16 products: float32 error ~ 24, not d, ulps */
      vec part[QUERIES];
      for (int i = 0; i < QUERIES; i++) part[i] = zero_v();
      for (int64_t c = c0; c < c0 + 16 && c < d; c++) {
        vec keys = load_f(panel + c * LANES);
        for (int i = 0; i < QUERIES; i++) part[i] = fma_v(set_v(q[i][c]), keys, part[i]);
      }
      for (int i = 0; i < QUERIES; i++) acc[i] = add_v(acc[i], part[i]);
    }
    for (int i = 0; i < QUERIES; i++) store_f(scores + i * width + p * LANES, mul_v(acc[i], set_v(coeff)));
  }
  float scale[QUERIES];
  for (int i = 0; i < live; i++) {
    float *row = scores + i * width, top = -INFINITY, total;
    for (int64_t j = 0; j < seen[i]; j++) top = row[j] > top ? row[j] : top;
    int64_t body = seen[i] - seen[i] % LANES, j = 0;
    vec sum = zero_v();
    for (; j < body; j += LANES) {
      vec e = exp_v(add_v(load_f(row + j), set_v(-top)));
      store_f(row + j, e);
      sum = add_v(sum, e);
    }
    total = sum_v(sum);
    for (; j < seen[i]; j++) {
      row[j] = expf(row[j] - top);
      total += row[j];
    }
    for (j = seen[i]; j < span; j++) row[j] = 0.0f;  /* keys this query does not see weigh nothing below */
    scale[i] = 1.0f / total;
  }
  int64_t body = d - d % LANES;
  for (int64_t c = 0; c < body; c += LANES) {
    vec acc[QUERIES];
    for (int i = 0; i < QUERIES; i++) acc[i] = zero_v();
    for (int64_t j = 0; j < span; j++) {  /* all QUERIES rows (finite, and never stored past `live`): unrolled */
      vec values = load_f(vh + j * d + c);
      for (int i = 0; i < QUERIES; i++) acc[i] = fma_v(set_v(scores[i * width + j]), values, acc[i]);
    }
    for (int i = 0; i < live; i++) store_f(out[i] + c, mul_v(acc[i], set_v(scale[i])));
  }
  for (int i = 0; i < live; i++)
    for (int64_t c = body; c < d; c++) {
      float total = 0.0f;
      for (int64_t j = 0; j < span; j++) total += scores[i * width + j] * vh[j * d + c];
      out[i][c] = total * scale[i];
    }
}

/* A whole prompt's attention, for the prefill: inputs q (scaled as above), k and v float32 [tokens, heads, d],
 * prefix int32 [1] (the tokens before <sop>, seen by every query; the rest is causal), coeff float32 [1], optionally
 * used int32 [1] (a prompt padded to its graph's bucket: only queries and keys 0..used-1 are computed, the other
 * output rows are zeros, so a 1,700-token prompt in the 2,048-token graph costs 1,700 tokens' attention); output
 * float32 [tokens, heads * d]. Query i sees keys 0..max(prefix, i + 1) - 1, GLM's mask. Per head (one thread
 * each), the keys are first laid out in panels of LANES keys and the values contiguously (rows of one head sit
 * heads * d floats apart, which maps them all onto a few cache sets); then QUERIES queries at a time. Nothing of
 * size tokens^2 exists: scores are QUERIES rows per thread. */
int glm_attend_prompt(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                      void *extra) {
  (void)stream;
  (void)extra;
  const int last = nparam - 1; /* out's index: 5, or 6 after `used` */
  if ((nparam != 6 && nparam != 7) || strcmp(dtypes[0], "float32") || strcmp(dtypes[1], "float32") ||
      strcmp(dtypes[2], "float32") || strcmp(dtypes[3], "int32") || strcmp(dtypes[4], "float32") ||
      strcmp(dtypes[last], "float32") || ndims[0] != 3 || ndims[1] != 3 || ndims[2] != 3 ||
      (nparam == 7 && (strcmp(dtypes[5], "int32") || ndims[5] != 1 || shapes[5][0] != 1)))
    return 1;
  int64_t tokens = shapes[0][0], heads = shapes[0][1], d = shapes[0][2];
  for (int p = 1; p < 3; p++)
    if (shapes[p][0] != tokens || shapes[p][1] != heads || shapes[p][2] != d) return 3;
  int64_t prefix = *(const int32_t *)params[3];
  float coeff = *(const float *)params[4];
  const float *q = (const float *)params[0], *k = (const float *)params[1], *v = (const float *)params[2];
  float *out = (float *)params[last];
  if (nparam == 7) { /* the padding's rows are zeros, and from here on the prompt is `used` tokens long */
    int64_t used = *(const int32_t *)params[5];
    used = used < 0 ? 0 : used > tokens ? tokens : used;
    memset(out + used * heads * d, 0, sizeof(float) * (size_t)((tokens - used) * heads * d));
    tokens = used;
    if (tokens == 0) return 0;
  }
  int64_t width = (tokens + LANES - 1) / LANES * LANES, stride = heads * d;
  int failed = 0;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < heads; h++) {
    float *kt = (float *)calloc((size_t)((width + tokens) * d + QUERIES * width), sizeof(float));
    if (kt == NULL) {
#pragma omp atomic write
      failed = 1;
      continue;
    }
    float *vh = kt + width * d, *scores = vh + tokens * d;
    for (int64_t j = 0; j < tokens; j++) {
      const float *key = k + j * stride + h * d;
      float *panel = kt + (j / LANES) * d * LANES + j % LANES;
      for (int64_t c = 0; c < d; c++) panel[c * LANES] = key[c];
      memcpy(vh + j * d, v + j * stride + h * d, (size_t)d * sizeof(float));
    }
    for (int64_t first = 0; first < tokens; first += QUERIES) {
      int live = tokens - first < QUERIES ? (int)(tokens - first) : QUERIES;
      const float *rows[QUERIES];
      float *outs[QUERIES];
      int64_t seen[QUERIES];
      for (int i = 0; i < QUERIES; i++) {
        int64_t query = first + (i < live ? i : live - 1), sees = prefix > query + 1 ? prefix : query + 1;
        rows[i] = q + query * stride + h * d;
        outs[i] = out + query * stride + h * d;
        seen[i] = sees < tokens ? sees : tokens;
      }
      attend_queries(rows, kt, vh, seen, live, d, width, coeff, scores, outs);
    }
    free(kt);
  }
  return failed ? 5 : 0;
}
