"""The CPU aot kernels against NumPy, and the reader's tensor-by-tensor read (dtype conversion, sliced tensors)."""
from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the aot kernels run inside MindSpore")

from glm_sidecar.engine.native.kernels.custom_ops import cpu_kernels  # noqa: E402
from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile  # noqa: E402
from glm_numpy_reference import (decode_attention, dequantize_kv_rows, gelu_tanh, prompt_attention,  # noqa: E402
                                 quantize_kv_rows)

@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    notes = {}
    built = cpu_kernels("CPU", "float16", str(tmp_path_factory.mktemp("cache")), lambda *a: None, notes)
    assert built is not None and built.linear_f16 is not None, notes
    return built

class _Apply(ms.nn.Cell):
    def __init__(self, op) -> None:
        super(_Apply, self).__init__()
        self.op = op

    def construct(self, *args):
        return self.op(*args)

@pytest.mark.parametrize("tokens,k,m", [(1, 64, 7), (1, 170, 64), (5, 4096 + 3, 33), (64, 96, 130),
                                          (300, 525, 70)])
def test_linear_f16_matches_numpy_in_float32(kernels, tokens, k, m):
    rng = np.random.RandomState(tokens * 1000 + k + m)
    x = rng.standard_normal((tokens, k)).astype(np.float32)
    w = (rng.standard_normal((m, k)) / np.sqrt(k)).astype(np.float16)
    b = rng.standard_normal((m,)).astype(np.float16)
    got = _Apply(kernels.linear_f16)(ms.Tensor(x), ms.Tensor(w), ms.Tensor(b)).asnumpy()
    want = x.astype(np.float64) @ w.astype(np.float64).T + b.astype(np.float64)
    assert got.dtype == np.float32 and got.shape == (tokens, m)
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())

@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_swap01_is_a_transpose_of_the_first_two_axes(kernels, dtype):
    x = np.arange(5 * 3 * 4).reshape(5, 3, 4).astype(dtype)
    got = _Apply(kernels.swap01)(ms.Tensor(x)).asnumpy()
    assert got.dtype == x.dtype and np.array_equal(got, x.transpose(1, 0, 2))

def test_read_gives_new_memory_in_the_asked_dtype_for_sliced_tensors(tmp_path):

    def varint(n):
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)

    def field(number, payload):
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    def value(name, dims, raw):
        tensor = b"".join(varint(1 << 3) + varint(d) for d in dims) + field(2, b"Float16") + field(3, raw)
        return field(1, field(1, name.encode()) + field(2, tensor))

    data = (np.arange(4 * 6, dtype=np.float32) / 7).astype(np.float16).reshape(4, 6)
    raw = data.tobytes()
    path = tmp_path / "sliced.ckpt"
    path.write_bytes(value("w", [4, 6], raw[:14]) + value("w", [4, 6], raw[14:]))
    ckpt = CheckpointFile(str(path))
    try:
        as_half = ckpt.read("w", "float16")
        as_float = ckpt.read("w", "float32")
        assert ckpt.shapes() == {"w": (4, 6)}
        assert as_half.flags.writeable and as_half.flags.c_contiguous and np.array_equal(as_half, data)
        assert as_float.dtype == np.float32 and np.array_equal(as_float, data.astype(np.float32))
    finally:
        ckpt.close()


@pytest.mark.parametrize("cache_dtype", [np.float16, np.float32])
@pytest.mark.parametrize("rows,heads,d,last", [(8, 2, 16, 0), (64, 4, 128, 37), (2048, 32, 128, 2047), (16, 3, 20, 9),
                                               (40, 1, 24, 38), (2049, 32, 128, 1699)])
def test_attend_reads_rows_up_to_last_and_matches_numpy(kernels, cache_dtype, rows, heads, d, last):
    rng = np.random.RandomState(rows + heads + d + last)
    q = (rng.standard_normal((1, heads, d)) / np.sqrt(d) / 3.0).astype(np.float32)
    k = rng.standard_normal((rows, heads, d)).astype(cache_dtype)
    v = rng.standard_normal((rows, heads, d)).astype(cache_dtype)
    k[last + 1:] = np.nan  # rows past `last` must never be read
    v[last + 1:] = np.nan
    coeff = np.array([3.0], np.float32)
    got = _Apply(kernels.attend_decode)(ms.Tensor(q), ms.Tensor(k), ms.Tensor(v), ms.Tensor(np.array([last], np.int32)),
                                 ms.Tensor(coeff)).asnumpy()
    assert got.dtype == np.float32 and got.shape == (1, heads * d)
    assert np.abs(got - decode_attention(q, k, v, last, 3.0)).max() <= 1e-5


