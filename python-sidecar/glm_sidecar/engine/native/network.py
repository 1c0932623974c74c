"""GLM-6B in MindSpore cells: the layers, the weights and the static KV cache (steps.py holds the two graphs that run
them: one prefill graph per prompt bucket and a one-token decode graph).

The arithmetic follows MindFormers' GLM (mindformers/models/glm, 0.6-1.3) so both give the same logits:
DeepNorm residuals on the LayerNorm'ed input with alpha = sqrt(2 * layers), 2-D rotary positions (one half of
each head turns with the position id, the other with the block position id) from float16 tables, queries scaled
by 1 / (sqrt(head_dim) * coeff) and scores multiplied back by coeff in float32 before the softmax, -10000 for
masked scores, GeLU MLP computed in float32 between its two matmuls.
"""
from __future__ import annotations

import math

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype

from .dequant import dequantize_rows, dequantized_linear, dequantized_logits, lm_head_chunks
from .kernels.custom_ops import KV_SCALE_BYTES
from .network_params import ReadOnlySource, matrix_params, quantized_kernel, quantized_kind, cache_zeros, wrap_array
from .model_config import EMBEDDING, LAYER_PARAMS, GlmShape, layer_param
from .rotary import rotary_tables, rotation_matrix
from .sampler import Sampler


# A long prefill attends in query blocks of SCORE_ELEMS_PER_HEAD // prompt length queries: one block's float32
# scores are heads x 2**19 x 4 bytes (64 MiB at 32 heads) whatever the prompt length.
SCORE_ELEMS_PER_HEAD = 1 << 19
# A long prompt's MLP on CPU runs in row chunks of this many tokens, one after another: its float32 [tokens,
# 4 * hidden] intermediates (h->4h and the GeLU, 134 MB each at 2,048 tokens of GLM-6B) exist one chunk at a time.
MLP_CHUNK_ROWS = 512


def activation_dtype(kernels, ms_dtype):
    """float32 on CPU (kernels present) whatever the weights' dtype: the CPU backend computes float16 through
    casts it inserts, whose buffers it keeps until the graph ends. The compute dtype elsewhere."""
    return mstype.float32 if kernels is not None else ms_dtype


