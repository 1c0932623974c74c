"""A MindSpore-free engine for fast protocol and supervision tests: answers by echoing the prompt's words."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict

from .base import Engine, FirstTokenClock, GenerateParams, GenerateResult, GenerationCancelled, ProgressReport

# A prompt starting with this gets an answer of tokens that decode to no visible text (as a real model's can).
SILENT_WORD = "<silent>"


class FakeEngine(Engine):
    name = "fake"

    def __init__(self, token_delay_s: float = 0.0, load_delay_s: float = 0.0) -> None:
        self.token_delay_s = token_delay_s
        self.load_delay_s = load_delay_s

    def load(self, report: ProgressReport) -> None:
        for phase in ("import", "build", "checkpoint", "compile", "warmup"):
            report(phase, 1.0, None)
            time.sleep(self.load_delay_s / 5)

    def info(self) -> Dict[str, Any]:
        return {"engine": "fake", "engine_version": "0", "mindspore_version": None,
                "device_target": "CPU", "device_id": 0, "seq_length": 2048}

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, prompt: str, params: GenerateParams, should_stop: Callable[[], bool],
                 on_text: Callable[[str], None]) -> GenerateResult:
        words = ["echo:"] + prompt.split()
        produced = 0
        clock = FirstTokenClock()
        silent = prompt.split()[:1] == [SILENT_WORD]
        for word in words[:params.max_new_tokens]:
            if should_stop():
                return GenerateResult("cancelled", len(prompt.split()), produced, clock.at)
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            clock.tick()
            if not silent:
                on_text(word + " ")
            produced += 1
        reason = "length" if len(words) > params.max_new_tokens else "stop"
        return GenerateResult(reason, len(prompt.split()), produced, clock.at)


__all__ = ["FakeEngine", "GenerationCancelled"]
