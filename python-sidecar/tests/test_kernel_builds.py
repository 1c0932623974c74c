"""The attention kernels (prompt and decode) and the int8 KV cache's row writer in each build kernels/build.py may
fall back to (this CPU's vector units and OpenMP, and the one-lane, one-thread portable C an aarch64 notebook gets),
called straight through ctypes against NumPy: no MindSpore needed."""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from glm_numpy_reference import decode_attention, dequantize_kv_rows, prompt_attention, quantize_kv_rows
from glm_sidecar.engine.native.kernels.build import (DECODE_ATTEND_SYMBOL, FLAG_SETS, KERNEL_DIR, KV_QUANT_SYMBOL,
                                                     PROMPT_ATTEND_SYMBOL)

COMPILER = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler")


@pytest.fixture(scope="module", params=[FLAG_SETS[0], FLAG_SETS[-1]], ids=["native", "portable"])
def attention(request, tmp_path_factory):
    target = str(tmp_path_factory.mktemp("kernel") / "attention.so")
    sources = [os.path.join(KERNEL_DIR, name) for name in ("attention.c", "kv_cache.c")]
    subprocess.run([COMPILER] + request.param + ["-shared", "-fPIC", "-o", target] + sources + ["-lm"], check=True)
    return ctypes.CDLL(target)


@pytest.fixture
def prompt_kernel(attention):
    return getattr(attention, PROMPT_ATTEND_SYMBOL)


def _call(kernel, *arrays):
    """The aot calling convention: nparam, params, ndims, shapes, dtypes; the last array is the output."""
    count = len(arrays)
    shapes = [(ctypes.c_int64 * a.ndim)(*a.shape) for a in arrays]
    return kernel(count, (ctypes.c_void_p * count)(*[a.ctypes.data for a in arrays]),
                  (ctypes.c_int * count)(*[a.ndim for a in arrays]),
                  (ctypes.POINTER(ctypes.c_int64) * count)(*[ctypes.cast(s, ctypes.POINTER(ctypes.c_int64))
                                                             for s in shapes]),
                  (ctypes.c_char_p * count)(*[str(a.dtype).encode() for a in arrays]), None, None)


# Token counts off and on the kernel's 8-query blocks and 16-key panels; prefixes inside, at and past the end.
@pytest.mark.parametrize("tokens,heads,d,prefix", [(1, 2, 16, 1), (7, 3, 20, 3), (17, 1, 128, 40), (33, 2, 128, 33),
                                                   (64, 4, 128, 60), (300, 2, 128, 1)])
def test_prompt_attention_matches_numpy_in_every_build(prompt_kernel, tokens, heads, d, prefix):
    rng = np.random.RandomState(tokens * 7 + heads + d + prefix)
    q, k, v = [rng.standard_normal((tokens, heads, d)).astype(np.float32) for _ in range(3)]
    q = (q * 4.0 / np.sqrt(d)).astype(np.float32)  # sharp enough that some weights underflow to zero
    out = np.full((tokens, heads * d), np.nan, np.float32)
    assert _call(prompt_kernel, q, k, v, np.array([prefix], np.int32), np.array([2.0], np.float32), out) == 0
    assert np.abs(out - prompt_attention(q, k, v, prefix, 2.0)).max() <= 1e-5


def test_prompt_attention_refuses_mismatched_shapes(prompt_kernel):
    q = np.zeros((4, 2, 16), np.float32)
    k = np.zeros((5, 2, 16), np.float32)
    out = np.zeros((4, 32), np.float32)
    assert _call(prompt_kernel, q, k, k, np.array([1], np.int32), np.array([1.0], np.float32), out) == 3


# One head (a thread with none), heads not a multiple of the threads, d off the vector width, float16 and float32 caches.
@pytest.mark.parametrize("rows,heads,d,last,dtype", [(1, 1, 16, 0, np.float16), (40, 3, 20, 38, np.float16),
                                                     (70, 4, 128, 64, np.float32), (300, 5, 24, 299, np.float16)])
def test_decode_attention_matches_numpy_in_every_build(attention, rows, heads, d, last, dtype):
    rng = np.random.RandomState(rows + heads + d)
    q = (rng.standard_normal((1, heads, d)) * 3.0 / np.sqrt(d)).astype(np.float32)
    k, v = [rng.standard_normal((rows, heads, d)).astype(dtype) for _ in range(2)]
    k[last + 1:], v[last + 1:] = np.nan, np.nan  # rows past `last` are never read
    out = np.full((1, heads * d), np.nan, np.float32)
    kernel = getattr(attention, DECODE_ATTEND_SYMBOL)
    assert _call(kernel, q, k, v, np.array([last], np.int32), np.array([2.0], np.float32), out) == 0
    assert np.abs(out - decode_attention(q, k, v, last, 2.0)).max() <= 1e-5


