"""Starts MindSpore for the native engine (context, compile cache) and builds and warms its graphs."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from typing import Any, Dict, Optional

from ..base import EngineError, GenerateParams, ProgressReport


def cache_key(overrides: Dict[str, Any], seq_length: int) -> str:
    """Compiled graphs depend on the network code and the model's shape, never on weights."""
    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for name in ("network.py", "sampler.py", "runtime.py"):
        with open(os.path.join(here, name), "rb") as handle:
            digest.update(handle.read())
    digest.update(json.dumps([sorted(overrides.items()), seq_length], default=str).encode("utf-8"))
    return digest.hexdigest()[:16]


def start_mindspore(device_target: str, device_id: int, cache_dir: Optional[str], key: str) -> Any:
    try:
        import mindspore
    except ImportError as exc:
        raise EngineError("MindSporeMissing", "MindSpore cannot be imported by %s (%s). Install it with: "
                          "%s -m pip install mindspore" % (sys.executable, exc, sys.executable))
    if cache_dir:
        # Read at each graph compile: the front end's result is kept as MindIR and reused by the next start.
        # (The env vars, not set_context(enable_compile_cache=...), which MindSpore 2.5+ deprecates.)
        os.environ["MS_COMPILER_CACHE_ENABLE"] = "1"
        os.environ["MS_COMPILER_CACHE_PATH"] = os.path.join(cache_dir, "native-%s-ms%s" % (key, mindspore.__version__))
    try:
        mindspore.set_context(mode=mindspore.GRAPH_MODE, device_target=device_target, device_id=device_id)
    except (RuntimeError, ValueError) as exc:
        raise EngineError("DeviceUnavailable", "MindSpore %s cannot use device %s:%d: %s"
                          % (mindspore.__version__, device_target, device_id, str(exc).splitlines()[0]))
    return mindspore


def compute_dtype_for(device_target: str, precision: Optional[str]) -> str:
    """float16 on Ascend and GPU; float32 on CPU unless asked (float16 halves the RAM a CPU run needs)."""
    if precision in ("float16", "float32"):
        return precision
    return "float32" if device_target == "CPU" else "float16"


class CpuKernels(object):
    """The aot ops of kernels/*.c for MindSpore's CPU backend (None where not built or not needed)."""

    def __init__(self, linear_f16: Any = None, swap01: Any = None, attend_decode: Any = None,
                 attend_prompt: Any = None) -> None:
        self.linear_f16 = linear_f16
        self.swap01 = swap01
        self.attend_decode = attend_decode
        self.attend_prompt = attend_prompt


def cpu_kernels(device_target: str, dtype: str, cache_dir: Optional[str], report: ProgressReport,
                notes: Dict[str, Any]) -> Optional[CpuKernels]:
    """On CPU: `linear_f16` multiplies by float16 weights without a float32 copy (the CPU backend has no float16
    MatMul, so MindSpore would cast every weight on every call), `swap01` replaces Transpose, whose output
    MindSpore's CPU runtime keeps until the graph ends, `attend_decode` is the decode step's attention over the
    cache rows in use, read in their own dtype (the graph's ops would cast and transpose the whole cache every
    token), and `attend_prompt` the prefill's, 8 score rows at a time (the graph's ops leave per-layer buffers
    behind until the graph ends). None on Ascend and GPU, which need none of them."""
    if device_target != "CPU":
        return None
    from mindspore import ops

    from .kernel_build import DECODE_ATTEND_SYMBOL, PROMPT_ATTEND_SYMBOL, SWAP_SYMBOL, SYMBOL, build_kernel

    report("compile", None, "CPU kernels")
    path, how = build_kernel(os.path.join(cache_dir, "kernels") if cache_dir else None)
    notes["cpu_kernels"] = how if path else "unavailable: %s" % how
    if path is None:
        sys.stderr.write("glm-chat: CPU kernels unavailable (%s): float16 weights are cast to float32 on every call "
                         "and long prompts need more memory\n" % how)
        return None
    swap = ops.Custom("%s:%s" % (path, SWAP_SYMBOL), out_shape=_swap_shape, out_dtype=_first_dtype, func_type="aot")
    attend, prompt = [ops.Custom("%s:%s" % (path, symbol), out_shape=_attend_shape, out_dtype=_first_dtype,
                                 func_type="aot") for symbol in (DECODE_ATTEND_SYMBOL, PROMPT_ATTEND_SYMBOL)]
    linear = None
    if dtype == "float16":
        linear = ops.Custom("%s:%s" % (path, SYMBOL), out_shape=_linear_shape, out_dtype=_first_dtype,
                            func_type="aot")
    return CpuKernels(linear, swap, attend, prompt)