@pytest.mark.parametrize("rows,heads,d,last", [(8, 2, 16, 0), (2049, 32, 128, 1699), (40, 3, 20, 38)])
def test_attend_reads_an_int8_cache_that_quantize_kv_wrote(kernels, rows, heads, d, last):
    rng = np.random.RandomState(rows + last)
    q = (rng.standard_normal((1, heads, d)) / np.sqrt(d)).astype(np.float32)
    x = (rng.standard_normal((2, rows, heads, d)) * 4.0).astype(np.float32)
    k, v = [_Apply(kernels.quantize_kv)(ms.Tensor(x[i])).asnumpy() for i in range(2)]
    assert k.dtype == np.int8 and k.shape == (rows, heads, d + 4)
    assert np.array_equal(k[..., -4:], quantize_kv_rows(x[0])[..., -4:])
    assert np.abs(k[..., :-4].astype(np.int32) - quantize_kv_rows(x[0])[..., :-4]).max() <= 1
    floats = dequantize_kv_rows(k)
    got = _Apply(kernels.attend_decode)(ms.Tensor(q), ms.Tensor(k), ms.Tensor(v),
                                        ms.Tensor(np.array([last], np.int32)),
                                        ms.Tensor(np.array([2.0], np.float32))).asnumpy()
    want = decode_attention(q, floats, dequantize_kv_rows(v), last, 2.0)
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max())


@pytest.mark.parametrize("tokens,heads,d,prefix", [(1, 2, 16, 1), (7, 3, 20, 3), (64, 4, 128, 60), (300, 2, 128, 1)])
def test_attend_prompt_applies_glms_mask_and_matches_numpy(kernels, tokens, heads, d, prefix):
    rng = np.random.RandomState(tokens + heads + d + prefix)
    q, k, v = [rng.standard_normal((tokens, heads, d)).astype(np.float32) for _ in range(3)]
    q = (q / np.sqrt(d) / 2.0).astype(np.float32)
    got = _Apply(kernels.attend_prompt)(ms.Tensor(q), ms.Tensor(k), ms.Tensor(v),
                                        ms.Tensor(np.array([prefix], np.int32)),
                                        ms.Tensor(np.array([2.0], np.float32))).asnumpy()
    want = prompt_attention(q, k, v, prefix, 2.0)
    assert got.dtype == np.float32 and got.shape == (tokens, heads * d)
    assert np.abs(got - want).max() <= 1e-5


@pytest.mark.parametrize("tokens,heads,d,prefix,used", [(64, 4, 128, 3, 17), (9, 2, 20, 9, 9), (300, 2, 128, 1, 300),
                                                        (16, 2, 16, 1, 0)])
def test_attend_prompt_with_used_computes_only_the_real_tokens(kernels, tokens, heads, d, prefix, used):
    rng = np.random.RandomState(tokens + used)
    q, k, v = [rng.standard_normal((tokens, heads, d)).astype(np.float32) for _ in range(3)]
    q = (q / np.sqrt(d) / 2.0).astype(np.float32)
    q[used:], k[used:], v[used:] = np.nan, np.nan, np.nan  # the padding must never be read
    got = _Apply(kernels.attend_prompt)(ms.Tensor(q), ms.Tensor(k), ms.Tensor(v),
                                        ms.Tensor(np.array([prefix], np.int32)), ms.Tensor(np.array([2.0], np.float32)),
                                        ms.Tensor(np.array([used], np.int32))).asnumpy()
    assert got.shape == (tokens, heads * d)
    assert np.array_equal(got[used:], np.zeros_like(got[used:]))
    if used:
        want = prompt_attention(q[:used], k[:used], v[:used], prefix, 2.0)
        assert np.abs(got[:used] - want).max() <= 1e-5


@pytest.mark.parametrize("shape,used", [((3, 37), None), ((64, 4096), None), ((64, 4096), 5), ((1, 16384), None),
                                        ((20, 24), 0)])
def test_gelu_is_the_tanh_approximation_and_skips_padding(kernels, shape, used):
    rng = np.random.RandomState(shape[0])
    x = (rng.standard_normal(shape) * 4.0).astype(np.float32)
    x.flat[:6] = [0.0, -100.0, 100.0, -9.0, 30.0, 1e-4]
    args = [ms.Tensor(x)] + ([] if used is None else [ms.Tensor(np.array([used], np.int32))])
    got = _Apply(kernels.gelu)(*args).asnumpy()
    want = gelu_tanh(x.astype(np.float64))
    rows = shape[0] if used is None else used
    assert got.dtype == np.float32 and got.shape == shape
    assert np.array_equal(got[rows:], np.zeros_like(got[rows:]))
    if rows:
        assert np.all(np.abs(got[:rows] - want[:rows]) <= 4e-6 * np.abs(want[:rows]) + 1e-6)