def _int8_cache(rng, rows, heads, d, last):
    """A cache as the int8 KV cache stores it, the rows past `last` garbage whose scales are NaN."""
    cache = quantize_kv_rows(rng.standard_normal((rows, heads, d)).astype(np.float32) * rng.uniform(0.1, 8.0))
    cache[last + 1:] = -1  # four 0xff bytes: a NaN scale
    return cache


@pytest.mark.parametrize("rows,heads,d,last", [(1, 1, 16, 0), (40, 3, 20, 38), (70, 4, 128, 64), (300, 5, 24, 299)])
def test_decode_attention_reads_an_int8_cache_in_every_build(attention, rows, heads, d, last):
    rng = np.random.RandomState(rows + heads + d)
    q = (rng.standard_normal((1, heads, d)) * 3.0 / np.sqrt(d)).astype(np.float32)
    k, v = _int8_cache(rng, rows, heads, d, last), _int8_cache(rng, rows, heads, d, last)
    out = np.full((1, heads * d), np.nan, np.float32)
    kernel = getattr(attention, DECODE_ATTEND_SYMBOL)
    assert _call(kernel, q, k, v, np.array([last], np.int32), np.array([2.0], np.float32), out) == 0
    want = decode_attention(q, dequantize_kv_rows(k), dequantize_kv_rows(v), last, 2.0)
    assert np.abs(out - want).max() <= 1e-5 * max(1.0, np.abs(want).max())


def test_decode_attention_refuses_an_int8_cache_without_room_for_its_scales(attention):
    q = np.zeros((1, 2, 16), np.float32)
    k = np.zeros((4, 2, 16), np.int8)  # float-cache width: no scale after the codes
    out = np.zeros((1, 32), np.float32)
    kernel = getattr(attention, DECODE_ATTEND_SYMBOL)
    assert _call(kernel, q, k, k, np.array([1], np.int32), np.array([1.0], np.float32), out) == 3


# Rows of zeros (scale 0), a row of one outlier, widths off the vector width.
@pytest.mark.parametrize("rows,heads,d", [(2, 1, 16), (3, 2, 20), (65, 4, 128)])
def test_kv_rows_are_codes_and_a_scale_per_head_in_every_build(attention, rows, heads, d):
    rng = np.random.RandomState(rows * heads + d)
    x = (rng.standard_normal((rows, heads, d)) * rng.uniform(0.01, 50.0, (rows, heads, 1))).astype(np.float32)
    x[0, 0] = 0.0
    x[-1, -1, :] = 0.001
    x[-1, -1, d // 2] = -300.0
    out = np.full((rows, heads, d + 4), 99, np.int8)
    assert _call(getattr(attention, KV_QUANT_SYMBOL), x, out) == 0
    want = quantize_kv_rows(x)
    assert np.array_equal(out[..., -4:], want[..., -4:])  # scales: amax / 127, bit for bit
    assert np.abs(out[..., :-4].astype(np.int32) - want[..., :-4]).max() <= 1  # a tie may round the other way
    got = dequantize_kv_rows(out)
    step = np.abs(x).max(-1, keepdims=True) / 127.0
    assert np.all(np.abs(got - x) <= step * 0.5 + 1e-6 * np.abs(x).max())
    assert np.all(got[0, 0] == 0.0) and out[-1, -1, d // 2] == -127


def test_openmp_threads_sleep_when_idle_unless_the_user_said_otherwise(monkeypatch, tmp_path):
    from glm_sidecar.engine.native.kernels.build import build_kernel

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    build_kernel(str(tmp_path), [FLAG_SETS[-1]])
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"  # set before any caller loads the library (and libgomp)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    build_kernel(str(tmp_path), [FLAG_SETS[-1]])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


# Records OMP_WAIT_POLICY at the moment `mindspore` is first imported (when libgomp loads and reads it), then runs
# the given entry: the sidecar's __main__ module, or the native engine's start_mindspore.
_IMPORT_PROBE = """
import builtins, json, os, sys
os.environ.pop("OMP_WAIT_POLICY", None)
seen = []
real = builtins.__import__
def probe(name, *args, **kwargs):
    if name.split(".")[0] == "mindspore" and not seen:
        seen.append(os.environ.get("OMP_WAIT_POLICY"))
    return real(name, *args, **kwargs)
builtins.__import__ = probe
if sys.argv[1] == "main":
    import glm_sidecar.__main__  # noqa: F401
    import mindspore  # noqa: F401  (what an engine does next)
else:
    from glm_sidecar.engine.native.runtime import start_mindspore
    start_mindspore("CPU", 0, None, "probe")
print(json.dumps(seen))
"""


@pytest.mark.parametrize("entry", ["main", "start_mindspore"])
def test_openmp_wait_policy_is_set_before_mindspore_loads_libgomp(entry):
    pytest.importorskip("mindspore", reason="the order only matters where MindSpore loads libgomp")
    sidecar = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, entry], cwd=sidecar, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["PASSIVE"]
