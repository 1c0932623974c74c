"""scripts/device-check: one command for a machine with an Ascend NPU or an NVIDIA GPU. It prints the device facts,
runs `glm-chat doctor --json`, MindSpore's run_check, the device parity test (float16, and int8/int4 with each matrix
decoded in the graph) and the engine and scale benchmarks (scale and peak memory in float16, int8 and int4) on the
tiny, mid-size and real-size random models, and writes everything to one JSON report.

    scripts/device-check [--out FILE] [--models tiny,mid,real] [--precisions float16,int8,int4]
                         [--device Ascend|GPU|CPU]
--device CPU runs the same steps on CPU (to try the script itself); without it, a machine with no device is an error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIDECAR = os.path.join(ROOT, "python-sidecar")
sys.path[:0] = [HERE, SIDECAR]

import device_facts  # noqa: E402

PRECISIONS = ("float16", "int8", "int4")


def models(names, seq_length):
    from tools import make_tiny_model

    dirs = {}
    if "tiny" in names:
        dirs["tiny"] = os.environ.get("GLM_CHAT_TINY_MODEL_DIR") or os.path.join(ROOT, ".cache", "tiny-model")
        make_tiny_model.generate(dirs["tiny"])
    if "mid" in names:
        dirs["mid"] = os.path.join(ROOT, ".cache", "bench-mid-model")
        make_tiny_model.generate(dirs["mid"], num_layers=4, hidden=1024, num_heads=16, seq_length=seq_length)
    if "real" in names:
        from tools import glm_full_size_model

        dirs["real"] = os.path.abspath(glm_full_size_model.default_out_dir("glm-6b"))
        glm_full_size_model.generate_preset("glm-6b", dirs["real"])  # 13.4 GB on disk; kept up to date, not rewritten
    return dirs


def child(code, *args, timeout=3600):
    """Runs a Python snippet in a fresh process (argv: `args`); its last stdout line is JSON."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SIDECAR, HERE]))
    ran = device_facts.command([sys.executable, "-c", code] + list(args), timeout=timeout, env=env)
    try:
        return dict(json.loads(ran["out"].strip().splitlines()[-1]), ok=ran["code"] == 0)
    except (ValueError, IndexError):
        return {"ok": False, "out": ran["out"][-2000:]}


BANDWIDTH = """
import json, sys, mindspore as ms
ms.set_context(mode=ms.GRAPH_MODE, device_target=sys.argv[1])
import bench_engine
print(json.dumps({"device_gbs": bench_engine.memory_bandwidth_gbs()}))
"""
PEAK_MEMORY = """
import json, sys, time
from glm_sidecar.engine.base import GenerateParams
from glm_sidecar.engine.native_engine import NativeEngine
engine = NativeEngine(sys.argv[2], sys.argv[1], 0, None, precision=sys.argv[3])
engine.load(lambda *a: None)
import mindspore as ms
ids = engine.encode("北京的天气怎么样？今天北京晴天。")
engine.decoder.run(ids, GenerateParams(max_new_tokens=32, do_sample=False), lambda: False, lambda t: None)
peak = getattr(getattr(ms, "runtime", None), "max_memory_allocated", None)
print(json.dumps({"peak_device_memory_bytes": peak() if peak else None,
                  "note": None if peak else "this MindSpore has no mindspore.runtime.max_memory_allocated"}))
"""


def step(report, name, fn):
    started = time.time()
    print("== %s" % name)
    sys.stdout.flush()
    try:
        result = fn()
    except Exception as exc:  # one failing step must not hide the others
        result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
    result["seconds"] = round(time.time() - started, 1)
    report["steps"][name] = result
    print("   %s (%.0f s)" % ("ok" if result.get("ok") else "FAILED", result["seconds"]))


def run_steps(report, device, dirs, seq_length, precisions=PRECISIONS):
    python = sys.executable
    work = tempfile.mkdtemp(prefix="glm-device-check-")  # bench_scale's JSON files, read into the report
    tiny = dirs.get("tiny") or next(iter(dirs.values()))

    def doctor_step():
        ran = device_facts.doctor(["--device", device, "--model-dir", tiny], python)
        return dict(ran, ok=ran["code"] == 0 and "report" in ran)

    step(report, "doctor", doctor_step)
    check = "import mindspore as ms\nms.set_context(device_target='%s')\nms.run_check()" % device
    step(report, "run_check", lambda: (lambda r: {"ok": r["code"] == 0 and "successfully" in r["out"], "out": r["out"]})(
        device_facts.command([python, "-c", check], timeout=600)))
    parity_env = dict(os.environ, GLM_CHAT_PARITY_DEVICE=device, GLM_CHAT_TINY_MODEL_DIR=tiny)
    step(report, "parity", lambda: (lambda r: {"ok": r["code"] == 0, "out": r["out"][-3000:]})(device_facts.command(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(SIDECAR, "tests", "test_device_parity.py")],
        timeout=1800, env=parity_env)))
    step(report, "device_bandwidth", lambda: child(BANDWIDTH, device))
    for label, model_dir in dirs.items():
        for precision in precisions:  # int8/int4: the quantized copy is made first, beside the checkpoint
            name = label + ("" if precision == "float16" else "_" + precision)
            out = os.path.join(work, "scale-%s.json" % name)
            scale = [python, os.path.join(HERE, "bench_scale.py"), "--model-dir", model_dir, "--device", device,
                     "--precision", precision, "--json", out, "--no-cold"]
            step(report, "scale_%s" % name, lambda: (lambda r: dict(
                {"ok": r["code"] == 0, "out": r["out"][-3000:]},
                **(json.load(open(out)) if os.path.exists(out) else {})))(device_facts.command(scale, timeout=3600)))
            step(report, "peak_memory_%s" % name, lambda: _peak(device, model_dir, precision))
    engine = [python, os.path.join(HERE, "bench_engine.py"), "--device", device, "--skip-mindformers",
              "--seq-length", str(seq_length)] + [a for d in dirs.values() for a in ("--model-dir", d)]
    step(report, "engine_bench", lambda: (lambda r: {"ok": r["code"] == 0, "out": r["out"][-4000:]})(
        device_facts.command(engine, timeout=7200)))


