"""Independent pure-NumPy GLM-6B forward pass (MindFormers GLMChatModel semantics) for checking engines in tests."""
import math

import numpy as np

# Parameter names of a MindFormers glm_6b.ckpt ({i}: 0-based layer index).
EMBEDDING = "transformer.word_embeddings.embedding_table"
LAYER = "transformer.layers.%d."
FINAL_LN = "transformer.final_layernorm."
LM_HEAD = "lm_head.weight"


def load_checkpoint_arrays(path):
    """name -> np.ndarray for every tensor of a MindSpore .ckpt (uses MindSpore's own reader)."""
    import mindspore
    return dict((name, param.asnumpy()) for name, param in mindspore.load_checkpoint(path).items())


def rotary_tables(rot_dim, length, base=10000.0):
    """cos/sin tables [length, rot_dim] as MindFormers builds them: everything in float16.

    inv_freq is rounded to float16, the positions are float16, their product is rounded to float16
    (np.outer of two float16 arrays), and cos/sin are evaluated on those float16 angles and rounded
    to float16 again, before being cast to float32 for the network.  At large positions the float16
    angle is far from position * inv_freq; an engine must reproduce this to match MindFormers.
    """
    inv_freq = (1.0 / base ** (np.arange(0, rot_dim, 2).astype(np.float32) / rot_dim)).astype(np.float16)
    angles = np.outer(np.arange(length, dtype=np.float16), inv_freq)  # float16 result
    angles = np.concatenate((angles, angles), axis=-1)
    return np.cos(angles).astype(np.float64), np.sin(angles).astype(np.float64)


