"""NumPy reference of the weight quantizers: ours (int8/int4, one float16 scale per 32-weight block) and THUDM's
(one float16 absmax scale per row), the int4 nibble packing, and dequantization; kernels/quantize.c matches it."""
from __future__ import annotations

from typing import Tuple

import numpy as np

BLOCK = 32  # weights per scale (and per int4 nibble group) in the engine's format
INT4_RULES = ("absmax", "maxmag", "best")  # absmax/7, (signed value of largest magnitude)/-8, the better per block
LIMITS = {8: (-127.0, 127.0), 4: (-8.0, 7.0)}


def _stored(d: np.ndarray) -> np.ndarray:
    """A scale as the file stores it (float16) and the kernels use it (that value in float32)."""
    return d.astype(np.float16).astype(np.float32)


def _codes(x: np.ndarray, d: np.ndarray, bits: int) -> np.ndarray:
    """x [..., n] at scales d [..., 1] -> float32 codes in the precision's range (round half to even)."""
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    lo, hi = LIMITS[bits]
    return np.clip(np.rint(x * inv), lo, hi)


def _block_error(x: np.ndarray, d: np.ndarray, bits: int) -> np.ndarray:
    e = (x - _codes(x, d, bits) * d).astype(np.float64)  # float32 errors, squared and summed in float64
    return (e * e).sum(axis=-1)


def block_scales(x: np.ndarray, bits: int, rule: str = "best") -> np.ndarray:
    """x [rows, blocks, block] float32 -> the stored scales [rows, blocks, 1] (float32 values of float16)."""
    amax = np.abs(x).max(axis=-1, keepdims=True)
    if bits == 8:
        return _stored(amax / np.float32(127))
    by_absmax = _stored(amax / np.float32(7))
    peak = np.take_along_axis(x, np.abs(x).argmax(axis=-1)[..., None], axis=-1)
    by_peak = _stored(peak / np.float32(-8))
    if rule == "absmax":
        return by_absmax
    if rule == "maxmag":
        return by_peak
    better = _block_error(x, by_peak, bits) < _block_error(x, by_absmax, bits)
    return np.where(better[..., None], by_peak, by_absmax)


def pack_int4(q: np.ndarray) -> np.ndarray:
    """Codes [rows, k] in [-8, 7] -> uint8 [rows, k/2]: in each 32-group, byte i holds code i + 8 in its low
    nibble and code 16 + i + 8 in its high nibble."""
    rows, k = q.shape
    u = (q.astype(np.int16) + 8).astype(np.uint8).reshape(rows, k // BLOCK, 2, BLOCK // 2)
    return (u[:, :, 0, :] | (u[:, :, 1, :] << 4)).reshape(rows, k // 2)


def unpack_int4(qs: np.ndarray) -> np.ndarray:
    """uint8 [rows, k/2] -> int8 codes [rows, k] (the inverse of pack_int4)."""
    rows, half = qs.shape
    groups = qs.reshape(rows, half // (BLOCK // 2), BLOCK // 2)
    low = (groups & 15).astype(np.int8) - 8
    high = (groups >> 4).astype(np.int8) - 8
    return np.concatenate((low, high), axis=-1).reshape(rows, half * 2)


def quantize(w: np.ndarray, bits: int, block: int = BLOCK, rule: str = "best") -> Tuple[np.ndarray, np.ndarray]:
    """w [rows, k] (k % block == 0, block % 32 == 0) -> (qs, scales float16 [rows, k/block]);
    qs is int8 [rows, k] for 8 bits, packed uint8 [rows, k/2] for 4."""
    rows, k = w.shape
    if block % BLOCK or k % block or bits not in LIMITS or rule not in INT4_RULES:
        raise ValueError("cannot quantize [%d, %d] to %d bits in blocks of %d (%s)" % (rows, k, bits, block, rule))
    x = np.asarray(w, np.float32).reshape(rows, k // block, block)
    if not np.isfinite(x).all():
        raise ValueError("a weight is NaN or infinite")
    d = block_scales(x, bits, rule)
    if not np.isfinite(d).all():
        raise ValueError("a weight is too large for a float16 scale")
    q = _codes(x, d, bits).reshape(rows, k)
    scales = d.reshape(rows, k // block).astype(np.float16)
    return (q.astype(np.int8) if bits == 8 else pack_int4(q)), scales


def dequantize(qs: np.ndarray, scales: np.ndarray, bits: int) -> np.ndarray:
    """(qs, scales) -> float32 [rows, k]; the block size is k / scales.shape[1]."""
    q = qs if bits == 8 else unpack_int4(qs)
    rows, k = q.shape
    blocks = scales.shape[1]
    w = q.reshape(rows, blocks, k // blocks).astype(np.float32) * scales.astype(np.float32)[:, :, None]
    return w.reshape(rows, k)


def quantize_rowwise(w: np.ndarray, bits: int) -> Tuple[np.ndarray, np.ndarray]:
    """THUDM ChatGLM-6B's scheme (quantization.py): one absmax scale per output row, absmax/127 or absmax/7,
    rounded to float16; stored in our layout with a block of the whole row."""
    return quantize(w, bits, block=w.shape[1], rule="absmax")


def relative_rms(approx: np.ndarray, exact: np.ndarray) -> float:
    """||approx - exact|| / ||exact|| over all elements, in float64."""
    exact = np.asarray(exact, np.float64)
    err = np.asarray(approx, np.float64) - exact
    norm = np.sqrt((exact * exact).sum())
    return float(np.sqrt((err * err).sum()) / norm) if norm else float(np.sqrt((err * err).sum()))
