"""kernels/quantize.c built with this machine's compiler (once per machine and source) and called through ctypes;
the NumPy reference (quantizer.py) where no compiler works."""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from typing import List, Optional, Tuple

import numpy as np

from . import quantizer

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels", "quantize.c")
# The machine's vector units (F16C conversions, OpenMP over rows), then portable builds.
FLAG_SETS = (["-O3", "-march=native", "-fopenmp"], ["-O3", "-fopenmp"], ["-O3"])
_RULES = dict((name, i) for i, name in enumerate(quantizer.INT4_RULES))
_P = ctypes.c_void_p
_I64 = ctypes.c_int64


def default_dir() -> str:
    if os.environ.get("GLM_CHAT_KERNEL_DIR"):  # one shared folder (npm test sets it), as kernels/build.py honours
        return os.environ["GLM_CHAT_KERNEL_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "glm-chat", "kernels")


def _digest(flags: List[str], compiler: str) -> str:
    h = hashlib.sha256()
    with open(SOURCE, "rb") as handle:
        h.update(handle.read())
    h.update(" ".join([compiler] + flags).encode("utf-8"))
    if "-march=native" in flags:  # valid only on a CPU with the same flags
        try:
            with open("/proc/cpuinfo", "r") as handle:
                h.update(next((line for line in handle if line.startswith(("flags", "Features"))), "").encode())
        except (IOError, OSError):
            pass
        h.update(platform.machine().encode("utf-8"))
    return h.hexdigest()[:16]


def build(cache_dir: Optional[str] = None, flag_sets=FLAG_SETS) -> Tuple[Optional[str], str]:
    """(path of the shared library, how it was built) or (None, why not)."""
    cache_dir = cache_dir or default_dir()
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not compiler:
        return None, "no C compiler (cc, gcc or clang) on PATH"
    errors = []
    for flags in flag_sets:
        target = os.path.join(cache_dir, "quantize-%s.so" % _digest(flags, compiler))
        if os.path.isfile(target):
            return target, "%s %s (cached)" % (os.path.basename(compiler), " ".join(flags))
        try:
            os.makedirs(cache_dir, exist_ok=True)
            handle, tmp = tempfile.mkstemp(prefix="quantize-", suffix=".so.tmp", dir=cache_dir)
            os.close(handle)
            done = subprocess.run([compiler] + flags + ["-shared", "-fPIC", "-o", tmp, SOURCE, "-lm"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            errors.append(str(exc))
            continue
        if done.returncode == 0:
            os.replace(tmp, target)
            return target, "%s %s" % (os.path.basename(compiler), " ".join(flags))
        os.remove(tmp)
        lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
        errors.append(lines[-1] if lines else "exit %d" % done.returncode)
    return None, "%s failed: %s" % (os.path.basename(compiler), "; ".join(errors))


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