def gelu_tanh(x):
    """MindSpore P.GeLU: the tanh approximation (not erf)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def glm_positions(ids, bos_token_id, gmask_token_id, mask_token_id):
    """(position_ids, block_position_ids, allowed[q, k]) for one sequence, as GLMForPreTraining computes them."""
    n = len(ids)
    context = ids.index(bos_token_id)  # ValueError when the prompt lacks <sop>, like MindFormers
    mask_token = gmask_token_id if gmask_token_id in ids else mask_token_id
    position = np.arange(n)
    position[context:] = ids.index(mask_token)
    block = np.concatenate((np.zeros(context, np.int64), np.arange(1, n - context + 1)))
    allowed = np.tril(np.ones((n, n), dtype=bool))
    allowed[:, :context] = True  # the prompt (before <sop>) is seen by every row
    return position, block, allowed


def _rotate(x, cos, sin):
    """x: [seq, heads, d]; cos/sin: [seq, d]; rotate_half pairs the first and second halves of d."""
    half = x.shape[-1] // 2
    rotated = np.concatenate((-x[..., half:], x[..., :half]), axis=-1)
    return x * cos[:, None, :] + rotated * sin[:, None, :]


def _f16(x):
    return x.astype(np.float16).astype(x.dtype)


class GlmNumpyReference(object):
    """Full-sequence (no KV cache) GLM-6B forward; logits(ids) equals the prefill of GLMChatModel.

    mlp_float16=True additionally rounds the MLP's Linear inputs and outputs to float16 as MindFormers'
    MLPWithGEGLU does (its Linear layers keep the default compute_dtype float16 even when the config
    says float32); with False (default) everything is computed in `dtype`. On the tiny model the emulation
    narrows the gap to MindFormers only from 1.8e-4 to 1.1e-4: single float16 rounding flips dominate.
    """

    def __init__(self, arrays, num_heads, layernorm_eps=1e-5, bos_token_id=None, gmask_token_id=None,
                 mask_token_id=None, eos_token_id=None, dtype=np.float64, mlp_float16=False):
        self.w = dict((k, np.asarray(v).astype(dtype)) for k, v in arrays.items())
        self.num_heads = num_heads
        self.eps = layernorm_eps
        self.bos, self.gmask, self.mask, self.eos = bos_token_id, gmask_token_id, mask_token_id, eos_token_id
        self.mlp_float16 = mlp_float16
        self.num_layers = 0
        while (LAYER % self.num_layers) + "input_layernorm.gamma" in self.w:
            self.num_layers += 1
        self.hidden = self.w[EMBEDDING].shape[1]
        self.head_dim = self.hidden // num_heads
        self.alpha = math.sqrt(2.0 * self.num_layers)  # DeepNorm residual scale

    def _linear(self, x, name, float16=False):
        weight, bias = self.w[name + ".weight"], self.w[name + ".bias"]  # weight: [out, in]
        if not float16:
            return x @ weight.T + bias
        return _f16(_f16(_f16(x) @ _f16(weight).T) + _f16(bias))

    def _attention(self, i, x, position, block, allowed):
        n, heads, hd = x.shape[0], self.num_heads, self.head_dim
        # query_key_value rows are grouped per head: [q_h | k_h | v_h] for h = 0..heads-1
        mixed = self._linear(x, LAYER % i + "attention.query_key_value").reshape(n, heads, 3 * hd)
        q, k, v = mixed[..., :hd], mixed[..., hd:2 * hd], mixed[..., 2 * hd:]
        # 2D rotary: first half of the head dim by position ids, second half by block position ids
        cos, sin = [t.astype(x.dtype) for t in rotary_tables(hd // 2, int(max(position.max(), block.max())) + 1)]
        half = hd // 2
        q = np.concatenate((_rotate(q[..., :half], cos[position], sin[position]),
                            _rotate(q[..., half:], cos[block], sin[block])), axis=-1)
        k = np.concatenate((_rotate(k[..., :half], cos[position], sin[position]),
                            _rotate(k[..., half:], cos[block], sin[block])), axis=-1)
        coeff = float(i + 2)  # (layer_id + 1) with MindFormers' 1-based layer_id
        scores = np.einsum("qhd,khd->hqk", q / (math.sqrt(hd) * coeff), k)
        scores = np.where(allowed[None], scores, -10000.0) * coeff  # masked fill before re-scaling
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = np.einsum("hqk,khd->qhd", probs, v).reshape(n, heads * hd)
        return self._linear(context, LAYER % i + "attention.dense")

    def _layer(self, i, x, position, block, allowed):
        p = LAYER % i
        attn_in = layer_norm(x, self.w[p + "input_layernorm.gamma"], self.w[p + "input_layernorm.beta"], self.eps)
        h = attn_in * self.alpha + self._attention(i, attn_in, position, block, allowed)
        mlp_in = layer_norm(h, self.w[p + "post_attention_layernorm.gamma"],
                            self.w[p + "post_attention_layernorm.beta"], self.eps)
        inner = gelu_tanh(self._linear(mlp_in, p + "mlp.dense_h_to_4h", self.mlp_float16))
        return mlp_in * self.alpha + self._linear(inner, p + "mlp.dense_4h_to_h", self.mlp_float16)

    def logits(self, ids):
        """[len(ids), vocab] logits of every position of one prompt (must hold <sop> and [gMASK]/[MASK])."""
        ids = [int(t) for t in ids]
        position, block, allowed = glm_positions(ids, self.bos, self.gmask, self.mask)
        x = self.w[EMBEDDING][np.asarray(ids)]
        for i in range(self.num_layers):
            x = self._layer(i, x, position, block, allowed)
        x = layer_norm(x, self.w[FINAL_LN + "gamma"], self.w[FINAL_LN + "beta"], self.eps)
        return x @ self.w[LM_HEAD].T

    def greedy(self, ids, n, eos_token_id=None):
        """Up to n new ids by argmax, recomputing the whole sequence each step; stops after eos."""
        eos = self.eos if eos_token_id is None else eos_token_id
        seq, new = [int(t) for t in ids], []
        for _ in range(n):
            token = int(np.argmax(self.logits(seq)[-1]))
            seq.append(token)
            new.append(token)
            if eos is not None and token == eos:
                break
        return new


def decode_attention(q, k, v, last, coeff):
    """What the CPU decode kernel computes, in float64: q [1, heads, d] (already scaled) over cache rows 0..last of
    k, v [rows, heads, d]; scores times coeff. -> [1, heads * d]"""
    heads, d = q.shape[1], q.shape[2]
    scores = np.einsum("hd,jhd->hj", q[0].astype(np.float64), k[:last + 1].astype(np.float64)) * coeff
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.einsum("hj,jhd->hd", probs, v[:last + 1].astype(np.float64)).reshape(1, heads * d)


def quantize_kv_rows(x):
    """What kernels/kv_cache.c writes: x float32 [rows, heads, d] -> int8 [rows, heads, d + 4], each head's d codes
    round(x * 127 / amax) then its float32 scale amax / 127 as 4 bytes."""
    x = np.asarray(x, np.float32)
    top = np.abs(x).max(-1, keepdims=True)
    inverse = np.where(top > 0, np.float32(127.0) / np.where(top > 0, top, 1), 0).astype(np.float32)
    codes = np.clip(np.rint(x * inverse), -127, 127).astype(np.int8)
    scales = (top / np.float32(127.0)).astype(np.float32)
    return np.concatenate([codes, scales.view(np.int8)], -1)


def dequantize_kv_rows(rows):
    """The values an int8 cache's rows stand for: int8 [rows, heads, d + 4] -> float32 [rows, heads, d]."""
    rows = np.ascontiguousarray(rows)
    scales = np.ascontiguousarray(rows[..., -4:]).view(np.float32)
    return rows[..., :-4].astype(np.float32) * scales


def prompt_attention(q, k, v, prefix, coeff):
    """What the CPU prompt kernel computes, in float64: q (already scaled), k, v [tokens, heads, d]; query i sees
    keys 0..max(prefix, i + 1) - 1 (GLM's mask, as PrefillStep builds it); scores times coeff. -> [tokens, heads * d]"""
    tokens, heads, d = q.shape
    rows = np.arange(tokens)
    visible = (rows[None, :] < prefix) | (rows[None, :] <= rows[:, None])  # [query, key]
    scores = np.einsum("ihd,jhd->hij", q.astype(np.float64), k.astype(np.float64)) * coeff
    scores = np.where(visible[None], scores, -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.einsum("hij,jhd->ihd", probs, v.astype(np.float64)).reshape(tokens, heads * d)
