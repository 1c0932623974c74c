"""Benchmark of the native engine against a bare decode loop, MindFormers, a cold start and the memory roofline.

Usage (CPU, the default; makes the tiny model and a 4-layer hidden-1024 random GLM under .cache/):
    python scripts/bench_engine.py [--tokens 48] [--skip-mindformers] [--model-dir DIR ...]
On an Ascend or GPU machine, with the real model:
    python scripts/bench_engine.py --device Ascend --model-dir /path/to/glm-6b --seq-length 2048
Every ratio compares two measurements taken in this same run, on this machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python-sidecar"))  # glm_sidecar and the dev tools


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def prompt_of(tokenizer, length):
    """Prompt ids of exactly `length` tokens, ending in [gMASK] <sop> like every real prompt."""
    text_ids = tokenizer.encode("北京的天气怎么样？今天北京晴天，气温二十度。 " * (length // 4 + 8))
    return text_ids[:length - 2] + [tokenizer.gmask_id, tokenizer.bos_id]


BENCH_PROMPT = "北京的天气怎么样？"


def bare_rate(engine, tokens):
    """Tokens/s of the decoder's own loop (prefill + decode steps, no text, no IPC) on BENCH_PROMPT."""
    from glm_sidecar.engine.base import GenerateParams

    ids = engine.encode(BENCH_PROMPT)
    greedy = GenerateParams(max_new_tokens=tokens, do_sample=False)
    count = engine.decoder.run(ids, greedy, lambda: False, lambda _t: None)[1]
    return count / median_time(lambda: engine.decoder.run(ids, greedy, lambda: False, lambda _t: None), 3)


def start_sidecar(model_dir, args, cache_dir):
    """(the running SidecarProcess, seconds to ready, its ready status)."""
    from tools.sidecar_client import SidecarProcess

    started = time.perf_counter()
    side = SidecarProcess(["--engine", "native", "--model-dir", model_dir, "--device-target", args.device,
                           "--seq-length", str(args.seq_length), "--compile-cache", cache_dir,
                           "--precision", args.precision])
    ready = [m for m in side.wait_ready(timeout_s=3600) if m["msg_type"] == "status"][-1]["content"]
    if ready["state"] != "ready":
        side.__exit__()
        raise SystemExit("sidecar failed: %s" % ready)
    return side, time.perf_counter() - started, ready


def served_rate(side, tokens):
    """Tokens/s a client of the sidecar process sees: request sent to reply received, BENCH_PROMPT, greedy."""
    def once():
        side.send(side.shell, "generate_request", {"prompt": BENCH_PROMPT, "max_new_tokens": tokens,
                                                   "do_sample": False})
        side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply", timeout_s=600)

    once()
    return tokens / median_time(once, 3)


def ttft(engine_run, repeats=3):
    engine_run()
    return median_time(engine_run, repeats)


def memory_bandwidth_gbs():
    """Read+write GB/s of a large elementwise op on the current MindSpore device."""
    import numpy as np
    import mindspore as ms

    x = ms.Tensor(np.ones((64 * 1024 * 1024,), np.float32))
    (x * 1.0001).asnumpy()[:1]
    seconds = median_time(lambda: (x * 1.0001).sum().asnumpy(), 5)
    return 3 * x.nbytes / seconds / 1e9  # read x, write the product, read it for the sum


