"""Scale benchmark of the native engine: cold/warm start, peak RSS, long-prompt first token and decode vs roofline.

Usage: python scripts/bench_scale.py --model-dir DIR [--precision float16|float32|int8|int4] [--tokens 32]
                                     [--prompts 16,512,1700]
Every figure is printed as a ratio against a baseline measured in this same run (cat of the file the engine
loads: glm_6b.ckpt, or its int8/int4 copy, made first when missing; the weight bytes of that precision; numpy's
memory read bandwidth; the cold start). Each engine runs in a child process of its own, so
its VmHWM is one engine's. Last line: the figures as JSON (also --json FILE).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GB = 1e9


def memory_mb():
    """VmRSS and VmHWM of this process, in MB."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    return out


def prompt_of(tokenizer, length):
    """Prompt ids of exactly `length` tokens ending in [gMASK] <sop>, like tests/test_native_engine.py builds."""
    repeats, ids = 64, []
    while len(ids) < length - 2:
        repeats *= 2
        ids = tokenizer.encode("北京 " * repeats)
    return ids[:length - 2] + [tokenizer.gmask_id, tokenizer.bos_id]


def child(spec):
    """One engine: load, first token per prompt length (twice), decode speed; results as JSON to spec['out']."""
    sys.path.insert(0, os.path.join(ROOT, "python-sidecar"))
    from glm_sidecar.engine.base import GenerateParams
    from glm_sidecar.engine.native_engine import NativeEngine

    engine = NativeEngine(spec["model_dir"], spec["device"], 0, spec["seq_length"],
                          compile_cache_dir=spec["cache"], precision=spec["precision"])
    started = time.perf_counter()
    engine.load(lambda phase, progress, detail: None)
    out = {"load_s": time.perf_counter() - started, "ready_s": time.time() - spec["launched"],
           "after_load": memory_mb(), "info": engine.info(), "first_token_s": {}, "skipped": []}
    if spec["mode"] == "full":
        def first_token_s(ids):
            stamps, begun = [], time.perf_counter()
            engine.decoder.run(ids, GenerateParams(max_new_tokens=1, do_sample=False), lambda: False,
                               lambda _t: stamps.append(time.perf_counter()))
            return (stamps[0] if stamps else time.perf_counter()) - begun  # <eop> first: no on_token call

        lengths = sorted(n for n in spec["prompts"] if n < engine.seq_length)
        out["skipped"] = [n for n in spec["prompts"] if n >= engine.seq_length]
        for n in lengths:
            ids = prompt_of(engine.tokenizer, n)
            if n == lengths[-1]:  # reset VmHWM (Linux 4.0+) so the load's peak does not hide the prefill's
                out["before_longest"] = memory_mb()
                try:
                    with open("/proc/self/clear_refs", "w") as handle:
                        handle.write("5")
                    out["hwm_reset"] = True
                except OSError:
                    out["hwm_reset"] = False
            out["first_token_s"][str(n)] = [first_token_s(ids), first_token_s(ids)]
            out.setdefault("memory_after", {})[str(n)] = memory_mb()
            if n == lengths[-1]:
                out["after_longest"] = memory_mb()
        greedy = GenerateParams(spec["tokens"], do_sample=False)

        def decode_rate(ids, runs):
            """Best decode tokens/s of `runs` greedy answers (the first token, the prefill, left out)."""
            rates, stamps = [], []
            for _ in range(runs):
                stamps = []
                engine.decoder.run(ids, greedy, lambda: False, lambda _t: stamps.append(time.perf_counter()))
                if len(stamps) >= 2:
                    rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
            return {"tok_s": max(rates) if rates else None, "tokens": len(stamps)}

        out["decode"] = decode_rate(prompt_of(engine.tokenizer, 16), 2)
        if lengths and lengths[-1] + spec["tokens"] < engine.seq_length:  # the cache read grows with the context
            out["decode_long"] = dict(decode_rate(prompt_of(engine.tokenizer, lengths[-1]), 1), context=lengths[-1])
    out["end"] = memory_mb()
    readings = [out["after_load"], out.get("before_longest", {}), out["end"]]
    out["peak_mb"] = max(m.get("VmHWM", 0) for m in readings)  # the largest VmHWM before and after the reset
    with open(spec["out"], "w") as handle:
        json.dump(out, handle)


