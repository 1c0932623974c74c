"""The weight quantizers: the NumPy reference's layout and error, and kernels/quantize.c bit for bit against it in
the -march=native and the portable build (through ctypes, no MindSpore)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from glm_sidecar.engine.native import quantize_kernel, quantizer

COMPILER = shutil.which("cc") or shutil.which("gcc")


def _weights(rows=64, k=256, seed=0):
    rng = np.random.RandomState(seed)
    w = (rng.standard_normal((rows, k)) * 0.02).astype(np.float16)
    w[1, 5] = 3.0  # an outlier
    w[2, :32] = 0  # an all-zero block
    w[3, 32:64] = 1e-7  # a block whose scale is a float16 subnormal or zero
    w[4, 64:96] = -0.5  # a block of equal values
    w[5, 96:128] = np.linspace(-1, 0.8, 32)  # largest magnitude negative
    return w


def test_int4_nibbles_pair_weight_i_with_weight_i_plus_16_of_each_group():
    q = np.arange(-8, 8, dtype=np.int8)
    codes = np.concatenate((q, q[::-1], q[::-1], q)).reshape(1, 64)
    packed = quantizer.pack_int4(codes)
    assert packed.shape == (1, 32)
    assert packed[0, 0] == (0 + 8) - 8 + ((7 + 8) << 4)  # code -8 low, code 7 high
    assert [int(b) & 15 for b in packed[0, :16]] == list(range(16))
    assert [int(b) >> 4 for b in packed[0, :16]] == list(range(15, -1, -1))
    assert np.array_equal(quantizer.unpack_int4(packed), codes)


@pytest.mark.parametrize("bits,rule", [(8, "best"), (4, "absmax"), (4, "maxmag"), (4, "best")])
def test_reference_codes_are_in_range_and_rebuild_the_weights(bits, rule):
    w = _weights()
    qs, scales = quantizer.quantize(w, bits, rule=rule)
    assert scales.dtype == np.float16 and scales.shape == (64, 256 // 32)
    assert qs.dtype == (np.int8 if bits == 8 else np.uint8) and qs.shape == (64, 256 if bits == 8 else 128)
    codes = qs if bits == 8 else quantizer.unpack_int4(qs)
    assert codes.min() >= (-127 if bits == 8 else -8) and codes.max() <= (127 if bits == 8 else 7)
    back = quantizer.dequantize(qs, scales, bits)
    blocks = np.abs(w.astype(np.float32)).reshape(64, 8, 32).max(-1)
    worst = np.abs(back - w.astype(np.float32)).reshape(64, 8, 32).max(-1)
    # Each weight within half a step of its value (a whole step where an int4 scale of peak/-8 clamps the other
    # sign at +7), give or take the float16 scale's rounding; scales below float16's 2**-24 vanish.
    step = blocks / (127.0 if bits == 8 else 7.0)
    assert (worst <= step * (0.5 if bits == 8 or rule == "absmax" else 1.0) * 1.01 + 2.0 ** -23).all()
    assert quantizer.relative_rms(back, w) < (0.01 if bits == 8 else 0.15)


def test_best_int4_scale_is_never_worse_than_either_rule_in_any_block():
    w = _weights(rows=128, seed=3).astype(np.float32)
    errors = {}
    for rule in quantizer.INT4_RULES:
        back = quantizer.dequantize(*quantizer.quantize(w, 4, rule=rule), bits=4)
        errors[rule] = ((back - w) ** 2).reshape(128, -1, 32).sum(-1)
    assert (errors["best"] <= np.minimum(errors["absmax"], errors["maxmag"]) * (1 + 1e-6)).all()
    assert errors["best"].sum() < min(errors["absmax"].sum(), errors["maxmag"].sum())


def test_rowwise_scheme_has_one_scale_per_row_and_more_error_than_blocks():
    w = _weights(rows=32, k=512, seed=5)
    for bits in (8, 4):
        qs, scales = quantizer.quantize_rowwise(w, bits)
        assert scales.shape == (32, 1)
        row = quantizer.relative_rms(quantizer.dequantize(qs, scales, bits), w)
        ours = quantizer.relative_rms(quantizer.dequantize(*quantizer.quantize(w, bits), bits=bits), w)
        assert ours < row


def test_non_finite_or_misshapen_weights_are_refused():
    w = _weights()
    w[0, 0] = np.inf
    with pytest.raises(ValueError):
        quantizer.quantize(w, 8)
    with pytest.raises(ValueError):
        quantizer.quantize(np.zeros((4, 48), np.float16), 8)


@pytest.fixture(scope="module", params=[quantize_kernel.FLAG_SETS[0], quantize_kernel.FLAG_SETS[-1]],
                ids=["native", "portable"])
def kernel(request, tmp_path_factory):
    if COMPILER is None:
        pytest.skip("no C compiler")
    path, how = quantize_kernel.build(str(tmp_path_factory.mktemp("qk")), flag_sets=[request.param])
    assert path is not None, how
    return quantize_kernel.QuantizeKernel(path, how)


@pytest.mark.parametrize("block", [32, 256])
@pytest.mark.parametrize("bits,rule", [(8, "best"), (4, "absmax"), (4, "maxmag"), (4, "best")])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_c_quantizer_matches_numpy_bit_for_bit(kernel, block, bits, rule, dtype):
    w = _weights(seed=block + bits).astype(dtype)
    got_qs, got_scales = kernel.quantize(w, bits, block=block, rule=rule)
    want_qs, want_scales = quantizer.quantize(w, bits, block=block, rule=rule)
    assert np.array_equal(got_qs, want_qs)
    assert np.array_equal(got_scales.view(np.uint16), want_scales.view(np.uint16))
    assert np.array_equal(kernel.dequantize(got_qs, got_scales, bits), quantizer.dequantize(want_qs, want_scales, bits))


def test_c_float16_conversions_match_numpy(kernel):
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    finite = bits[np.isfinite(bits.view(np.float16))]
    assert np.array_equal(kernel.widen(finite.view(np.float16)), finite.view(np.float16).astype(np.float32))
    # Scales round float32 -> float16 to nearest even, subnormals included: 1-weight blocks of chosen values.
    rng = np.random.RandomState(7)
    values = np.concatenate([np.float32(2.0) ** rng.uniform(-30, 16, 4000), [65504.0, 65519.0, 6e-8, 3e-8]])
    w = np.zeros((len(values), 32), np.float32)
    w[:, 0] = (values * 127).astype(np.float32)
    got = kernel.quantize(w, 8)[1]
    assert np.array_equal(got.view(np.uint16), quantizer.quantize(w, 8)[1].view(np.uint16))


def test_c_quantizer_refuses_what_numpy_refuses(kernel):
    w = _weights()
    w[9, 9] = np.nan
    with pytest.raises(ValueError):
        kernel.quantize(w, 4)
    with pytest.raises(ValueError):
        kernel.quantize(np.zeros((4, 48), np.float16), 8)
