"""kernels/quantize.c (part of the engine's kernel library, kernels/build.py) called through ctypes; the NumPy
reference (quantizer.py) where no compiler works."""
from __future__ import annotations

import ctypes
from typing import Optional, Tuple

import numpy as np

from . import quantizer
from .kernels.build import FLAG_SETS, build_kernel, kernel_dir
from .kernels.build import default_dir as default_kernel_dir

_RULES = dict((name, i) for i, name in enumerate(quantizer.INT4_RULES))
_P = ctypes.c_void_p
_I64 = ctypes.c_int64


def default_dir() -> str:
    """$GLM_CHAT_KERNEL_DIR (one shared folder, as `npm test` sets), else the kernels' default folder."""
    return kernel_dir(None) or default_kernel_dir()


def build(cache_dir: Optional[str] = None, flag_sets=FLAG_SETS) -> Tuple[Optional[str], str]:
    """(path of the shared library, how it was built) or (None, why not): the engine's own kernel library
    (kernels/build.py compiles every kernels/*.c into one, quantize.c among them), so one build serves both."""
    return build_kernel(cache_dir or default_dir(), flag_sets)


class QuantizeKernel(object):
    """quantize / dequantize / widen through the C library when `library` loads, through NumPy otherwise."""

    def __init__(self, library: Optional[str] = None, how: str = "NumPy") -> None:
        self.how = how
        self._lib = None
        if library:
            lib = ctypes.CDLL(library)
            lib.glm_quantize_rows.argtypes = [_P, ctypes.c_int, _I64, _I64, _I64, ctypes.c_int, ctypes.c_int, _P, _P]
            lib.glm_dequantize_rows.argtypes = [_P, _P, _I64, _I64, _I64, ctypes.c_int, _P]
            lib.glm_f16_to_f32.argtypes = [_P, _I64, _P]
            self._lib = lib

    @property
    def native(self) -> bool:
        return self._lib is not None

    def quantize(self, w: np.ndarray, bits: int, block: int = quantizer.BLOCK, rule: str = "best",
                 qs: Optional[np.ndarray] = None, scales: Optional[np.ndarray] = None):
        """w [rows, k] float16 or float32 -> (qs, scales) as quantizer.quantize; writes into qs/scales if given."""
        if self._lib is None or w.dtype not in (np.float16, np.float32):
            got = quantizer.quantize(w, bits, block, rule)
            if qs is None:
                return got
            qs[...] = got[0]
            scales[...] = got[1]
            return qs, scales
        w = np.ascontiguousarray(w)
        rows, k = w.shape
        if qs is None:
            qs = np.empty((rows, k if bits == 8 else k // 2), np.int8 if bits == 8 else np.uint8)
            scales = np.empty((rows, k // block), np.float16)
        status = self._lib.glm_quantize_rows(w.ctypes.data, 0 if w.dtype == np.float16 else 1, rows, k, block, bits,
                                             _RULES[rule], qs.ctypes.data, scales.ctypes.data)
        if status == 2:
            raise ValueError("a weight is NaN or infinite, or too large for a float16 scale")
        if status:
            raise ValueError("cannot quantize [%d, %d] to %d bits in blocks of %d (%s)" % (rows, k, bits, block, rule))
        return qs, scales

    def dequantize(self, qs: np.ndarray, scales: np.ndarray, bits: int, out: Optional[np.ndarray] = None):
        rows = qs.shape[0]
        k = qs.shape[1] * (1 if bits == 8 else 2)
        if self._lib is None:
            w = quantizer.dequantize(qs, scales, bits)
            if out is None:
                return w
            out[...] = w
            return out
        out = np.empty((rows, k), np.float32) if out is None else out
        qs, scales = np.ascontiguousarray(qs), np.ascontiguousarray(scales)
        if self._lib.glm_dequantize_rows(qs.ctypes.data, scales.ctypes.data, rows, k, k // scales.shape[1], bits,
                                         out.ctypes.data):
            raise ValueError("cannot dequantize [%d, %d] from %d bits" % (rows, k, bits))
        return out

    def widen(self, h: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """float16 -> float32 (NumPy's own conversion where the library is missing)."""
        if self._lib is None or h.dtype != np.float16:
            return np.asarray(h, np.float32) if out is None else np.copyto(out, h) or out
        h = np.ascontiguousarray(h)
        out = np.empty(h.shape, np.float32) if out is None else out
        self._lib.glm_f16_to_f32(h.ctypes.data, h.size, out.ctypes.data)
        return out


_LOADED = {}  # type: dict


def load(cache_dir: Optional[str] = None) -> QuantizeKernel:
    """The process's kernel: built (or found) once, NumPy when no build works."""
    key = cache_dir or default_dir()
    if key not in _LOADED:
        path, how = build(cache_dir)
        try:
            _LOADED[key] = QuantizeKernel(path, how) if path else QuantizeKernel(None, "NumPy (%s)" % how)
        except OSError as exc:
            _LOADED[key] = QuantizeKernel(None, "NumPy (%s)" % exc)
    return _LOADED[key]
