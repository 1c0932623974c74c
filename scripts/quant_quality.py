"""How far each precision's answers are from float32's (#20 item 7): per precision, on a fixed prompt set, the relative
RMS error of the next-token logits, the KL divergence of the next-token distribution (float32 || precision), and
the greedy agreement over 64 tokens (the share of the 64 greedy tokens that match float32's before the first
difference). Precisions: float16, int8 and int4 as the engine runs them (the quantized copy and the q8/q4 kernels,
over the int8 KV cache), int8-kvfloat and int4-kvfloat (the same with a float16 KV cache: what the int8 cache
itself costs shows in greedy agreement, as the next-token logits come from the prompt, which attends over its own
float keys), and THUDM's per-row absmax int8/int4 (one scale per output row, dequantized whole, as its quantization.py does)
as a baseline: a float32 network on those dequantized weights, quantizing the same tensors ours does.

    python scripts/quant_quality.py [--model-dir DIR] [--tokens 64] [--precisions float16,int8,int4,rowwise-int8,...]

The tiny model (.cache/tiny-model, the default) takes seconds; --model-dir takes a real-size one (float32 needs
twice the checkpoint's size in RAM: run that under flock /tmp/glm-bigmem.lock). Each precision loads in turn.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python-sidecar"))

PROMPTS = ["你好", "北京有什么好玩的地方？", "[Round 0]\n问：你好\n答：你好！\n[Round 1]\n问：写一首关于春天的诗\n答：",
           "hello world, how are you today?", "1 + 1 = ", "请用三句话介绍一下长城。"]
ALL = ("float16", "int8", "int4", "int8-kvfloat", "int4-kvfloat", "rowwise-int8", "rowwise-int4")
KV_FLOAT = "-kvfloat"
# glm-chat's own compile cache: graphs depend on shapes and dtypes, not weights, so a second run skips compiling.
COMPILE_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "glm-chat", "compile")


class RowwiseWeights(object):
    """The checkpoint with the matrices our copy quantizes replaced by THUDM's per-row absmax int8/int4, decoded."""

    def __init__(self, checkpoint: str, bits: int) -> None:
        from glm_sidecar.engine.native.weight_source import CheckpointWeights

        self._inner = CheckpointWeights(checkpoint)
        self.bits = bits
        self.precision = None
        self.path = checkpoint

    def shapes(self):
        return self._inner.shapes()

    def read(self, name, dtype):
        return self._inner.read(name, dtype)

    def matrix(self, name, dtype):
        from glm_sidecar.engine.native import quantizer
        from glm_sidecar.engine.native.quantized_writer import is_quantized

        w = self._inner.read(name, np.float32)
        if not is_quantized(name, w.shape):
            return ("float", w.astype(dtype))
        qs, scales = quantizer.quantize_rowwise(w, self.bits)
        return ("float", quantizer.dequantize(qs, scales, self.bits).astype(dtype))

    def close(self):
        self._inner.close()


def run_precision(model_dir: str, precision: str, tokens: int):
    """[(next-token logits float64, greedy ids)] per prompt."""
    from glm_sidecar.engine.base import GenerateParams
    from glm_sidecar.engine.native import runtime, weight_source
    from glm_sidecar.engine.native_engine import NativeEngine

    rowwise = precision.startswith("rowwise-")
    kv_float = precision.endswith(KV_FLOAT)
    weights = "float32" if rowwise else precision[:-len(KV_FLOAT)] if kv_float else precision
    engine = NativeEngine(model_dir, "CPU", 0, None, precision=weights, compile_cache_dir=COMPILE_CACHE)
    original = weight_source.open_weights
    kv_asked = os.environ.pop(runtime.KV_CACHE_ENV, None)
    if kv_float:
        os.environ[runtime.KV_CACHE_ENV] = "float"
    if rowwise:
        bits = 8 if precision.endswith("int8") else 4
        weight_source.open_weights = lambda checkpoint, _p, _report, cache_dir=None: RowwiseWeights(checkpoint, bits)
    try:
        engine.load(lambda phase, fraction, text: sys.stderr.write("  %s: %s %s\n" % (precision, phase, text or ""))
                    if phase == "quantize" and fraction in (0.0, 1.0) else None)
    finally:
        weight_source.open_weights = original
        os.environ.pop(runtime.KV_CACHE_ENV, None)
        if kv_asked is not None:
            os.environ[runtime.KV_CACHE_ENV] = kv_asked
    out = []
    for prompt in PROMPTS:
        ids = []
        engine.decoder.record_logits = True
        engine.decoder.run(engine.encode(prompt), GenerateParams(max_new_tokens=tokens, do_sample=False),
                           lambda: False, ids.append)
        out.append((np.asarray(engine.decoder.last_logits[0], np.float64), ids))
        engine.decoder.record_logits = False
    del engine
    gc.collect()
    return out


def compare(reference, result, tokens: int):
    """(mean relative RMS, mean KL, mean greedy agreement) over the prompts."""
    rms, kls, agree = [], [], []
    for (want, want_ids), (got, got_ids) in zip(reference, result):
        rms.append(np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(want ** 2)))
        p, q = np.exp(want - want.max()), np.exp(got - got.max())
        p, q = p / p.sum(), q / q.sum()
        kls.append(float(np.sum(p * (np.log(p + 1e-30) - np.log(q + 1e-30)))))
        same = 0
        for a, b in zip(want_ids, got_ids):
            if a != b:
                break
            same += 1
        agree.append(float(same) / max(1, min(tokens, len(want_ids))))
    return float(np.mean(rms)), float(np.mean(kls)), float(np.mean(agree))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=os.path.join(os.path.dirname(HERE), ".cache", "tiny-model"))
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--precisions", default=",".join(ALL))
    args = parser.parse_args(argv)
    wanted = [p for p in args.precisions.split(",") if p]
    unknown = [p for p in wanted if p not in ALL]
    if unknown:
        parser.error("unknown precision %s; known: %s" % (", ".join(unknown), ", ".join(ALL)))
    started = time.time()
    reference = run_precision(args.model_dir, "float32", args.tokens)
    print("model %s, %d prompts, greedy %d tokens; against float32" % (args.model_dir, len(PROMPTS), args.tokens))
    print("%-14s %12s %12s %18s" % ("precision", "rel. RMS", "KL", "greedy agreement"))
    for precision in wanted:
        rms, kl, agree = compare(reference, run_precision(args.model_dir, precision, args.tokens), args.tokens)
        print("%-14s %12.5f %12.6f %17.1f%%" % (precision, rms, kl, 100 * agree))
        sys.stdout.flush()
    print("(%.0f s)" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
