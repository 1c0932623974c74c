"""Decodes int8/int4 embedding rows in the graph (docs/quantized-weights.md): only the rows the tokens look up."""
from __future__ import annotations

from mindspore import ops
from mindspore import dtype as mstype

BLOCK = 32


def dequantize_rows(codes, scales, kind: str, width: int):
    """codes [n, width] int8 ("q8") or [n, width / 2] uint8 ("q4"), scales float16 [n, width / 32] -> float32
    [n, width]. A q4 byte of block b holds weight 32b + i + 8 in its low nibble and 32b + 16 + i + 8 in its high."""
    n = codes.shape[0]
    blocks = width // BLOCK
    if kind == "q8":
        q = ops.cast(codes, mstype.float32).reshape((n, blocks, BLOCK))
    else:
        packed = ops.cast(codes, mstype.float32).reshape((n, blocks, BLOCK // 2))
        high = ops.floor(packed / 16.0)  # exact: the bytes are whole numbers 0..255
        low = packed - high * 16.0
        q = ops.concat((low, high), -1) - 8.0
    scale = ops.broadcast_to(ops.cast(scales, mstype.float32).reshape((n, blocks, 1)), q.shape)
    return (q * scale).reshape((n, width))
