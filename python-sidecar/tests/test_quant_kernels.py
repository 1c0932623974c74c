"""The int8 and int4 linear kernels (glm_linear_q8/q4, issue #20) in every build kernels/build.py may fall back to,
called through ctypes against NumPy: the kernels' own arithmetic (tight), exact integer cases, the float product of
the dequantized weights (bounded error, so a wrong scale or nibble order fails), one token alone or in a batch,
and refusals of wrong dtypes and shapes. No MindSpore needed."""
import ctypes
import os
import shutil
import subprocess

import numpy as np
import pytest

from quant_kernel_reference import (call_aot, dequantize, linear_same_quantization, pack_int4, quantize_weights)
from glm_sidecar.engine.native.kernels.build import FLAG_SETS, KERNEL_DIR, Q4_SYMBOL, Q8_SYMBOL

COMPILER = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler")
SOURCES = [os.path.join(KERNEL_DIR, name) for name in ("linear_q8.c", "linear_q4.c")]


@pytest.fixture(scope="module", params=list(FLAG_SETS), ids=["native", "portable-openmp", "portable"])
def kernels(request, tmp_path_factory):
    target = str(tmp_path_factory.mktemp("kernel") / "quant.so")
    subprocess.run([COMPILER] + request.param + ["-shared", "-fPIC", "-o", target] + SOURCES + ["-lm"], check=True)
    lib = ctypes.CDLL(target)
    return {8: getattr(lib, Q8_SYMBOL), 4: getattr(lib, Q4_SYMBOL)}


def _weights(rng, m, k, bits):
    w = (rng.standard_normal((m, k)) / np.sqrt(k)).astype(np.float32)
    qs, scales = quantize_weights(w, bits)
    return qs, scales, rng.standard_normal((m,)).astype(np.float16)


def _run(kernel, x, qs, scales, bias):
    y = np.full(x.shape[:-1] + (qs.shape[0],), np.nan, np.float32)
    assert call_aot(kernel, x, qs, scales, bias, y) == 0
    return y


