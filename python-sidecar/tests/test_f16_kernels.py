"""The float16-weight linear (glm_linear_f16) in every build kernels/build.py may fall back to, and with its prompt
GEMM (gemm_f16.h) forced for every token count, called through ctypes against NumPy in float64: odd shapes around
the kernel's tiles and blocks, the bias, leading axes, exact integer cases, refusals, and no float32 copy of the
weight (the process's peak memory grows by far less than one). No MindSpore needed."""
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from quant_kernel_reference import call_aot
from glm_sidecar.engine.native.kernels.build import FLAG_SETS, KERNEL_DIR, SYMBOL

COMPILER = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler")
SOURCE = os.path.join(KERNEL_DIR, "linear_f16.c")
# The engine's build; the same with the prompt GEMM for every n (AVX2 machines); the portable builds.
BUILDS = {"native": FLAG_SETS[0], "native-gemm-always": FLAG_SETS[0] + ["-DGEMM_MIN=1"],
          "portable-openmp": FLAG_SETS[1], "portable": FLAG_SETS[2]}


def build(flags, folder):
    target = os.path.join(str(folder), "f16.so")
    subprocess.run([COMPILER] + flags + ["-shared", "-fPIC", "-o", target, SOURCE, "-lm"], check=True)
    return target


@pytest.fixture(scope="module", params=sorted(BUILDS))
def kernel(request, tmp_path_factory):
    import ctypes
    return getattr(ctypes.CDLL(build(BUILDS[request.param], tmp_path_factory.mktemp("kernel"))), SYMBOL)


def _run(kernel, x, w, b):
    y = np.full(x.shape[:-1] + (w.shape[0],), np.nan, np.float32)
    assert call_aot(kernel, x, w, b, y) == 0
    return y


def _operands(seed, n, k, m):
    rng = np.random.RandomState(seed)
    x = (rng.standard_normal((n, k)) * 2).astype(np.float32)
    w = (rng.standard_normal((m, k)) / np.sqrt(k)).astype(np.float16)
    return x, w, rng.standard_normal((m,)).astype(np.float16)


# n: the row path (1, 5) and the GEMM's 6-token tiles with every remainder; k: under, at and over the 256-column
# k-block, not a multiple of 8; m: under and over the 16-row tile and the 128-row block a thread widens.
@pytest.mark.parametrize("n", [1, 5, 64, 65, 300])
@pytest.mark.parametrize("k,m", [(7, 3), (96, 130), (256, 16), (525, 300), (4096 + 3, 33)])
def test_matches_numpy_in_float64(kernel, n, k, m):
    x, w, b = _operands(n * 1009 + k * 7 + m, n, k, m)
    got = _run(kernel, x, w, b)
    x64, w64, b64 = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    want = x64 @ w64.T + b64
    bound = np.abs(x64) @ np.abs(w64).T + np.abs(b64)  # the terms' magnitudes: float32 rounding scales with it
    assert got.dtype == np.float32 and got.shape == (n, m)
    assert (np.abs(got - want) <= 1e-5 * bound).all(), np.abs(got - want).max()


@pytest.mark.parametrize("n", [1, 6, 13, 64])
def test_small_integers_give_exact_results(kernel, n):
    """Sums below 2**24 of exact products are exact in any order: every index and the bias must be right."""
    rng = np.random.RandomState(n)
    k, m = 515, 147
    x = rng.randint(-8, 9, size=(n, k)).astype(np.float32)
    w = rng.randint(-8, 9, size=(m, k)).astype(np.float16)
    b = rng.randint(-1000, 1000, size=m).astype(np.float16)
    got = _run(kernel, x, w, b)
    assert np.array_equal(got, x.astype(np.float64) @ w.astype(np.float64).T + b)


def test_zero_activations_give_the_bias_and_leading_axes_are_tokens(kernel):
    x, w, b = _operands(3, 2 * 35, 300, 40)
    x = x.reshape(2, 35, 300)
    x[1, 4] = 0
    got = _run(kernel, x, w, b)
    assert got.shape == (2, 35, 40)
    assert np.array_equal(got[1, 4], b.astype(np.float32))
    assert np.allclose(got.reshape(70, 40), x.reshape(70, 300) @ w.astype(np.float32).T + b, rtol=1e-5, atol=1e-5)


