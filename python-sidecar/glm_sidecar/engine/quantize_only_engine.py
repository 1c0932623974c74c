"""`--quantize-only int8|int4` (glm-chat quantize): the load step makes the quantized copy of glm_6b.ckpt and nothing
else (no MindSpore, tokenizer, network or graph); generate and token counts are refused."""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Optional

from .base import Engine, EngineError, GenerateParams, GenerateResult, ProgressReport
from .model_files import CHECKPOINT_NAME, require_model_file

PRECISIONS = ("int8", "int4")


class QuantizeOnlyEngine(Engine):
    """Finds or makes the copy where the native engine looks for it (quantized_copy's default cache folder, as
    weight_source.open_weights asks), reporting phase "quantize"; info() says where it is, its size and whether
    it was made now."""

    name = "native"

    def __init__(self, model_dir: str, precision: str, cache_dir: Optional[str] = None) -> None:
        if precision not in PRECISIONS:
            raise EngineError("InvalidParameter", "--quantize-only makes int8 or int4 copies, got %r" % (precision,))
        self.model_dir = model_dir
        self.precision = precision
        self.cache_dir = cache_dir  # None: $XDG_CACHE_HOME/glm-chat/quantized, the engine's own default
        self.copy = None  # type: Optional[Dict[str, Any]]

    def load(self, report: ProgressReport) -> None:
        from .native.quantized_copy import ensure_quantized_copy, find_quantized_copy

        checkpoint = require_model_file(self.model_dir, CHECKPOINT_NAME)
        started = time.time()
        report("quantize", None, "looking for a valid %s copy of %s" % (self.precision, checkpoint))
        path, _rejected = find_quantized_copy(checkpoint, self.precision, self.cache_dir)
        made = path is None
        if made:
            path = ensure_quantized_copy(checkpoint, self.precision, cache_dir=self.cache_dir, report=report)
        self.copy = {"path": os.path.abspath(path), "bytes": os.path.getsize(path), "precision": self.precision,
                     "checkpoint": os.path.abspath(checkpoint), "made": made,
                     "seconds": round(time.time() - started, 3)}

    def info(self) -> Dict[str, Any]:
        from .. import __version__

        return {
            "engine": self.name,
            "engine_version": __version__,
            "mindspore_version": None,
            "device_target": "CPU",
            "device_id": 0,
            "seq_length": None,
            "model_dir": self.model_dir,
            "precision": self.precision,
            "quantize_only": True,
            "quantized_copy": self.copy,
        }

    def _refuse(self) -> EngineError:
        return EngineError("QuantizeOnly", "this sidecar only makes the %s copy (--quantize-only); it cannot count "
                           "tokens or answer: start glm-chat --precision %s to chat" % (self.precision, self.precision))

    def encode(self, text: str) -> List[int]:
        raise self._refuse()

    def generate(self, prompt: str, params: GenerateParams, should_stop: Callable[[], bool],
                 on_text: Callable[[str], None]) -> GenerateResult:
        raise self._refuse()
