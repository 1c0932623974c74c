"""GLM-6B through MindFormers' GLMChatModel (the seed demo's path), streamed and cancellable."""
from __future__ import annotations

import os
import random
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from .base import Engine, EngineError, GenerateParams, GenerateResult, GenerationCancelled, ProgressReport
from .model_files import CHECKPOINT_NAME, TOKENIZER_NAME, load_tokenizer, read_model_config, require_model_file

CONFIG_KEYS = ("num_layers", "hidden_size", "num_heads", "inner_hidden_size", "vocab_size", "seq_length",
               "bos_token_id", "eos_token_id", "mask_token_id", "gmask_token_id", "pad_token_id")
DEFAULT_SEQ_LENGTH = 512  # GLMConfig's own default, the seed's effective limit


class _CancellableStreamer(object):
    """MindFormers streamer: the first put is the prompt (skipped), then one put per new token."""

    def __init__(self, should_stop: Callable[[], bool], on_token: Callable[[int], None]) -> None:
        self._should_stop = should_stop
        self._on_token = on_token
        self._seen_prompt = False

    def put(self, value: Any) -> None:
        if not self._seen_prompt:
            self._seen_prompt = True
            return
        if self._should_stop():
            raise GenerationCancelled()
        import numpy as np
        for token_id in np.asarray(value).reshape(-1).tolist():
            self._on_token(int(token_id))

    def end(self) -> None:
        pass


def own_precision(device_target: str) -> str:
    """The dtype MindFormers' GLM-6B runs in: float32 on CPU (its float16 CPU kernels are missing), float16 elsewhere."""
    return "float32" if device_target == "CPU" else "float16"