def summary(report, dirs, precisions=PRECISIONS):
    """Per model (float16) and per model and precision ("tiny_int8"): the figures the issue's targets are about,
    read from the steps."""
    gbs = report["steps"].get("device_bandwidth", {}).get("device_gbs")
    out = {}
    for label in [m + ("" if p == "float16" else "_" + p) for m in dirs for p in precisions]:
        scale = report["steps"].get("scale_%s" % label, {})
        tok_s, weights = scale.get("decode_tok_s"), scale.get("weight_bytes")
        roofline = gbs * 1e9 / weights if gbs and weights else None
        first = scale.get("first_token_ms", {})
        out[label] = {"decode_tok_s": tok_s, "first_token_ms": dict((n, v.get("steady")) for n, v in first.items()),
                      "peak_device_memory_bytes": report["steps"].get("peak_memory_%s" % label, {}).get(
                          "peak_device_memory_bytes"),
                      "device_roofline_tok_s": roofline, "decode_over_device_roofline": tok_s / roofline
                      if tok_s and roofline else None, "load_timings": scale.get("load_timings"),
                      "cold_ready_s": scale.get("cold_ready_s"), "warm_over_cold_load": scale.get("warm_over_cold_load")}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("Ascend", "GPU", "CPU"), help="default: the one detected")
    parser.add_argument("--models", default="tiny,mid,real", help="comma-separated: tiny, mid, real")
    parser.add_argument("--precisions", default=",".join(PRECISIONS),
                        help="comma-separated, of float16, int8, int4 (the scale and peak memory steps)")
    parser.add_argument("--seq-length", type=int, default=1024)
    parser.add_argument("--out", help="report path (default: ./glm-chat-device-report-TIME.json)")
    args = parser.parse_args(argv)
    precisions = tuple(p.strip() for p in args.precisions.split(",") if p.strip())
    if not precisions or not set(precisions) <= set(PRECISIONS):
        parser.error("--precisions takes %s, not %r" % (",".join(PRECISIONS), args.precisions))
    # The doctor's own device choice (--device auto, whatever GLM_CHAT_DEVICE says): what is there, and why.
    doctor = device_facts.doctor(["--device", "auto"])
    found, why = device_facts.detect(doctor)
    device = args.device or found
    if device is None and "report" not in doctor:
        print("device-check: cannot tell which device is here (%s); pass --device Ascend or --device GPU." % why)
        return 2
    if device is None:
        print("device-check: no Ascend NPU or NVIDIA GPU here (%s); it is for machines with one. "
              "glm-chat doctor checks a CPU setup." % why)
        return 2
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = os.path.abspath(args.out or "glm-chat-device-report-%s.json" % stamp)
    report = {"tool": "glm-chat scripts/device-check", "started": stamp, "device": device, "detected": [found, why],
              "python": sys.version.split()[0], "mindspore": device_facts.mindspore_facts(),
              "ascend": device_facts.ascend_facts(doctor) if device == "Ascend" else None,
              "nvidia": device_facts.nvidia_facts(doctor) if device == "GPU" else None,
              "steps": {}}
    print("device-check: %s (%s); MindSpore %s" % (device, why, report["mindspore"].get("version")))
    dirs = models([m.strip() for m in args.models.split(",") if m.strip()], args.seq_length)
    run_steps(report, device, dirs, args.seq_length, precisions)
    report["summary"] = summary(report, dirs, precisions)
    with open(out, "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True, default=str)
    failed = sorted(name for name, s in report["steps"].items() if not s.get("ok"))
    print("device-check: report written to %s%s" % (out, "; failed: %s" % ", ".join(failed) if failed else ""))
    print("Attach it to your bug report.")
    return 1 if failed else 0


def _peak(device, model_dir, precision):
    env = dict(os.environ, PYTHONPATH=SIDECAR)
    ran = device_facts.command([sys.executable, "-c", PEAK_MEMORY, device, model_dir, precision], timeout=3600, env=env)
    try:
        return dict(json.loads(ran["out"].strip().splitlines()[-1]), ok=ran["code"] == 0)
    except (ValueError, IndexError):
        return {"ok": False, "out": ran["out"][-2000:]}


if __name__ == "__main__":
    sys.exit(main())
