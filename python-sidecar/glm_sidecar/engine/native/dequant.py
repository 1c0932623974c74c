"""Decodes int8/int4 weights in the graph (docs/quantized-weights.md): the embedding rows the tokens look up, and,
where no CPU kernel multiplies codes directly (Ascend, GPU), each matrix just before its MatMul."""
from __future__ import annotations

from mindspore import ops
from mindspore import dtype as mstype

BLOCK = 32


def _codes(codes, kind: str, n: int, blocks: int, dtype):
    """The codes q [n, blocks, 32] as whole numbers in `dtype` (exact in float16 too: |q| <= 255). A q4 byte of
    block b holds weight 32b + i + 8 in its low nibble and 32b + 16 + i + 8 in its high."""
    if kind == "q8":
        return ops.cast(codes, dtype).reshape((n, blocks, BLOCK))
    packed = ops.cast(codes, dtype).reshape((n, blocks, BLOCK // 2))
    high = ops.floor(packed * 0.0625)  # exact: whole numbers 0..255 over a power of two
    low = packed - high * 16.0
    return ops.concat((low, high), -1) - 8.0


def dequantize_rows(codes, scales, kind: str, width: int):
    """codes [n, width] int8 ("q8") or [n, width / 2] uint8 ("q4"), scales float16 [n, width / 32] -> float32
    [n, width]."""
    n = codes.shape[0]
    blocks = width // BLOCK
    q = _codes(codes, kind, n, blocks, mstype.float32)
    scale = ops.broadcast_to(ops.cast(scales, mstype.float32).reshape((n, blocks, 1)), q.shape)
    return (q * scale).reshape((n, width))


def dequantize_matrix(codes, scales, kind: str, dtype):
    """A whole matrix for MatMul: codes [m, k] int8 ("q8") or [m, k / 2] uint8 ("q4"), scales float16 [m, k / 32]
    -> [m, k] in `dtype` (the compute dtype, float16 on a device), computed in that dtype: no float32 copy.

    Each weight is a code times its block's float16 scale, rounded once to `dtype` (float16: within 2**-11 of the
    float32 product, the rounding a float16 checkpoint's own weights have). The caller orders the first cast after
    the matmul's input (ops.depend), so the runtime holds one decoded matrix at a time, not every layer's at once.
    The scale multiplies by broadcasting: on a device that reads the [m, k/32, 1] scales in place (an explicit
    BroadcastTo would write a full [m, k] copy first)."""
    m, blocks = scales.shape
    q = _codes(codes, kind, m, blocks, dtype)
    return (q * ops.cast(scales, dtype).reshape((m, blocks, 1))).reshape((m, blocks * BLOCK))


def dequantized_linear(matmul_t, x, codes, scales, kind: str, bias, dtype):
    """x [tokens, k] in `dtype` -> x @ W.T + bias [tokens, m], W decoded from its codes just before the MatMul. The
    decode depends on x: it cannot start before this matmul's input exists, so no two decoded matrices coexist
    (unordered, the runtime may decode every layer's matrices up front)."""
    weight = dequantize_matrix(ops.depend(codes, x), scales, kind, dtype)
    return ops.bias_add(matmul_t(x, weight), bias)


def lm_head_chunks(shape):
    """Row ranges (start, end) of the LM head, each no larger than a layer's largest matrix: GLM-6B's head holds
    534.6 M weights, 8 times its largest layer matrix, and decoded whole it would be the run's largest transient.
    Rows come in multiples of 16, which Ascend's MatMul wants (GLM-6B: 7 chunks of 16,320 rows and one of 16,288)."""
    hidden, vocab = shape.hidden_size, shape.vocab_size
    largest = max(3 * hidden * hidden, shape.inner_hidden_size * hidden)
    count = max(1, -(-vocab * hidden // largest))
    rows = -(-vocab // count // 16) * 16
    if rows * hidden > largest and rows > 16:
        rows -= 16
    return tuple((start, min(start + rows, vocab)) for start in range(0, vocab, rows))


def dequantized_logits(matmul_t, x, codes, scales, kind: str, chunks, dtype):
    """x [1, k] in `dtype` -> x @ W.T [1, vocab] for the LM head's codes, decoded and multiplied one row chunk at a
    time, each chunk's decode waiting for the previous chunk's product. (A tuple, not a list: MindSpore 2.0 turns a
    list built in the graph into a `make_list` node, which has no device kernel.)"""
    parts = ()
    done = x
    for start, end in chunks:
        weight = dequantize_matrix(ops.depend(codes, done)[start:end], scales[start:end], kind, dtype)
        done = matmul_t(x, weight)
        parts = parts + (done,)
    return ops.concat(parts, -1)