class MindFormersEngine(Engine):
    name = "mindformers"

    def __init__(self, model_dir: str, device_target: str = "CPU", device_id: int = 0,
                 seq_length: Optional[int] = None, tokenizer_only: bool = False,
                 precision: Optional[str] = None) -> None:
        self.model_dir = model_dir
        self.precision = precision  # None (auto) or the one MindFormers runs on this device; others are refused
        self.tokenizer_only = tokenizer_only
        self.seq_length = None  # type: Optional[int]
        self.device_target = device_target
        self.device_id = device_id
        self.requested_seq_length = seq_length
        self.model = None  # type: Any
        self.tokenizer = None  # type: Any
        self.config = None  # type: Any
        self.versions = {}  # type: Dict[str, str]

    def load(self, report: ProgressReport) -> None:
        if self.tokenizer_only:
            self._load_tokenizer_only(report)
            return
        own = own_precision(self.device_target)
        if self.precision not in (None, "auto", own):
            raise EngineError("PrecisionUnsupported", "--engine mindformers runs GLM-6B in %s on %s; --precision %s "
                              "needs the native engine (--engine native or auto)" % (own, self.device_target,
                                                                                      self.precision))
        checkpoint = require_model_file(self.model_dir, CHECKPOINT_NAME)
        tokenizer_path = require_model_file(self.model_dir, TOKENIZER_NAME)
        overrides = read_model_config(self.model_dir)

        report("import", None, "mindspore, mindformers")
        ms = _import_mindspore()
        _set_context(ms, self.device_target, self.device_id)
        glm = _import_mindformers_glm()
        from .mindformers_compat import apply_mindformers_shims, generator_config_extras
        apply_mindformers_shims(self.device_target)

        report("build", None, None)
        self.tokenizer = load_tokenizer(tokenizer_path, glm["ChatGLMTokenizer"])
        fields = dict((k, overrides[k]) for k in CONFIG_KEYS if k in overrides)
        fields["seq_length"] = self.requested_seq_length or fields.get("seq_length") or DEFAULT_SEQ_LENGTH
        dtype = own_precision(self.device_target)
        fields.update(generator_config_extras(fields["seq_length"]))
        self.config = glm["GLMConfig"](
            position_encoding_2d=True, use_past=True, is_sample_acceleration=False,
            param_init_type=dtype, compute_dtype=dtype, layernorm_compute_type="float32",
            softmax_compute_type="float32", max_decode_length=fields["seq_length"], top_k=0, **fields)
        self.model = glm["GLMChatModel"](self.config)
        self.model.set_train(False)

        size = os.path.getsize(checkpoint)
        report("checkpoint", 0.0, "%.1f MB" % (size / 1e6))
        started = time.time()
        params = ms.load_checkpoint(checkpoint)
        not_loaded, _ = ms.load_param_into_net(self.model, params, strict_load=False)
        missing = [name for name in not_loaded if not name.endswith(("key_past", "value_past"))]
        if missing:
            raise EngineError("CheckpointMismatch", "%s lacks %d parameters of this model, e.g. %s"
                              % (checkpoint, len(missing), ", ".join(missing[:3])))
        elapsed = max(time.time() - started, 1e-6)
        report("checkpoint", 1.0, "%.1f MB at %.1f MB/s" % (size / 1e6, size / 1e6 / elapsed))

        report("compile", None, "the prefill and decode graphs")
        self.generate("warm up", GenerateParams(max_new_tokens=2, do_sample=False), lambda: False, lambda _t: None)
        report("warmup", None, "a second run reuses the compiled graphs")
        self.generate("warm up", GenerateParams(max_new_tokens=2, do_sample=False), lambda: False, lambda _t: None)
        import mindformers
        self.versions = {"mindformers": mindformers.__version__, "mindspore": ms.__version__}

    def _load_tokenizer_only(self, report: ProgressReport) -> None:
        """Only ChatGLMTokenizer: counts tokens (glm-chat --dry-run) without building or loading the network."""
        tokenizer_path = require_model_file(self.model_dir, TOKENIZER_NAME)
        overrides = read_model_config(self.model_dir)
        report("import", None, "mindformers (tokenizer only)")
        glm = _import_mindformers_glm()
        report("build", None, "tokenizer only: no network, checkpoint or graph compile")
        self.tokenizer = load_tokenizer(tokenizer_path, glm["ChatGLMTokenizer"])
        self.seq_length = self.requested_seq_length or overrides.get("seq_length") or DEFAULT_SEQ_LENGTH
        import mindformers
        import mindspore
        self.versions = {"mindformers": mindformers.__version__, "mindspore": mindspore.__version__}

    def info(self) -> Dict[str, Any]:
        return {
            "engine": self.name,
            "engine_version": self.versions.get("mindformers"),
            "mindspore_version": self.versions.get("mindspore"),
            "device_target": self.device_target,
            "device_id": self.device_id,
            "seq_length": self.config.seq_length if self.config is not None else self.seq_length,
            "tokenizer_only": self.tokenizer_only,
            "model_dir": self.model_dir,
        }

    def encode(self, text: str) -> List[int]:
        return list(self.tokenizer(text)["input_ids"])

    def generate_ids(self, ids: List[int], params: GenerateParams, should_stop: Callable[[], bool],
                     on_token: Callable[[int], None]) -> GenerateResult:
        seq_length = self.config.seq_length
        if len(ids) >= seq_length:
            raise EngineError("PromptTooLong", "the prompt is %d tokens; this model holds %d tokens in all "
                              "(clear the history, or start with a larger --seq-length)" % (len(ids), seq_length))
        eos = self.config.eos_token_id
        state = {"count": 0, "eos": False}

        def on_id(token_id: int) -> None:
            if token_id == eos:
                state["eos"] = True
                return
            state["count"] += 1
            on_token(token_id)

        streamer = _CancellableStreamer(should_stop, on_id)
        seed = params.seed if params.seed is not None else random.randrange(2 ** 31)
        try:
            self.model.generate([ids], max_new_tokens=min(params.max_new_tokens, seq_length - len(ids)),
                                do_sample=params.do_sample, temperature=params.temperature, top_p=params.top_p,
                                top_k=params.top_k, repetition_penalty=params.repetition_penalty,
                                streamer=streamer, seed=seed)
        except GenerationCancelled:
            block_mgr = getattr(self.model, "block_mgr", None)
            if block_mgr is not None and hasattr(block_mgr, "clear_cache"):
                block_mgr.clear_cache()  # generate() skipped its own clean-up when the streamer raised
            return GenerateResult("cancelled", len(ids), state["count"])
        return GenerateResult("stop" if state["eos"] else "length", len(ids), state["count"])


def _import_mindspore() -> Any:
    try:
        import mindspore
    except ImportError as exc:
        raise EngineError("MindSporeMissing", "MindSpore cannot be imported by %s (%s). Install it with: "
                          "%s -m pip install mindspore==2.7.2" % (sys.executable, exc, sys.executable))
    return mindspore


def _set_context(ms: Any, device_target: str, device_id: int) -> None:
    try:
        ms.set_context(mode=ms.GRAPH_MODE, device_target=device_target, device_id=device_id)
    except (RuntimeError, ValueError) as exc:
        raise EngineError("DeviceUnavailable", "MindSpore %s cannot use device %s:%d: %s"
                          % (ms.__version__, device_target, device_id, str(exc).splitlines()[0]))


def _import_mindformers_glm() -> Dict[str, Any]:
    try:
        from mindformers.models.glm import GLMChatModel, GLMConfig
        from mindformers.models.glm.chatglm_6b_tokenizer import ChatGLMTokenizer
    except ImportError as exc:
        raise EngineError("MindFormersGlmMissing", "MindFormers with GLM-6B cannot be imported by %s (%s). "
                          "GLM-6B ships in MindFormers 0.6-1.3.x; install it with: %s -m pip install "
                          "mindformers==1.3.2" % (sys.executable, exc, sys.executable))
    return {"GLMChatModel": GLMChatModel, "GLMConfig": GLMConfig, "ChatGLMTokenizer": ChatGLMTokenizer}