def run_child(spec, label):
    spec = dict(spec, launched=time.time())
    log = spec["out"] + ".log"
    env = dict(os.environ, GLOG_v=os.environ.get("GLOG_v", "3"))
    with open(log, "w") as handle:
        rc = subprocess.call([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                             stdout=handle, stderr=subprocess.STDOUT, env=env)
    if rc != 0 or not os.path.exists(spec["out"]):
        with open(log) as handle:
            sys.stderr.write("".join(handle.readlines()[-30:]))
        raise SystemExit("%s child failed (exit %d); log above" % (label, rc))
    with open(spec["out"]) as handle:
        return json.load(handle)


def read_bandwidth_gbs(size_bytes=1 << 30):
    """Host memory read GB/s: numpy sums of a float32 array, one slice per CPU in threads, best of 3."""
    import numpy as np

    data = np.ones(size_bytes // 4, np.float32)
    slices = np.array_split(data, os.cpu_count() or 1)
    def once():
        threads = [threading.Thread(target=np.add.reduce, args=(part,)) for part in slices]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began

    return size_bytes / min(once() for _ in range(3)) / GB


def resident_fraction(path):
    """Share of the file in the page cache (fincore), or None where fincore is missing."""
    try:
        res = subprocess.check_output(["fincore", "--bytes", "--noheadings", "-o", "RES", path])
        return int(res.split()[0]) / float(os.path.getsize(path))
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def drop_from_page_cache(path, global_drop):
    """POSIX_FADV_DONTNEED on the file; if pages stay and we are root, also drop_caches (unless forbidden)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    left = resident_fraction(path)
    if global_drop and (left is None or left > 0.01) and os.geteuid() == 0:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as handle:
                handle.write("1\n")
            left = resident_fraction(path)
        except OSError:
            pass
    return left


def weights_of(ckpt, precision):
    """(the file the engine loads, its weight bytes in memory, the input embedding's share of them). int8/int4: the
    quantized copy beside the checkpoint or in the cache, made now (with a progress line) when there is none."""
    sys.path.insert(0, os.path.join(ROOT, "python-sidecar"))
    if precision not in ("int8", "int4"):
        from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile

        size = os.path.getsize(ckpt) * (2 if precision == "float32" else 1)
        reader = CheckpointFile(ckpt)
        try:
            rows, width = reader.shapes()["transformer.word_embeddings.embedding_table"]
        finally:
            reader.close()
        return ckpt, size, rows * width * (4 if precision == "float32" else 2)
    from glm_sidecar.engine.native.quantized_copy import QuantizedWeights, ensure_quantized_copy

    def report(_stage, fraction, text):
        sys.stdout.write("\r  %s %3.0f%%" % (text, 100 * (fraction or 0.0)))
        sys.stdout.flush()

    path = ensure_quantized_copy(ckpt, precision, report=report)
    with QuantizedWeights(path) as copy:
        table = copy.get("transformer.word_embeddings.embedding_table")
        embedding = sum(a.nbytes for a in (table.qs, table.scales, table.values) if a is not None)
    return path, os.path.getsize(path), embedding


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir")
    parser.add_argument("--precision", default="float16", choices=("float16", "float32", "int8", "int4"))
    parser.add_argument("--seq-length", type=int, default=None, help="default: glm_config.json's, else 2048")
    parser.add_argument("--device", default="CPU", choices=("CPU", "GPU", "Ascend"))
    parser.add_argument("--tokens", type=int, default=32, help="greedy tokens of the decode measurement")
    parser.add_argument("--prompts", default="16,512,1700", help="prompt lengths in tokens for first-token latency")
    parser.add_argument("--no-cold", action="store_true", help="leave the page cache warm (no drop before cat/load)")
    parser.add_argument("--no-global-drop", action="store_true",
                        help="never write /proc/sys/vm/drop_caches (it evicts every file, others' too)")
    parser.add_argument("--json", help="also write the JSON figures to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    if not args.model_dir:
        parser.error("--model-dir is required")
    began = time.time()
    model_dir = os.path.abspath(args.model_dir)
    ckpt = os.path.join(model_dir, "glm_6b.ckpt")
    ckpt_bytes = os.path.getsize(ckpt)
    loaded, weight_bytes, embedding_bytes = weights_of(ckpt, args.precision)
    prompts = [int(p) for p in args.prompts.split(",") if p.strip()]
    print("== %s: %.2f GB checkpoint, %s (%.2f GB of weights from %s), %s, %d CPUs"
          % (model_dir, ckpt_bytes / GB, args.precision, weight_bytes / GB, os.path.basename(loaded), args.device,
             os.cpu_count() or 0))
    sys.stdout.flush()
    gbs = read_bandwidth_gbs()
    work = tempfile.mkdtemp(prefix="glm-bench-scale-")
    cache = os.path.join(work, "compile-cache")
    spec = {"model_dir": model_dir, "device": args.device, "precision": args.precision, "cache": cache,
            "seq_length": args.seq_length, "prompts": prompts, "tokens": args.tokens}
    try:
        left = None if args.no_cold else drop_from_page_cache(loaded, not args.no_global_drop)
        started = time.perf_counter()
        subprocess.check_call("cat %s > /dev/null" % subprocess.list2cmdline([loaded]), shell=True)
        cat_s = time.perf_counter() - started
        if not args.no_cold:
            left = max(left or 0.0, drop_from_page_cache(loaded, not args.no_global_drop) or 0.0)
        cold = run_child(dict(spec, mode="full", out=os.path.join(work, "cold.json")), "cold")
        warm = run_child(dict(spec, mode="load", out=os.path.join(work, "warm.json")), "warm")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def say(line):
        print("  " + line)
        sys.stdout.flush()

    page = "warm page cache" if args.no_cold else "cold page cache, %s resident after drop" % (
        "?" if left is None else "%.1f%%" % (100 * left))
    say("baseline cat of %s: %.2f s for %.2f GB = %.2f GB/s (%s)"
        % (os.path.basename(loaded), cat_s, weight_bytes / GB, weight_bytes / GB / cat_s, page))
    say("cold load: %.2f s = %.2fx cat (process start to ready %.2f s = %.2fx cat)"
        % (cold["load_s"], cold["load_s"] / cat_s, cold["ready_s"], cold["ready_s"] / cat_s))
    hwm_load, hwm_end = cold["after_load"]["VmHWM"] * 2 ** 20, cold["peak_mb"] * 2 ** 20
    say("peak RSS: after load %.2f GB = %.2fx weight bytes (%.2f GB %s); whole run %.2f GB = %.2fx"
        % (hwm_load / GB, hwm_load / weight_bytes, weight_bytes / GB, args.precision, hwm_end / GB,
           hwm_end / weight_bytes))
    after = cold.get("memory_after", {})
    if after:
        say("VmHWM after each prompt length (before the longest's reset): %s MB"
            % ", ".join("%s tokens %.0f" % (n, m["VmHWM"]) for n, m in sorted(after.items(), key=lambda i: int(i[0]))))
    ttft = cold["first_token_s"]
    lengths = sorted(int(n) for n in ttft)
    extra_mb = None
    if lengths:
        before, after = cold["before_longest"], cold["after_longest"]
        extra_mb = after["VmHWM"] - (before["VmRSS"] if cold["hwm_reset"] else before["VmHWM"])
        say("longest prefill (%d tokens, twice): peak +%.0f MB over the RSS before it = %.3fx weight bytes "
            "(VmHWM %s); RSS %.0f -> %.0f MB after" % (lengths[-1], extra_mb, extra_mb * 2 ** 20 / weight_bytes,
                                                       "reset before it" if cold["hwm_reset"] else "not resettable",
                                                       before["VmRSS"], after["VmRSS"]))
    base_ms = ttft[str(lengths[0])][1] * 1e3 if lengths else None
    for n in lengths:
        first, steady = [s * 1e3 for s in ttft[str(n)]]
        say("first token, %4d-token prompt: %.1f ms with graph compile, %.1f ms steady (compile %.2fx steady; "
            "steady %.2fx the %d-token one)" % (n, first, steady, first / steady, steady / base_ms, lengths[0]))
    if cold["skipped"]:
        say("skipped prompt lengths (not under seq_length %s): %s" % (cold["info"]["seq_length"], cold["skipped"]))
    roofline = gbs * GB / weight_bytes
    tok_s = cold["decode"]["tok_s"]
    streamed = weight_bytes - embedding_bytes  # decode reads one row of the input embedding, not all
    say("decode: %s tok/s (%d-token greedy run, prefill excluded); roofline %.2f GB/s / %.2f GB = %.2f tok/s; "
        "ratio %s (%s against the %.2f GB without the input embedding)"
        % ("%.2f" % tok_s if tok_s else "n/a", cold["decode"]["tokens"], gbs, weight_bytes / GB, roofline,
           "%.3f" % (tok_s / roofline) if tok_s else "n/a",
           "%.3f" % (tok_s * streamed / gbs / GB) if tok_s else "n/a", streamed / GB))
    long = cold.get("decode_long")
    if long and long["tok_s"]:
        say("decode after the %d-token prompt: %.2f tok/s = %.3f of the roofline (%.2fx the 16-token context's)"
            % (long["context"], long["tok_s"], long["tok_s"] / roofline, long["tok_s"] / tok_s if tok_s else 0.0))
    say("warm start (same compile cache, warm page cache): load %.2f s / cold %.2f s = %.2f; ready %.2f s / %.2f s"
        " = %.2f" % (warm["load_s"], cold["load_s"], warm["load_s"] / cold["load_s"], warm["ready_s"],
                     cold["ready_s"], warm["ready_s"] / cold["ready_s"]))
    say("load_timings: cold %s; warm %s" % (cold["info"]["load_timings"], warm["info"]["load_timings"]))
    say("cpu_kernels: %s; prefill buckets %s" % (cold["info"]["cpu_kernels"], cold["info"]["prefill_buckets"]))
    result = {"model_dir": model_dir, "precision": args.precision, "device": args.device,
              "ckpt_bytes": ckpt_bytes, "weight_bytes": weight_bytes, "cold_page_cache": not args.no_cold,
              "resident_after_drop": left, "cat_s": cat_s, "cold_load_s": cold["load_s"],
              "cold_ready_s": cold["ready_s"], "load_over_cat": cold["load_s"] / cat_s,
              "peak_rss_after_load_over_weights": hwm_load / weight_bytes,
              "peak_rss_over_weights": hwm_end / weight_bytes, "longest_prefill_extra_mb": extra_mb,
              "first_token_ms": dict((n, {"with_compile": v[0] * 1e3, "steady": v[1] * 1e3}) for n, v in ttft.items()),
              "decode_tok_s": tok_s, "read_gbs": gbs, "roofline_tok_s": roofline,
              "decode_over_roofline": tok_s / roofline if tok_s else None, "decode_long": long, "embedding_bytes": embedding_bytes,
              "loaded_file": loaded,
              "warm_load_s": warm["load_s"], "warm_over_cold_load": warm["load_s"] / cold["load_s"],
              "cold_memory_mb": cold["end"],
              "load_timings": {"cold": cold["info"]["load_timings"], "warm": warm["info"]["load_timings"]},
              "cpu_kernels": cold["info"]["cpu_kernels"], "skipped_prompts": cold["skipped"],
              "bench_s": time.time() - began}
    line = json.dumps(result, sort_keys=True)
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