class GlmLayer(nn.Cell):
    def __init__(self, weights, index: int, shape: GlmShape, np_dtype, ms_dtype, kernels=None,
                 kv_int8: bool = False) -> None:
        super(GlmLayer, self).__init__()
        for name in LAYER_PARAMS:  # one tensor at a time: read (or map), wrap, next
            full = layer_param(index, name)
            attribute = name.replace(".", "_")
            if name.endswith(".weight"):
                matrix_params(self, attribute, weights.matrix(full, np_dtype), full)
            else:
                array = weights.read(full, np.float32 if "layernorm" in name else np_dtype)
                setattr(self, attribute, wrap_array(array, full))
        # One row more than the context: a prompt's bucket padding writes its keys and values there (PrefillStep), so
        # the cache's pages past the prompt stay untouched (not resident) and no attention ever sees that row.
        # kv_int8 (CPU kernels only): each row and head as d int8 codes and a float32 scale (kernels/kv_cache.c).
        self.quantize_kv = kernels.quantize_kv if kv_int8 and kernels is not None else None
        row = (shape.head_dim + KV_SCALE_BYTES, np.int8) if self.quantize_kv is not None else (shape.head_dim, np_dtype)
        cache_shape = (shape.seq_length + 1, shape.num_heads, row[0])
        self.k_cache = cache_zeros(cache_shape, row[1], "transformer.layers.%d.k_cache" % index)
        self.v_cache = cache_zeros(cache_shape, row[1], "transformer.layers.%d.v_cache" % index)
        self.dtype = ms_dtype
        self.act = activation_dtype(kernels, ms_dtype)
        self.kernel = kernels.linear_f16 if kernels is not None else None
        self.kernel_q = quantized_kernel(kernels, weights)
        self.quant_kind = quantized_kind(weights)  # "q8" | "q4" | None: how this layer's codes are packed
        self.swap = kernels.swap01 if kernels is not None else None
        self.attend_cache = kernels.attend_decode if kernels is not None else None
        self.attend_prompt = kernels.attend_prompt if kernels is not None else None
        self.gelu_kernel = kernels.gelu if kernels is not None else None
        self.mlp_chunk = MLP_CHUNK_ROWS  # read here, so a test may set the module's value before building
        self.heads = shape.num_heads
        self.head_dim = shape.head_dim
        self.hidden = shape.hidden_size
        self.alpha = math.sqrt(2.0 * shape.num_layers)
        self.coeff = float(index + 2)  # MindFormers numbers layers from 1 and scales by layer_id + 1
        self.coeff_tensor = Tensor(np.array([self.coeff], np.float32))  # the same, as the attention kernels' input
        self.query_scale = 1.0 / (math.sqrt(self.head_dim) * self.coeff)
        self.layer_norm = ops.LayerNorm(begin_norm_axis=-1, begin_params_axis=-1, epsilon=shape.layernorm_epsilon)
        self.matmul_t = ops.MatMul(transpose_b=True)
        self.matmul = ops.MatMul()
        self.bmm = ops.BatchMatMul()
        self.bmm_t = ops.BatchMatMul(transpose_b=True)
        self.gelu = ops.GeLU()
        self.softmax = ops.Softmax(-1)
        self.write = ops.ScatterUpdate()

    def _linear(self, x, weight, bias, scales=None, used=None):
        """x [tokens, in] in the activation dtype -> [tokens, out] in the activation dtype. With `scales`, weight
        holds int8/int4 codes in 32-blocks: the q8/q4 kernel on CPU, for one token and for prompts alike; `used`
        (int32 [1], a prompt's real tokens) lets the CPU kernels skip the bucket's padding rows (outputs zeros). Without
        kernels (Ascend, GPU) the matrix is decoded to the compute dtype just before its MatMul (dequant.py)."""
        if scales is not None and self.kernel_q is None:
            return dequantized_linear(self.matmul_t, x, weight, scales, self.quant_kind, bias, self.act)
        if scales is not None:
            if used is not None:
                return self.kernel_q(ops.cast(x, mstype.float32), weight, scales, bias, used)
            return self.kernel_q(ops.cast(x, mstype.float32), weight, scales, bias)
        if self.kernel is None:  # then the activation dtype is the weights' dtype
            return ops.bias_add(self.matmul_t(x, weight), bias)
        # float16 weights on CPU, decode and prompts alike: kernels/linear_f16.c reads them as stored (a row path for
        # a few tokens, a blocked GEMM widening small panels per thread for more), so no float32 copy of a weight
        # is ever made, which a cast for MindSpore's float32 MatMul would be.
        if used is not None:
            return self.kernel(ops.cast(x, mstype.float32), weight, bias, used)
        return self.kernel(ops.cast(x, mstype.float32), weight, bias)

    def _project(self, x, rope, used=None):
        """LayerNorm'ed input, then q (scaled), k and v as [tokens, heads, head_dim] with positions applied."""
        attention_input, _, _ = self.layer_norm(x, self.input_layernorm_gamma, self.input_layernorm_beta)
        mixed = self._linear(ops.cast(attention_input, self.act), self.attention_query_key_value_weight,
                             self.attention_query_key_value_bias, self.attention_query_key_value_scales, used)
        mixed = mixed.reshape((x.shape[0], self.heads, 3 * self.head_dim))
        q, k, v = ops.split(mixed, self.head_dim, -1)
        cos, sin, rot = rope  # cos/sin [tokens, heads, head_dim]: position half, then block-position half
        q = q * cos + self._turn(q, rot) * sin
        k = k * cos + self._turn(k, rot) * sin
        return attention_input, q * self.query_scale, k, v

    def _turn(self, x, rot):
        return self.matmul(x.reshape((-1, self.head_dim)), rot).reshape(x.shape)

    def _attend(self, q, keys, values, visible):
        """q [t, h, d], keys/values [n, h, d], visible [t, n] -> context [t, hidden]; long prompts in query blocks,
        each waiting for the one before, so only one block's scores ever exist."""
        tokens, length = q.shape[0], keys.shape[0]
        block = max(1, min(tokens, SCORE_ELEMS_PER_HEAD // length))
        if block >= tokens:
            return self._attend_block(q, keys, values, visible)
        parts = []
        done = None
        for start in range(0, tokens, block):
            part_q = q[start:start + block]
            if done is not None:
                part_q = ops.depend(part_q, done)
            done = self._attend_block(part_q, keys, values, visible[start:start + block])
            parts.append(done)
        return ops.concat(parts, 0)

    def _swap(self, x):
        """[a, b, c] -> [b, a, c]; on CPU the aot kernel's copy, whose memory is reused (a Transpose's is not)."""
        return x.transpose(1, 0, 2) if self.swap is None else self.swap(x)

    def _attend_block(self, q, keys, values, visible):
        scores = self.bmm_t(self._swap(q), self._swap(keys))  # [h, t, n]
        scores = ops.select(ops.broadcast_to(visible, scores.shape), scores, ops.full_like(scores, -10000.0))
        probs = self.softmax(ops.cast(scores, mstype.float32) * self.coeff)
        context = self.bmm(ops.cast(probs, self.act), self._swap(values))  # [h, t, d]
        return self._swap(context).reshape((q.shape[0], self.hidden))

    def _finish(self, attention_input, context, used=None):
        attention_output = self._linear(context, self.attention_dense_weight, self.attention_dense_bias,
                                        self.attention_dense_scales, used)
        hidden = attention_input * self.alpha + ops.cast(attention_output, mstype.float32)
        mlp_input, _, _ = self.layer_norm(hidden, self.post_attention_layernorm_gamma,
                                          self.post_attention_layernorm_beta)
        mlp_output = self._mlp(ops.cast(mlp_input, self.act), used)
        return mlp_input * self.alpha + ops.cast(mlp_output, mstype.float32)

    def _mlp(self, x, used=None):
        """h->4h, GeLU, 4h->h. On CPU a prompt longer than MLP_CHUNK_ROWS goes through in row chunks, each waiting
        for the one before (as _attend's query blocks), so one chunk's intermediates exist at a time; the kernels
        clamp each chunk's `used` (the real tokens left from its first row) to 0..rows."""
        tokens = x.shape[0]
        if used is None or self.gelu_kernel is None or tokens <= self.mlp_chunk:
            return self._mlp_rows(x, used)
        parts = []
        done = None
        for start in range(0, tokens, self.mlp_chunk):
            part = x[start:start + self.mlp_chunk]
            if done is not None:
                part = ops.depend(part, done)
            done = self._mlp_rows(part, used - start)
            parts.append(done)
        return ops.concat(parts, 0)

    def _mlp_rows(self, x, used=None):
        inner = self._linear(x, self.mlp_dense_h_to_4h_weight, self.mlp_dense_h_to_4h_bias,
                             self.mlp_dense_h_to_4h_scales, used)
        inner = self._gelu(inner, used)
        return self._linear(inner, self.mlp_dense_4h_to_h_weight, self.mlp_dense_4h_to_h_bias,
                            self.mlp_dense_4h_to_h_scales, used)

    def _gelu(self, inner, used=None):
        """The MLP's GeLU, in float32: on CPU the kernel (every thread; `used` skips a bucket's padding rows)."""
        if self.gelu_kernel is None:
            return ops.cast(self.gelu(ops.cast(inner, mstype.float32)), self.act)
        return self.gelu_kernel(inner) if used is None else self.gelu_kernel(inner, used)

    def prefill(self, x, rope, visible, rows, prefix, used=None):
        """The whole (padded) prompt attends within itself; its keys and values go to cache rows `rows` (0..used-1,
        then the spare last row for each padding token).
        `visible` [t, t] is GLM's mask, `prefix` int32 [1] the same mask as the count of tokens all queries see,
        `used` int32 [1] the prompt's real tokens (the CPU kernels skip the padding after them)."""
        attention_input, q, k, v = self._project(x, rope, used)
        written = ops.depend(self.write(self.k_cache, rows, self._cache_rows(k)),
                             self.write(self.v_cache, rows, self._cache_rows(v)))
        if self.attend_prompt is not None:  # CPU: no score matrix, nothing left behind per layer
            if used is None:
                context = self.attend_prompt(q, k, v, prefix, self.coeff_tensor)
            else:  # the padding's queries are skipped too
                context = self.attend_prompt(q, k, v, prefix, self.coeff_tensor, used)
        else:
            context = self._attend(q, k, v, visible)
        return self._finish(attention_input, ops.depend(context, written), used)

    def _cache_rows(self, x):
        """Keys or values [t, heads, d] as the cache stores them: int8 codes and scales, or the cache's float dtype."""
        return ops.cast(x, self.dtype) if self.quantize_kv is None else self.quantize_kv(x)

    def decode(self, x, rope, visible, row):
        """One new token: its key and value go to cache row `row`, then it attends to rows 0..row."""
        attention_input, q, k, v = self._project(x, rope)
        keys = ops.depend(self.k_cache, self.write(self.k_cache, row, self._cache_rows(k)))
        values = ops.depend(self.v_cache, self.write(self.v_cache, row, self._cache_rows(v)))
        if self.attend_cache is not None:  # CPU: reads rows 0..row of the caches as they are stored
            context = self.attend_cache(q, keys, values, row, self.coeff_tensor)
        else:
            context = self._attend(q, ops.cast(keys, self.act), ops.cast(values, self.act), visible)
        return self._finish(attention_input, context)


class GlmNetwork(nn.Cell):
    """The weights, the caches and the sampler; PrefillStep and DecodeStep (steps.py) are the two graphs that run them."""

    def __init__(self, weights, shape: GlmShape, compute_dtype: str = "float16", on_layer=None, kernels=None,
                 kv_int8: bool = False) -> None:
        """`weights` (weight_source.py) gives `read(name, numpy dtype)` -> one tensor's array and `matrix(name,
        dtype)` -> a matrix as stored (float, or int8/int4 codes and scales); a bare `read` function also works.
        `kernels` (CPU only) holds the aot ops: `linear_f16` (float16 weights multiplied without a float32 copy),
        `linear_q8`/`linear_q4` (int8/int4 weights), `swap01` (a transpose) and the attention kernels; `kv_int8` keeps
        the KV cache as int8 codes with a scale per row and head (with kernels only; runtime.kv_cache_for)."""
        super(GlmNetwork, self).__init__()
        weights = ReadOnlySource(weights) if callable(weights) else weights
        np_dtype = np.float16 if compute_dtype == "float16" else np.float32
        ms_dtype = mstype.float16 if compute_dtype == "float16" else mstype.float32
        self.shape = shape
        self.rope_shape = (shape.num_heads, shape.head_dim)  # ints the graph reads (MindSpore 2.0 cannot read GlmShape)
        self.dtype = ms_dtype
        self.kernel = kernels.linear_f16 if kernels is not None else None
        self.kernel_q = quantized_kernel(kernels, weights)
        self.embedding_kind = matrix_params(self, "embedding", weights.matrix(EMBEDDING, np_dtype), EMBEDDING)
        layers = []
        for i in range(shape.num_layers):
            layers.append(GlmLayer(weights, i, shape, np_dtype, ms_dtype, kernels, kv_int8))
            if on_layer is not None:
                on_layer(i + 1)
        self.layers = nn.CellList(layers)
        self.final_gamma = wrap_array(weights.read("transformer.final_layernorm.gamma", np.float32),
                                      "transformer.final_layernorm.gamma")
        self.final_beta = wrap_array(weights.read("transformer.final_layernorm.beta", np.float32),
                                     "transformer.final_layernorm.beta")
        matrix_params(self, "lm_head", weights.matrix("lm_head.weight", np_dtype), "lm_head.weight")
        self.quant_kind = quantized_kind(weights)
        self.lm_head_chunks = lm_head_chunks(shape)  # decoded in row chunks where no kernel reads its codes
        self.hidden = shape.hidden_size
        self.no_bias = Tensor(np.zeros((shape.vocab_size,), np.float16))
        cos, sin = rotary_tables(shape.head_dim, shape.seq_length)
        table_dtype = np.float32 if activation_dtype(kernels, ms_dtype) == mstype.float32 else np_dtype
        self.cos = Tensor(cos.astype(np_dtype).astype(table_dtype)[:, None, :])  # [seq, 1, head_dim/2]
        self.sin = Tensor(sin.astype(np_dtype).astype(table_dtype)[:, None, :])
        self.rot = Tensor(rotation_matrix(shape.head_dim).astype(table_dtype))
        self.layer_norm = ops.LayerNorm(begin_norm_axis=-1, begin_params_axis=-1, epsilon=shape.layernorm_epsilon)
        self.matmul_t = ops.MatMul(transpose_b=True)
        self.sampler = Sampler(shape.vocab_size)

    def _embedding_rows(self, ids):
        """float32 rows of the embedding; int8/int4 codes are decoded here, one row per token (dequant.py)."""
        rows = ops.gather(self.embedding, ids, 0)
        if self.embedding_scales is None:
            return ops.cast(rows, mstype.float32)
        return dequantize_rows(rows, ops.gather(self.embedding_scales, ids, 0), self.embedding_kind, self.hidden)

    def embed(self, ids, positions, blocks):
        x = self._embedding_rows(ids)
        # Broadcast once here, not implicitly in every layer's multiply: an implicitly broadcasting elementwise op
        # keeps its memory until the graph ends on MindSpore's CPU runtime (measured; explicit BroadcastTo and
        # BiasAdd do not), and rotary runs 4 multiplies per layer.
        full = (ids.shape[0],) + self.rope_shape
        cos = ops.concat((ops.gather(self.cos, positions, 0), ops.gather(self.cos, blocks, 0)), -1)
        sin = ops.concat((ops.gather(self.sin, positions, 0), ops.gather(self.sin, blocks, 0)), -1)
        return x, (ops.broadcast_to(cos, full), ops.broadcast_to(sin, full), self.rot)

    def logits(self, hidden):
        """float32 logits [vocab] of one hidden row [1, hidden]."""
        normed, _, _ = self.layer_norm(hidden, self.final_gamma, self.final_beta)
        if self.lm_head_scales is not None and self.kernel_q is None:
            logits = dequantized_logits(self.matmul_t, ops.cast(normed, self.dtype), self.lm_head, self.lm_head_scales,
                                        self.quant_kind, self.lm_head_chunks, self.dtype)
            return ops.cast(logits, mstype.float32).reshape((-1,))
        if self.lm_head_scales is not None:
            return self.kernel_q(normed, self.lm_head, self.lm_head_scales, self.no_bias).reshape((-1,))
        if self.kernel is not None:
            normed = ops.cast(ops.cast(normed, self.dtype), mstype.float32)
            return self.kernel(normed, self.lm_head, self.no_bias).reshape((-1,))
        return ops.cast(self.matmul_t(ops.cast(normed, self.dtype), self.lm_head), mstype.float32).reshape((-1,))