def _linear_shape(x, w, _b):
    return list(x[:-1]) + [w[0]]


def _attend_shape(q, *_rest):
    return [q[0], q[1] * q[2]]


def _swap_shape(x):
    return [x[1], x[0]] + list(x[2:])


def _first_dtype(x, *_rest):
    """Each kernel gives the dtype of its first input (float32 for the linear and the attention, x's own for the
    swap)."""
    return x


def build(checkpoint: str, overrides: Dict[str, Any], seq_length: int, dtype: str, tokenizer: Any,
          report: ProgressReport, timings: Dict[str, float], device_target: str = "CPU",
          cache_dir: Optional[str] = None, notes: Optional[Dict[str, Any]] = None, warm_all: bool = False):
    """Reads the checkpoint into a GlmNetwork one tensor at a time, then compiles and warms the decode step and the
    smallest prompt graph; larger prompt graphs compile on first use (warm_all: every one now)."""
    from .checkpoint_reader import CheckpointFile
    from .decoder import GlmDecoder
    from .model_config import prefill_buckets, shape_from_checkpoint
    from .network import DecodeStep, GlmNetwork, PrefillStep

    notes = notes if notes is not None else {}
    kernels = cpu_kernels(device_target, dtype, cache_dir, report, notes)
    size = os.path.getsize(checkpoint)
    report("checkpoint", 0.0, "%.1f MB" % (size / 1e6))
    started = time.time()
    reader = CheckpointFile(checkpoint)
    try:
        shape = shape_from_checkpoint(reader.shapes(), overrides, seq_length, checkpoint)

        def on_layer(done: int) -> None:
            report("checkpoint", float(done) / shape.num_layers, "layer %d of %d" % (done, shape.num_layers))

        network = GlmNetwork(reader.read, shape, dtype, on_layer, kernels)
    finally:
        reader.close()
    elapsed = max(time.time() - started, 1e-6)
    timings["checkpoint"] = elapsed
    report("checkpoint", 1.0, "%.2f GB at %.2f GB/s into %s weights" % (size / 1e9, size / 1e9 / elapsed, dtype))

    network.set_train(False)
    buckets = prefill_buckets(seq_length)
    decoder = GlmDecoder(PrefillStep(network), DecodeStep(network), buckets, seq_length, tokenizer.eos_id)
    started = time.time()
    warm = GenerateParams(max_new_tokens=2, do_sample=True, top_k=4, seed=0)
    ids = tokenizer.prompt_ids("warm up")
    to_warm = buckets if warm_all else buckets[:1]
    for i, bucket in enumerate(to_warm):
        report("compile", float(i) / (len(to_warm) + 1), "prompt graph for up to %d tokens" % bucket)
        decoder.run(ids, warm, lambda: False, lambda _t: None, bucket=bucket)  # a few tokens: fits every bucket
    timings["compile"] = time.time() - started
    later = "" if warm_all or len(buckets) == 1 else "; longer prompts compile their graph on first use"
    report("warmup", None, "%d prompt graph%s and the decode graph ready%s"
           % (len(to_warm), "" if len(to_warm) == 1 else "s", later))
    return decoder, shape, buckets
