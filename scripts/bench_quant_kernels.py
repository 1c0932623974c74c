"""The int8/int4 linear kernels (glm_linear_q8/q4) against glm_linear_f16 at GLM-6B's shapes, through ctypes, with
this run's own baselines: n = 1 in GB/s of the weight bytes as a ratio of a streaming read of the same number of
bytes (bench_probes.c's probe_read), n = 16 and 128 in GFLOP/s (2 n m k per call). Native build, all threads.

    python scripts/bench_quant_kernels.py [--tokens 1,16,128] [--shapes 4096x12288,...] [--repeats 5]
"""
from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python-sidecar"))

# k -> m of GLM-6B's linears: QKV, h->4h, 4h->h, the output layer.
SHAPES = ((4096, 12288), (4096, 16384), (16384, 4096), (4096, 130528))
KERNEL_FILES = ("linear_q8.c", "linear_q4.c", "linear_f16.c")


def build(flags):
    from glm_sidecar.engine.native.kernels.build import KERNEL_DIR
    target = os.path.join(tempfile.mkdtemp(prefix="glm-bench-quant-"), "bench.so")
    sources = [os.path.join(KERNEL_DIR, name) for name in KERNEL_FILES] + [os.path.join(HERE, "bench_probes.c")]
    subprocess.run(["cc"] + flags + ["-shared", "-fPIC", "-o", target] + sources + ["-lm"], check=True)
    lib = ctypes.CDLL(target)
    lib.probe_read.restype = ctypes.c_uint64
    lib.probe_read.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    return lib


def call_aot(kernel, arrays):
    count = len(arrays)
    shapes = [(ctypes.c_int64 * a.ndim)(*a.shape) for a in arrays]
    status = kernel(count, (ctypes.c_void_p * count)(*[a.ctypes.data for a in arrays]),
                    (ctypes.c_int * count)(*[a.ndim for a in arrays]),
                    (ctypes.POINTER(ctypes.c_int64) * count)(*[ctypes.cast(s, ctypes.POINTER(ctypes.c_int64))
                                                               for s in shapes]),
                    (ctypes.c_char_p * count)(*[str(a.dtype).encode() for a in arrays]), None, None)
    if status:
        raise RuntimeError("kernel returned %d" % status)


def once(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def seconds(fn, repeats):
    fn()  # warm: page faults, thread pool, caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def weights(np, rng, k, m):
    """name -> (weight arrays, bytes read per call): random codes and scales of each format."""
    scales = (rng.random((m, k // 32), dtype=np.float32) * 0.01).astype(np.float16)
    bias = rng.standard_normal(m).astype(np.float16)
    q8 = rng.integers(-127, 128, size=(m, k), dtype=np.int8)
    q4 = rng.integers(0, 256, size=(m, k // 2), dtype=np.uint8)
    f16 = (rng.integers(0, 1 << 16, size=(m, k), dtype=np.uint16) & 0x3BFF).view(np.float16)
    return (("q8", "glm_linear_q8", (q8, scales, bias)), ("q4", "glm_linear_q4", (q4, scales, bias)),
            ("f16", "glm_linear_f16", (f16, bias)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", default="1,16,128")
    parser.add_argument("--shapes", default=",".join("%dx%d" % s for s in SHAPES), help="k x m, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import numpy as np
    from glm_sidecar.engine.native.kernels.build import FLAG_SETS

    lib = build(FLAG_SETS[0])
    rng = np.random.default_rng(0)
    print("native build (%s), OMP_NUM_THREADS=%s, %d CPUs" % (" ".join(FLAG_SETS[0]),
                                                            os.environ.get("OMP_NUM_THREADS", "unset"),
                                                            os.cpu_count() or 0))
    for shape in args.shapes.split(","):
        k, m = [int(v) for v in shape.split("x")]
        for name, symbol, arrays in weights(np, rng, k, m):
            kernel = getattr(lib, symbol)
            nbytes = sum(a.nbytes for a in arrays)
            for n in [int(v) for v in args.tokens.split(",")]:
                x = rng.standard_normal((n, k), dtype=np.float32)
                y = np.empty((n, m), np.float32)
                repeats = args.repeats if n * m * k < 2e10 else max(2, args.repeats // 2)
                run = lambda: call_aot(kernel, (x,) + arrays + (y,))  # noqa: E731
                if n == 1:  # kernel and read interleaved, so a busy box slows both alike
                    buf = np.ones(nbytes - nbytes % 256, np.uint8)
                    read = lambda: lib.probe_read(buf.ctypes.data, buf.nbytes)  # noqa: E731
                    run(), read()
                    pairs = [(once(run), once(read)) for _ in range(repeats)]
                    took = statistics.median(p[0] for p in pairs)
                    roof = statistics.median(buf.nbytes / p[1] / 1e9 for p in pairs)
                    ratio = statistics.median((nbytes / p[0]) / (buf.nbytes / p[1]) for p in pairs)
                    print("k=%5d m=%6d %-3s n=1    %7.1f ms  %5.1f GB/s of %6.1f MB; read roofline %5.1f GB/s;"
                          " ratio %.2f" % (k, m, name, took * 1e3, nbytes / took / 1e9, nbytes / 1e6, roof, ratio))
                    del buf
                else:
                    took = seconds(run, repeats)
                    print("k=%5d m=%6d %-3s n=%-4d %7.1f ms  %6.1f GFLOP/s" % (k, m, name, n, took * 1e3,
                                                                             2.0 * n * m * k / took / 1e9))
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