def test_no_tokens_and_no_columns_are_not_errors(kernel):
    w = np.ones((3, 8), np.float16)
    assert call_aot(kernel, np.zeros((0, 8), np.float32), w, np.zeros(3, np.float16), np.zeros((0, 3), np.float32)) == 0
    y = np.full((2, 3), np.nan, np.float32)
    assert call_aot(kernel, np.zeros((2, 0), np.float32), np.zeros((3, 0), np.float16), np.ones(3, np.float16), y) == 0
    assert np.array_equal(y, np.ones((2, 3), np.float32))


@pytest.mark.parametrize("n,used", [(64, 16), (64, 3), (17, 17), (17, 40), (9, 0), (9, -2)])
def test_used_computes_the_first_tokens_only_and_zeros_the_padding(kernel, n, used):
    """A prompt padded to its graph's bucket: `used` int32 [1] (before y) limits the work to the real tokens."""
    rng = np.random.RandomState(n + used + 5)
    k, m = 72, 11
    x = rng.standard_normal((n, k)).astype(np.float32)
    w = rng.standard_normal((m, k)).astype(np.float16)
    b = rng.standard_normal(m).astype(np.float16)
    real = min(max(used, 0), n)
    whole = _run(kernel, x[:real], w, b) if real else np.zeros((0, m), np.float32)
    y = np.full((n, m), np.nan, np.float32)
    assert call_aot(kernel, x, w, b, np.array([used], np.int32), y) == 0
    assert np.array_equal(y[:real], whole)
    assert (y[real:] == 0).all()
    assert call_aot(kernel, x, w, b, np.array([used], np.int64), y) != 0  # int32 only


def test_refuses_other_dtypes_and_shapes(kernel):
    good = dict(x=np.zeros((2, 8), np.float32), w=np.zeros((3, 8), np.float16), b=np.zeros(3, np.float16),
                y=np.zeros((2, 3), np.float32))
    bad = [dict(x=good["x"].astype(np.float16)), dict(w=good["w"].astype(np.float32)),
           dict(b=good["b"].astype(np.float32)), dict(y=good["y"].astype(np.float16)),
           dict(w=np.zeros((3, 9), np.float16)), dict(b=np.zeros(4, np.float16)), dict(w=np.zeros(24, np.float16))]
    assert call_aot(kernel, *good.values()) == 0
    for change in bad:
        args = dict(good, **change)
        assert call_aot(kernel, *args.values()) != 0, sorted(change)


def test_a_prompt_makes_no_float32_copy_of_the_weight(tmp_path):
    """In its own process: a 4096 x 4096 float16 weight (32 MiB) times 300 tokens on the engine's build raises the
    peak RSS (VmHWM) by under 12 MiB, where a float32 copy alone would be 64 MiB."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc")
    library = build(BUILDS["native"], tmp_path)
    script = textwrap.dedent("""
        import ctypes, sys
        import numpy as np
        sys.path[:0] = [sys.argv[2], sys.argv[3]]
        from quant_kernel_reference import call_aot

        def hwm():
            with open("/proc/self/status") as handle:
                return [int(l.split()[1]) * 1024 for l in handle if l.startswith("VmHWM")][0]

        kernel = ctypes.CDLL(sys.argv[1]).glm_linear_f16
        x = np.ones((300, 4096), np.float32)
        w = np.full((4096, 4096), 0.5, np.float16)
        b = np.zeros(4096, np.float16)
        y = np.full((300, 4096), np.nan, np.float32)  # every page touched before the call
        tiny = [np.ones((8, 8), a.dtype) for a in (x, w)]
        assert call_aot(kernel, tiny[0], tiny[1], b[:8], np.zeros((8, 8), np.float32)) == 0  # threads started
        before = hwm()
        assert call_aot(kernel, x, w, b, y) == 0
        assert (y == 2048.0).all()
        print(hwm() - before)
    """)
    tests = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, "-c", script, library, tests, os.path.dirname(tests)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    grew = int(done.stdout.decode().strip().splitlines()[-1])
    assert grew < 12 << 20, grew
