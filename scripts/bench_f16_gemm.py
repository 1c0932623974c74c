"""The float16-weight linear's prompt GEMM (glm_linear_f16, kernels/gemm_f16.h) at GLM-6B's shapes, through ctypes,
against this run's own baselines, interleaved call by call so a busy box slows all alike: NumPy's float32 matmul
of the same shapes (the weight already float32: what a float32 GEMM gets here), the old prompt path (cast the
float16 weight to float32, then that matmul, plus the bias), and with --rows the kernel's row path (the 4 x 4 tile
it used for up to 64 tokens). Prints GFLOP/s (2 n m k per call), the ratios, and each token count's total over one
layer's four linears times 28 layers. Native build, all threads; load averages before and after.

    python scripts/bench_f16_gemm.py [--tokens 16,64,512,1700] [--shapes 4096x12288,...] [--repeats 3] [--rows 64]
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
sys.path.insert(0, HERE)

from bench_quant_kernels import call_aot  # noqa: E402

# k x m of GLM-6B's linears in one layer: QKV, dense, h -> 4h, 4h -> h.
SHAPES = ((4096, 12288), (4096, 4096), (4096, 16384), (16384, 4096))
LAYERS = 28


def build(extra):
    from glm_sidecar.engine.native.kernels.build import FLAG_SETS, KERNEL_DIR
    target = os.path.join(tempfile.mkdtemp(prefix="glm-bench-f16-"), "f16.so")
    subprocess.run(["cc"] + FLAG_SETS[0] + extra + ["-shared", "-fPIC", "-o", target,
                                                    os.path.join(KERNEL_DIR, "linear_f16.c"), "-lm"], check=True)
    return ctypes.CDLL(target).glm_linear_f16


def once(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(runs, repeats):
    """name -> median seconds, the runs interleaved repeat by repeat after one warm-up each."""
    for fn in runs.values():
        fn()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            times[name].append(once(fn))
    return {name: statistics.median(t) for name, t in times.items()}


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", default="16,64,512,1700")
    parser.add_argument("--shapes", default=",".join("%dx%d" % s for s in SHAPES), help="k x m, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=64, help="time the row path up to this many tokens (0: never)")
    args = parser.parse_args(argv)
    import numpy as np

    kernel, rows_only = build([]), build(["-DGEMM_MIN=1000000000"])
    rng = np.random.default_rng(0)
    print("native build, OMP_NUM_THREADS=%s, %d CPUs, NumPy %s; %s" % (
        os.environ.get("OMP_NUM_THREADS", "unset"), os.cpu_count() or 0, np.__version__, load()))
    totals = {}
    for n in [int(v) for v in args.tokens.split(",")]:
        for shape in args.shapes.split(","):
            k, m = [int(v) for v in shape.split("x")]
            w = (rng.standard_normal((m, k), dtype=np.float32) / np.sqrt(k)).astype(np.float16)
            wide = w.astype(np.float32)
            b = rng.standard_normal(m).astype(np.float16)
            x = rng.standard_normal((n, k), dtype=np.float32)
            y, ref = np.empty((n, m), np.float32), np.empty((n, m), np.float32)
            runs = {"numpy": lambda: np.matmul(x, wide.T, out=ref),
                    "gemm": lambda: call_aot(kernel, (x, w, b, y)),
                    "cast": lambda: np.matmul(x, w.astype(np.float32).T) + b.astype(np.float32)}
            if n <= args.rows:
                runs["rows"] = lambda: call_aot(rows_only, (x, w, b, y))
            took = measure(runs, args.repeats)
            err = np.abs(y - (x @ wide.T + b.astype(np.float32))).max() / np.abs(ref).max()
            flops = 2.0 * n * m * k
            line = ["n=%-5d k=%5d m=%5d" % (n, k, m)]
            line += ["%s %6.1f ms %5.1f GFLOP/s" % (name, t * 1e3, flops / t / 1e9) for name, t in took.items()]
            line.append("gemm/numpy %.2f, gemm/cast %.2f" % (took["numpy"] / took["gemm"], took["cast"] / took["gemm"]))
            if "rows" in took:
                line.append("gemm/rows %.2f" % (took["rows"] / took["gemm"]))
            print("; ".join(line) + "; max err %.1e" % err)
            sys.stdout.flush()
            for name, t in took.items():
                totals.setdefault(n, {}).setdefault(name, 0.0)
                totals[n][name] += t
            del w, wide, x, y, ref
    print("one layer's linears x %d layers (seconds):" % LAYERS)
    for n, by_name in totals.items():
        print("  n=%-5d " % n + ", ".join("%s %.2f" % (name, t * LAYERS) for name, t in by_name.items()))
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
