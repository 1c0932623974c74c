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
    for name in ("network.py", "steps.py", "network_params.py", "dequant.py", "rotary.py", "sampler.py", "runtime.py",
                 os.path.join("kernels", "custom_ops.py")):
        with open(os.path.join(here, name), "rb") as handle:
            digest.update(handle.read())
    digest.update(json.dumps([sorted(overrides.items()), seq_length], default=str).encode("utf-8"))
    return digest.hexdigest()[:16]


def start_mindspore(device_target: str, device_id: int, cache_dir: Optional[str], key: str) -> Any:
    from .kernels.build import sleep_idle_omp_threads

    sleep_idle_omp_threads()  # before MindSpore loads libgomp, which reads it then (build.py says why)
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


PRECISIONS = ("float32", "float16", "int8", "int4")
# How int8/int4 matrices are multiplied: "kernels", the CPU's aot kernels on the codes (integer dot products); or
# "dequantize", each matrix decoded to float16 inside the graph just before its MatMul (Ascend, GPU: memory saved,
# not time). GLM_CHAT_QUANT_PATH=dequantize runs the device path on CPU: for tests only, slower than the kernels.
QUANT_PATHS = ("kernels", "dequantize")
QUANT_PATH_ENV = "GLM_CHAT_QUANT_PATH"


def weights_precision_for(device_target: str, precision: Optional[str]) -> str:
    """The weights' precision: as asked; unasked, float16 on Ascend and GPU and float32 on CPU (glm-chat itself
    always asks: its --precision auto picks by memory). int8/int4 run everywhere (quant_path_for says how)."""
    if precision is None or precision == "auto":
        return "float32" if device_target == "CPU" else "float16"
    if precision not in PRECISIONS:
        raise EngineError("InvalidParameter", "precision must be one of %s, got %r"
                          % (", ".join(PRECISIONS), precision))
    return precision


def quant_path_for(device_target: str, precision: Optional[str], asked: Optional[str] = None) -> Optional[str]:
    """None for float weights; for int8/int4 "kernels" on CPU and "dequantize" on Ascend and GPU (MindSpore's
    WeightQuantBatchMatmul is not used: docs/devices.md says why). `asked` (else $GLM_CHAT_QUANT_PATH) can put CPU on
    the device path, for tests."""
    if weights_precision_for(device_target, precision) not in ("int8", "int4"):
        return None
    asked = asked or os.environ.get(QUANT_PATH_ENV) or None
    if asked is not None and asked not in QUANT_PATHS:
        raise EngineError("InvalidParameter", "%s must be one of %s, got %r" % (QUANT_PATH_ENV, ", ".join(QUANT_PATHS),
                                                                                asked))
    if device_target != "CPU":
        return "dequantize"
    return asked or "kernels"


KV_CACHE_ENV = "GLM_CHAT_KV_CACHE"  # "int8" or "float": overrides kv_cache_for's choice (tests, the quality script)


def kv_cache_for(device_target: str, precision: Optional[str], quant_path: Optional[str] = None) -> str:
    """How the KV cache stores keys and values: "int8" (a code per value and a float32 scale per row and head,
    kernels/kv_cache.c: 0.52x the float16 cache's bytes) for int8/int4 weights on CPU's kernels, whose runs are
    about fitting in little memory; else the compute dtype. $GLM_CHAT_KV_CACHE=int8|float asks for either on CPU's
    kernels; off them (Ascend, GPU, the dequantize path) the cache stays float."""
    dtype = compute_dtype_for(device_target, precision)
    if device_target != "CPU" or quant_path == "dequantize":
        return dtype
    asked = os.environ.get(KV_CACHE_ENV) or None
    if asked is not None and asked not in ("int8", "float"):
        raise EngineError("InvalidParameter", "%s must be int8 or float, got %r" % (KV_CACHE_ENV, asked))
    if asked is None:
        asked = "int8" if weights_precision_for(device_target, precision) in ("int8", "int4") else "float"
    return "int8" if asked == "int8" else dtype


