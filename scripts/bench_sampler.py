"""The sampler alone on GLM-6B's vocabulary (130,528 logits): the Ascend-safe one (float16 TopK of 512 candidates
ranked pairwise in float32) against the float32 sort it replaced, both compiled graphs on this device, in one run.

    python scripts/bench_sampler.py [--device CPU] [--calls 50]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python-sidecar"))  # glm_sidecar and the dev tools

VOCAB = 130528


def per_call_ms(cell, logits, floats, calls):
    cell(logits, floats)[0].asnumpy()  # compile
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        cell(logits, floats)[0].asnumpy()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="CPU", choices=("CPU", "GPU", "Ascend"))
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args(argv)
    import numpy as np
    import mindspore as ms

    ms.set_context(mode=ms.GRAPH_MODE, device_target=args.device)
    from glm_sidecar.engine.native.sampler import HEAD
    from tools.sampler_variants import NewSampler, SortSampler, floats_for

    logits = ms.Tensor((np.random.RandomState(0).standard_normal(VOCAB) * 3).astype(np.float32))
    floats = floats_for(0.95, 0.7, 0, 0.5)
    old = per_call_ms(SortSampler(VOCAB), logits, floats, args.calls)
    new = per_call_ms(NewSampler(VOCAB, HEAD), logits, floats, args.calls)
    print("MindSpore %s on %s, vocabulary %d, median of %d calls" % (ms.__version__, args.device, VOCAB, args.calls))
    print("  float32 sort sampler (baseline): %.2f ms per step" % old)
    print("  Ascend-safe sampler:             %.2f ms per step = %.2fx the baseline" % (new, new / old))
    return 0


if __name__ == "__main__":
    sys.exit(main())
