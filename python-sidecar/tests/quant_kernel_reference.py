"""NumPy references for the int8/int4 linear kernels (glm_linear_q8/q4): the weight format of the #20 interface
(32-blocks, float16 scales, int4 nibbles low = code i, high = code 16 + i), the kernels' run-time activation
quantization, and a ctypes caller for the aot ABI. Weight packing comes from the engine's quantizer when main has
one; until then the same few lines live here."""
import ctypes

import numpy as np

BLOCK = 32

try:  # the format helper's NumPy quantizer (q20-format branch), once merged
    from glm_sidecar.engine.native.quantizer import pack_int4, unpack_int4  # type: ignore
except ImportError:
    def pack_int4(q):
        """Codes [rows, k] in [-8, 7] -> uint8 [rows, k/2] (low nibble code i + 8, high nibble code 16 + i + 8)."""
        rows, k = q.shape
        u = (q.astype(np.int16) + 8).astype(np.uint8).reshape(rows, k // BLOCK, 2, BLOCK // 2)
        return (u[:, :, 0, :] | (u[:, :, 1, :] << 4)).reshape(rows, k // 2)

    def unpack_int4(qs):
        """uint8 [rows, k/2] -> int8 codes [rows, k] (the inverse of pack_int4)."""
        rows, half = qs.shape
        groups = qs.reshape(rows, half // (BLOCK // 2), BLOCK // 2)
        low = (groups & 15).astype(np.int8) - 8
        high = (groups >> 4).astype(np.int8) - 8
        return np.concatenate((low, high), axis=-1).reshape(rows, half * 2)


def quantize_weights(w, bits):
    """w [m, k] float32 -> (qs, scales float16 [m, k/32]): absmax/127 for int8, (largest-magnitude value)/-8 for
    int4 (so -8 codes occur); the kernels only decode q * scale, whatever rule chose the scale."""
    m, k = w.shape
    x = w.reshape(m, k // BLOCK, BLOCK).astype(np.float32)
    if bits == 8:
        d = np.abs(x).max(axis=-1, keepdims=True) / np.float32(127)
    else:
        d = np.take_along_axis(x, np.abs(x).argmax(axis=-1)[..., None], axis=-1) / np.float32(-8)
    d = d.astype(np.float16).astype(np.float32)
    lo, hi = (-127, 127) if bits == 8 else (-8, 7)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.clip(np.rint(np.where(d != 0, x / d, 0)), lo, hi).reshape(m, k).astype(np.int8)
    scales = d.reshape(m, k // BLOCK).astype(np.float16)
    return (q if bits == 8 else pack_int4(q)), scales


def codes(qs, bits):
    """The int weight codes [m, k] of either format."""
    return qs.astype(np.int8) if bits == 8 else unpack_int4(qs)


def dequantize(qs, scales, bits):
    q = codes(qs, bits).astype(np.float32)
    m, k = q.shape
    return (q.reshape(m, k // BLOCK, BLOCK) * scales.astype(np.float32)[:, :, None]).reshape(m, k)


def quantize_activations(x):
    """x [n, k] float32 -> (q int [n, k/32, 32], d float32 [n, k/32]) as the kernels do it: d = amax / 127,
    q = rint(x * (127 / amax)) in float32, all-zero blocks give q = 0, d = 0."""
    n, k = x.shape
    blocks = x.reshape(n, k // BLOCK, BLOCK).astype(np.float32)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(blocks * inv).astype(np.int64)
    return q, (amax[..., 0] / np.float32(127)).astype(np.float32)


def linear_same_quantization(x, qs, scales, bias, bits):
    """(y float64 [n, m], bound [n, m]): the kernels' arithmetic in float64 (exact block integer dot products times
    the float32 product of the two scales) and the sum of the terms' magnitudes, for a rounding-error tolerance."""
    q, d = quantize_activations(x)
    n, nb = d.shape
    w = codes(qs, bits).astype(np.int64).reshape(qs.shape[0], nb, BLOCK)
    dots = np.einsum("tbi,jbi->tjb", q, w).astype(np.float64)
    sc = (scales.astype(np.float32)[None, :, :] * d[:, None, :]).astype(np.float64)  # float32 products, as in C
    mags = np.einsum("tbi,jbi->tjb", np.abs(q), np.abs(w) + (8 if bits == 4 else 0)).astype(np.float64)
    y = (dots * sc).sum(axis=-1) + bias.astype(np.float64)
    return y, (mags * np.abs(sc)).sum(axis=-1) + np.abs(bias.astype(np.float64))


def call_aot(kernel, *arrays):
    """The aot calling convention: nparam, params, ndims, shapes, dtypes; the last array is the output."""
    count = len(arrays)
    shapes = [(ctypes.c_int64 * max(1, a.ndim))(*a.shape) for a in arrays]
    return kernel(count, (ctypes.c_void_p * count)(*[a.ctypes.data for a in arrays]),
                  (ctypes.c_int * count)(*[a.ndim for a in arrays]),
                  (ctypes.POINTER(ctypes.c_int64) * count)(*[ctypes.cast(s, ctypes.POINTER(ctypes.c_int64))
                                                             for s in shapes]),
                  (ctypes.c_char_p * count)(*[str(a.dtype).encode() for a in arrays]), None, None)