def compute_dtype_for(device_target: str, precision: Optional[str]) -> str:
    """The dtype of the KV cache and of the weights kept as floats: float16 on Ascend and GPU, float32 on CPU unless
    asked; int8/int4 runs keep them in float16, as a float16 run does (activations are float32 on CPU either way)."""
    weights = weights_precision_for(device_target, precision)
    return "float16" if weights in ("int8", "int4") else weights


def build(checkpoint: str, overrides: Dict[str, Any], seq_length: int, dtype: str, tokenizer: Any,
          report: ProgressReport, timings: Dict[str, float], device_target: str = "CPU",
          cache_dir: Optional[str] = None, notes: Optional[Dict[str, Any]] = None, warm_all: bool = False,
          precision: Optional[str] = None, quant_path: Optional[str] = None, kv_cache: Optional[str] = None):
    """Reads the checkpoint (int8/int4: maps its quantized copy, made first where needed) into a GlmNetwork one
    tensor at a time, then compiles and warms the decode step and the smallest prompt graph; larger prompt graphs
    compile on first use (warm_all: every one now). quant_path "dequantize" builds the network without CPU
    kernels, as Ascend and GPU build it (quant_path_for); kv_cache "int8" keeps the KV cache in int8 (kv_cache_for)."""
    from .decoder import GlmDecoder
    from .kernels.custom_ops import cpu_kernels
    from .model_config import prefill_buckets, shape_from_checkpoint
    from .network import GlmNetwork
    from .steps import DecodeStep, PrefillStep
    from .weight_source import QUANTIZED, open_weights

    notes = notes if notes is not None else {}
    quant_path = quant_path or quant_path_for(device_target, precision)
    if quant_path == "dequantize" and device_target == "CPU":
        kernels = None
        notes["cpu_kernels"] = "not used: int8/int4 on the device path (quant_path dequantize), as Ascend/GPU run it"
    else:
        kernels = cpu_kernels(device_target, dtype, cache_dir, report, notes)
    if precision in QUANTIZED and quant_path != "dequantize" and (kernels is None or kernels.linear_q8 is None):
        raise EngineError("KernelsUnavailable", "--precision %s needs the CPU kernels, which could not be built (%s); "
                          "use --precision float16, or install a C compiler (gcc)" % (precision,
                                                                                   notes.get("cpu_kernels")))
    started = time.time()
    weights = open_weights(checkpoint, precision or dtype, report)
    timings["quantize"] = time.time() - started if precision in QUANTIZED else 0.0
    source = getattr(weights, "path", checkpoint)
    size = os.path.getsize(source)
    report("checkpoint", 0.0, "%.1f MB" % (size / 1e6))
    started = time.time()
    try:
        shape = shape_from_checkpoint(weights.shapes(), overrides, seq_length, source)

        def on_layer(done: int) -> None:
            report("checkpoint", float(done) / shape.num_layers, "layer %d of %d" % (done, shape.num_layers))

        kv_int8 = kv_cache == "int8" and kernels is not None
        notes["kv_cache"] = "int8" if kv_int8 else dtype
        network = GlmNetwork(weights, shape, dtype, on_layer, kernels, kv_int8)
    finally:
        weights.close()
    elapsed = max(time.time() - started, 1e-6)
    timings["checkpoint"] = elapsed
    how = "mapped as %s weights" % precision if precision in QUANTIZED else "into %s weights" % dtype
    how += ", decoded per matrix in the graph" if quant_path == "dequantize" else ""
    report("checkpoint", 1.0, "%.2f GB at %.2f GB/s %s" % (size / 1e9, size / 1e9 / elapsed, how))

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
    # MindSpore's compile cache matches graphs by compile order (compile_cache_<n>.mindir), not by shape: only the
    # graphs warmed here come in the same order every start. A prompt graph compiled later, on first use, would
    # load whichever graph an earlier run compiled n-th (a 256-token prompt meets the 128-token graph: "Gather
    # input_indices should be in the range [0, 128)"), so later graphs are neither cached nor loaded from it.
    os.environ["MS_COMPILER_CACHE_ENABLE"] = "0"
    later = "" if warm_all or len(buckets) == 1 else "; longer prompts compile their graph on first use"
    report("warmup", None, "%d prompt graph%s and the decode graph ready%s"
           % (len(to_warm), "" if len(to_warm) == 1 else "s", later))
    return decoder, shape, buckets
