"""GLM-6B on MindSpore alone (glm_sidecar.engine.native): works where MindFormers has no GLM-6B any more."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

from .base import Engine, EngineError, GenerateParams, GenerateResult, ProgressReport
from .model_files import CHECKPOINT_NAME, TOKENIZER_NAME, load_tokenizer, read_model_config, require_model_file
from .native.ice_tokenizer import IceTokenizer

DEFAULT_SEQ_LENGTH = 2048  # ChatGLM-6B's training length; prompts are not padded to it, so it costs only cache


class NativeEngine(Engine):
    name = "native"

    def __init__(self, model_dir: str, device_target: str = "CPU", device_id: int = 0,
                 seq_length: Optional[int] = None, tokenizer_only: bool = False,
                 compile_cache_dir: Optional[str] = None, precision: Optional[str] = None,
                 warm_all: bool = False, quant_path: Optional[str] = None) -> None:
        self.model_dir = model_dir
        self.device_target = device_target
        self.device_id = device_id
        self.requested_seq_length = seq_length
        self.tokenizer_only = tokenizer_only
        self.compile_cache_dir = compile_cache_dir
        self.precision = precision  # None: float16 on Ascend/GPU, float32 on CPU; or float32|float16|int8|int4
        self.weights_precision = None  # type: Optional[str]
        self.compute_dtype = None  # type: Optional[str]
        self.tokenizer = None  # type: Optional[IceTokenizer]
        self.decoder = None  # type: Any
        self.shape = None  # type: Any
        self.seq_length = None  # type: Optional[int]
        self.buckets = []  # type: List[int]
        self.versions = {}  # type: Dict[str, str]
        self.timings = {}  # type: Dict[str, float]
        self.notes = {}  # type: Dict[str, Any]
        self.warm_all = warm_all  # compile every prompt graph at load instead of on first use
        self.asked_quant_path = quant_path  # tests: "dequantize" runs the device path on CPU (runtime.quant_path_for)
        self.quant_path = None  # type: Optional[str]
        self.kv_cache = None  # type: Optional[str]

    def load(self, report: ProgressReport) -> None:
        tokenizer_path = require_model_file(self.model_dir, TOKENIZER_NAME)
        overrides = read_model_config(self.model_dir)
        self.seq_length = int(self.requested_seq_length or overrides.get("seq_length") or DEFAULT_SEQ_LENGTH)
        self.tokenizer = load_tokenizer(tokenizer_path, IceTokenizer)
        if self.tokenizer_only:
            report("build", None, "tokenizer only: no network, checkpoint or graph compile")
            return
        checkpoint = require_model_file(self.model_dir, CHECKPOINT_NAME)
        from .native import runtime

        started = time.time()
        report("import", None, "mindspore")
        self.weights_precision = runtime.weights_precision_for(self.device_target, self.precision)
        self.compute_dtype = runtime.compute_dtype_for(self.device_target, self.precision)
        self.quant_path = runtime.quant_path_for(self.device_target, self.precision, self.asked_quant_path)
        self.kv_cache = runtime.kv_cache_for(self.device_target, self.precision, self.quant_path)
        graphs = dict(overrides, dtype=self.weights_precision, kv_cache=self.kv_cache)
        if self.quant_path:  # the kernels' graphs and the decoding ones differ for the same weights
            graphs["quant_path"] = self.quant_path
        key = runtime.cache_key(graphs, self.seq_length)
        ms = runtime.start_mindspore(self.device_target, self.device_id, self.compile_cache_dir, key)
        self.versions = {"mindspore": ms.__version__}
        running = ms.get_context("device_target")
        if running != self.device_target:  # never a silent CPU run when a device was asked for
            raise EngineError("DeviceFallback", "asked for %s, but MindSpore %s runs on %s (glm-chat doctor --device %s "
                              "says why)" % (self.device_target, ms.__version__, running, self.device_target))
        self.timings["import"] = time.time() - started
        self.decoder, self.shape, self.buckets = runtime.build(checkpoint, overrides, self.seq_length,
                                                               self.compute_dtype, self.tokenizer, report,
                                                               self.timings, self.device_target,
                                                               self.compile_cache_dir, self.notes, self.warm_all,
                                                               self.weights_precision, self.quant_path, self.kv_cache)

    def info(self) -> Dict[str, Any]:
        from .. import __version__

        return {
            "engine": self.name,
            "engine_version": __version__,
            "mindspore_version": self.versions.get("mindspore"),
            "device_target": self.device_target,
            "device_id": self.device_id,
            "seq_length": self.seq_length,
            "tokenizer_only": self.tokenizer_only,
            "model_dir": self.model_dir,
            "prefill_buckets": self.buckets,
            "compute_dtype": self.compute_dtype,
            "precision": self.weights_precision,
            "compile_cache": self.compile_cache_dir,
            "load_timings": dict((k, round(v, 3)) for k, v in self.timings.items()),
            "cpu_kernels": self.notes.get("cpu_kernels"),
            # int8/int4: "kernels" (CPU) or "dequantize" (each matrix decoded in the graph: memory saved, not time)
            "quantized_matmul": self.quant_path,
            "kv_cache": self.notes.get("kv_cache", self.kv_cache),  # "int8" (int8/int4 on CPU), else the compute dtype
        }

    def encode(self, text: str) -> List[int]:
        return self.tokenizer.prompt_ids(text)

    def generate_ids(self, ids: List[int], params: GenerateParams, should_stop: Callable[[], bool],
                     on_token: Callable[[int], None]) -> GenerateResult:
        reason, count = self.decoder.run(ids, params, should_stop, on_token)
        return GenerateResult(reason, len(ids), count)
