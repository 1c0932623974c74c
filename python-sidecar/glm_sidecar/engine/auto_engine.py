"""--engine auto: MindFormers' GLMChatModel where its GLM-6B exists and loads, else glm-chat's native engine."""
from __future__ import annotations

import gc
import sys
from typing import Any, Callable, Dict, Optional

from .base import Engine, EngineError, GenerateParams, GenerateResult, ProgressReport
from .mindformers_engine import own_precision

# Failures that would be the same for the native engine: fall back only on what is MindFormers' own.
USER_ERRORS = ("ModelFileMissing", "ModelConfigInvalid", "CheckpointMismatch", "DeviceUnavailable", "DeviceFallback",
               "MindSporeMissing")


def mindformers_glm_problem() -> Optional[str]:
    """None when `mindformers.models.glm` imports; else why not, in one line."""
    try:
        from mindformers.models.glm import GLMChatModel, GLMConfig  # noqa: F401
        from mindformers.models.glm.chatglm_6b_tokenizer import ChatGLMTokenizer  # noqa: F401
    except ImportError as exc:
        version = getattr(sys.modules.get("mindformers"), "__version__", None)
        if version:
            return "MindFormers %s has no GLM-6B (it was removed in 1.5): %s" % (version, exc)
        return "MindFormers is not installed (%s)" % exc
    except Exception as exc:  # a broken install raises anything at import; the native engine still works
        return "MindFormers fails to import: %s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    return None


def settings_problem(native: Engine) -> Optional[str]:
    """Why MindFormers cannot run with the settings the native engine was given, or None (it honours them)."""
    device_target, precision = getattr(native, "device_target", None), getattr(native, "precision", None)
    own = own_precision(device_target or "CPU")
    if precision is None or precision == own:
        return None
    return "MindFormers runs GLM-6B in %s on %s and ignores --precision %s" % (own, device_target, precision)


class AutoEngine(Engine):
    def __init__(self, make_mindformers: Callable[[], Engine], make_native: Callable[[], Engine],
                 glm_problem: Callable[[], Optional[str]] = mindformers_glm_problem) -> None:
        self._make_mindformers = make_mindformers
        self._make_native = make_native
        self._glm_problem = glm_problem
        self.engine = None  # type: Optional[Engine]
        self.fallback_reason = None  # type: Optional[str]

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.engine.name if self.engine is not None else "auto"

    def load(self, report: ProgressReport) -> None:
        report("import", None, "looking for MindFormers' GLM-6B")
        native = self._make_native()  # only its settings so far; it loads below if MindFormers is not used
        problem = settings_problem(native) or self._glm_problem()
        if problem is None:
            candidate = self._make_mindformers()
            try:
                candidate.load(report)
                self.engine = candidate
                return
            except EngineError as exc:
                if exc.ename in USER_ERRORS:
                    raise
                problem = "MindFormers' GLM-6B failed to load (%s: %s)" % (exc.ename, exc)
            except Exception as exc:  # its graph compile can fail with any error on a mismatched MindSpore
                lines = str(exc).strip().splitlines()
                problem = "MindFormers' GLM-6B failed to load (%s: %s)" % (type(exc).__name__,
                                                                         lines[-1] if lines else "")
            del candidate
            gc.collect()
        self.fallback_reason = problem
        sys.stderr.write("glm_sidecar: %s; using the native engine\n" % problem)
        report("import", None, "%s; using glm-chat's native engine" % problem)
        native.load(report)
        self.engine = native

    def info(self) -> Dict[str, Any]:
        if self.engine is None:
            return {"engine": "auto", "engine_version": None, "mindspore_version": None}
        info = dict(self.engine.info())
        info["engine_choice"] = "auto"
        if self.fallback_reason:
            info["engine_fallback"] = self.fallback_reason
        return info

    def count_tokens(self, text: str) -> int:
        return self._ready().count_tokens(text)

    def generate(self, prompt: str, params: GenerateParams, should_stop: Callable[[], bool],
                 on_text: Callable[[str], None]) -> GenerateResult:
        return self._ready().generate(prompt, params, should_stop, on_text)

    def _ready(self) -> Engine:
        if self.engine is None:
            raise EngineError("NotReady", "the model is still loading")
        return self.engine