def bench_model(model_dir, args, report):
    from glm_sidecar.engine.base import GenerateParams
    from glm_sidecar.engine.native_engine import NativeEngine

    print("\n== %s (seq_length %d, %s, precision %s)" % (model_dir, args.seq_length, args.device, args.precision))
    size = os.path.getsize(os.path.join(model_dir, "glm_6b.ckpt"))
    read_s = median_time(lambda: open(os.path.join(model_dir, "glm_6b.ckpt"), "rb").read(), 3)
    native = NativeEngine(model_dir, args.device, 0, args.seq_length,
                          precision=None if args.precision == "auto" else args.precision)
    native.load(lambda phase, progress, detail: None)
    ckpt_s = native.timings["checkpoint"]
    report("checkpoint read: native %.2f GB/s vs reading the file once %.2f GB/s: ratio %.2f (target >= 1)"
           % (size / 1e9 / ckpt_s, size / 1e9 / read_s, read_s / ckpt_s))

    with tempfile.TemporaryDirectory(prefix="glm-bench-cache-") as cache:
        side, cold_s, cold = start_sidecar(model_dir, args, cache)
        try:
            served = served_rate(side, args.tokens)
            bare = bare_rate(native, args.tokens)  # same prompt and length, measured right after, same process load
        finally:
            side.__exit__()
        side, warm_s, warm = start_sidecar(model_dir, args, cache)
        side.__exit__()
    report("decode: sidecar path %.1f tok/s / bare decode loop %.1f tok/s = %.3f (target >= 0.95)"
           % (served, bare, served / bare))
    report("start: warm %.2f s / cold %.2f s = %.2f (target <= 0.5); compile phase %.2f s -> %.2f s"
           % (warm_s, cold_s, warm_s / cold_s, cold["timings"].get("compile", 0), warm["timings"].get("compile", 0)))

    weights = sum(p.asnumpy().nbytes for p in native.decoder.prefill_step.network.get_parameters()
                  if "cache" not in p.name and "seen" not in p.name)
    bandwidth = memory_bandwidth_gbs()
    roofline = bandwidth * 1e9 / weights
    report("roofline: %.1f MB of weights per token at %.1f GB/s measured = %.1f tok/s; bare loop reaches %.0f%%"
           % (weights / 1e6, bandwidth, roofline, 100.0 * bare / roofline))

    mindformers = None
    if not args.skip_mindformers:
        try:
            from glm_sidecar.engine.mindformers_engine import MindFormersEngine
            mindformers = MindFormersEngine(model_dir, args.device, 0, args.seq_length)
            mindformers.load(lambda phase, progress, detail: None)
        except Exception as exc:  # not installed, or no GLM-6B in it: the comparison is skipped, said so
            report("MindFormers comparison skipped: %s" % str(exc).splitlines()[0])
            mindformers = None
    for length in (16, 128, 512):
        if length >= args.seq_length:
            continue
        ids = prompt_of(native.tokenizer, length)
        one = GenerateParams(max_new_tokens=1, do_sample=False)
        ours = ttft(lambda: native.decoder.run(ids, one, lambda: False, lambda _t: None))
        if mindformers is None:
            report("first token, %d-token prompt: native %.1f ms" % (length, ours * 1e3))
            continue
        theirs = ttft(lambda: mindformers.model.generate([ids], max_new_tokens=1, do_sample=False))
        report("first token, %d-token prompt: native %.1f ms / MindFormers %.1f ms = %.2f (target <= 0.5 for short)"
               % (length, ours * 1e3, theirs * 1e3, ours / theirs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="CPU", choices=("CPU", "GPU", "Ascend"))
    parser.add_argument("--model-dir", action="append", default=None, help="repeatable; default: tiny + mid-size")
    parser.add_argument("--seq-length", type=int, default=1024)
    parser.add_argument("--tokens", type=int, default=48, help="tokens per decode measurement")
    parser.add_argument("--precision", default="auto", choices=("auto", "float16", "float32"))
    parser.add_argument("--skip-mindformers", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("GLOG_v", "3")
    os.environ.setdefault("LOG_MF_PATH", os.path.join(tempfile.gettempdir(), "glm-chat-bench-mindformers-log"))
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE, device_target=args.device)
    model_dirs = [os.path.abspath(d) for d in args.model_dir or []]
    if not model_dirs:
        from tools import make_tiny_model
        tiny = os.path.join(ROOT, ".cache", "tiny-model")
        mid = os.path.join(ROOT, ".cache", "bench-mid-model")
        make_tiny_model.generate(tiny)
        make_tiny_model.generate(mid, num_layers=4, hidden=1024, num_heads=16, seq_length=args.seq_length)
        model_dirs = [tiny, mid]
    lines = []

    def report(line):
        print("  " + line)
        sys.stdout.flush()
        lines.append(line)

    print("MindSpore %s, Python %s, %d CPUs" % (ms.__version__, sys.version.split()[0], os.cpu_count() or 0))
    for model_dir in model_dirs:
        bench_model(model_dir, args, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