# n: the decode row path (1, 3), the prompt panels with a partial panel (17); m off the 4-row tile; k from one block.
@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("n", [1, 3, 17])
@pytest.mark.parametrize("k,m", [(32, 5), (64, 13), (4096, 67), (4096 + 96, 3)])
def test_matches_the_kernels_arithmetic_in_float64(kernels, bits, n, k, m):
    rng = np.random.RandomState(n * 7919 + k + m + bits)
    x = rng.standard_normal((n, k)).astype(np.float32) * 3
    x[0, :32] = 0  # an all-zero block: scale 0
    if n > 2:
        x[2, -32:] *= 1e4
    qs, scales, bias = _weights(rng, m, k, bits)
    got = _run(kernels[bits], x, qs, scales, bias)
    want, bound = linear_same_quantization(x, qs, scales, bias, bits)
    assert got.dtype == np.float32 and got.shape == (n, m)
    assert (np.abs(got - want) <= 1e-5 * bound + 1e-6).all(), np.abs(got - want).max()


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("n", [1, 3, 4, 8, 17, 40])
def test_integer_inputs_give_exact_integer_outputs(kernels, bits, n):
    """Scales 1 and activations whose every block reaches +-127 are quantized without rounding: y is exact."""
    rng = np.random.RandomState(n + bits)
    k, m = 256, 9
    x = rng.randint(-127, 128, size=(n, k)).astype(np.float32)
    x[:, ::32] = 127 * np.where(rng.rand(n, k // 32) < 0.5, -1, 1)
    lo, hi = (-127, 127) if bits == 8 else (-8, 7)
    q = rng.randint(lo, hi + 1, size=(m, k))
    qs = q.astype(np.int8) if bits == 8 else pack_int4(q)
    bias = rng.randint(-100, 100, size=m).astype(np.float16)
    got = _run(kernels[bits], x, qs, np.ones((m, k // 32), np.float16), bias)
    assert np.array_equal(got, x.astype(np.float64) @ q.T + bias)


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("n", [1, 3, 17])
def test_close_to_the_float_product_of_the_dequantized_weights(kernels, bits, n):
    rng = np.random.RandomState(100 + n + bits)
    k, m = 1024, 70
    x = rng.standard_normal((n, k)).astype(np.float32)
    qs, scales, bias = _weights(rng, m, k, bits)
    got = _run(kernels[bits], x, qs, scales, bias)
    want = x.astype(np.float64) @ dequantize(qs, scales, bits).astype(np.float64).T
    err = np.sqrt(((got - bias.astype(np.float64) - want) ** 2).mean() / (want ** 2).mean())
    assert err < 0.015  # activation quantization alone: about 0.006


@pytest.mark.parametrize("bits", [8, 4])
def test_a_token_alone_and_in_a_batch_agree_and_leading_axes_are_tokens(kernels, bits):
    rng = np.random.RandomState(7 + bits)
    k, m = 512, 21
    x = rng.standard_normal((2, 9, k)).astype(np.float32)
    qs, scales, bias = _weights(rng, m, k, bits)
    batch = _run(kernels[bits], x, qs, scales, bias)
    assert batch.shape == (2, 9, m)
    _, bound = linear_same_quantization(x.reshape(18, k), qs, scales, bias, bits)
    for t in (0, 7, 17):
        alone = _run(kernels[bits], x.reshape(18, k)[t:t + 1], qs, scales, bias)
        assert (np.abs(alone[0] - batch.reshape(18, m)[t]) <= 1e-5 * bound[t]).all()


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("n,used", [(64, 16), (64, 3), (17, 17), (17, 40), (9, 0), (9, -2)])
def test_used_computes_the_first_tokens_only_and_zeros_the_padding(kernels, bits, n, used):
    """A prompt padded to its graph's bucket: `used` int32 [1] (before y) limits the work to the real tokens."""
    rng = np.random.RandomState(n + used + bits)
    k, m = 256, 11
    x = rng.standard_normal((n, k)).astype(np.float32)
    qs, scales, bias = _weights(rng, m, k, bits)
    real = min(max(used, 0), n)
    whole = _run(kernels[bits], x[:real], qs, scales, bias) if real else np.zeros((0, m), np.float32)
    y = np.full((n, m), np.nan, np.float32)
    assert call_aot(kernels[bits], x, qs, scales, bias, np.array([used], np.int32), y) == 0
    assert np.array_equal(y[:real], whole)
    assert (y[real:] == 0).all()
    assert call_aot(kernels[bits], x, qs, scales, bias, np.array([used], np.int64), y) != 0  # int32 only


def test_no_tokens_is_not_an_error(kernels):
    x = np.zeros((0, 64), np.float32)
    y = np.zeros((0, 3), np.float32)
    assert call_aot(kernels[8], x, np.zeros((3, 64), np.int8), np.ones((3, 2), np.float16),
                    np.zeros(3, np.float16), y) == 0


@pytest.mark.parametrize("bits", [8, 4])
def test_refuses_other_dtypes_and_shapes(kernels, bits):
    m, k, per = 5, 64, (1 if bits == 8 else 2)
    wdt, other = (np.int8, np.uint8) if bits == 8 else (np.uint8, np.int8)
    good = dict(x=np.zeros((2, k), np.float32), qs=np.zeros((m, k // per), wdt), scales=np.ones((m, 2), np.float16),
                b=np.zeros(m, np.float16), y=np.zeros((2, m), np.float32))
    bad = [dict(x=good["x"].astype(np.float16)), dict(qs=good["qs"].astype(other)),
           dict(scales=good["scales"].astype(np.float32)), dict(b=good["b"].astype(np.float32)),
           dict(y=good["y"].astype(np.float16)), dict(qs=np.zeros((m, k // per + 1), wdt)),
           dict(qs=np.zeros((m + 1, k // per), wdt)), dict(scales=np.ones((m, 3), np.float16)),
           dict(b=np.zeros(m + 1, np.float16)), dict(y=np.zeros((3, m), np.float32)),
           dict(y=np.zeros((2, m + 1), np.float32)), dict(y=np.zeros((2 * m,), np.float32)),
           dict(x=np.zeros((2, 48), np.float32), qs=np.zeros((m, 48 // per), wdt)),  # k % 32 != 0
           dict(qs=np.zeros((m * k // per,), wdt))]
    assert call_aot(kernels[bits], *good.values()) == 0
    for change in bad:
        args = dict(good, **change)
        assert call_aot(kernels[bits], *args.values()) != 0, sorted(change)
    assert call_aot(kernels[bits], good["x"], good["qs"], good["scales"], good["y"]) != 0  # no bias
