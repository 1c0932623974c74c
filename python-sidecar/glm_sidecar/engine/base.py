"""The engine interface the server drives, and the values that cross it."""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Dict, List, Optional

from .text_stream import IncrementalDetokenizer

# report(phase, progress 0..1 or None, detail or None)
ProgressReport = Callable[[str, Optional[float], Optional[str]], None]


class EngineError(Exception):
    """A failure the user can act on; `ename` is stable and shown with the message (no traceback needed)."""

    def __init__(self, ename: str, message: str) -> None:
        super().__init__(message)
        self.ename = ename


class GenerationCancelled(Exception):
    """Raised inside an engine's token loop when an interrupt arrived."""


# Whole numbers (max_new_tokens, top_k, seed) are int32 inside the engines; floats must be finite.
MAX_WHOLE_NUMBER = 2 ** 31 - 1


class GenerateParams(object):
    """Sampling parameters of one generate request; defaults are ChatGLM-6B chat()'s."""

    def __init__(self, max_new_tokens: int = 256, do_sample: bool = True, temperature: float = 0.95,
                 top_p: float = 0.7, top_k: int = 0, repetition_penalty: float = 1.0,
                 seed: Optional[int] = None) -> None:
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.temperature = temperature
        self.top_p = top_p
        self.top_k = top_k
        self.repetition_penalty = repetition_penalty
        self.seed = seed

    @classmethod
    def from_content(cls, content: Dict[str, Any]) -> "GenerateParams":
        params = cls()
        for name, kind in (("max_new_tokens", int), ("do_sample", bool), ("temperature", float),
                           ("top_p", float), ("top_k", int), ("repetition_penalty", float), ("seed", int)):
            value = content.get(name)
            if value is None:
                continue
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise EngineError("InvalidParameter", "%s must be %s, got %r" % (name, kind.__name__, value))
            if kind is int and abs(value) > MAX_WHOLE_NUMBER:
                raise EngineError("InvalidParameter", "%s must be at most %d, got %r" % (name, MAX_WHOLE_NUMBER, value))
            if kind is float and not math.isfinite(value):
                raise EngineError("InvalidParameter", "%s must be a finite number, got %r" % (name, value))
            setattr(params, name, value)
        if params.max_new_tokens < 1:
            raise EngineError("InvalidParameter", "max_new_tokens must be at least 1")
        for name, ok, rule in (("temperature", params.temperature >= 0, "0 or more"),
                               ("top_p", 0 <= params.top_p <= 1, "between 0 and 1"),
                               ("top_k", params.top_k >= 0, "0 (off) or more"),
                               ("repetition_penalty", params.repetition_penalty > 0, "above 0"),
                               ("seed", params.seed is None or params.seed >= 0, "0 or more")):
            if not ok:
                raise EngineError("InvalidParameter", "%s must be %s, got %r" % (name, rule, getattr(params, name)))
        return params


class GenerateResult(object):
    def __init__(self, done_reason: str, prompt_tokens: int, completion_tokens: int,
                 first_token_at: Optional[float] = None) -> None:
        self.done_reason = done_reason  # "stop" | "length" | "cancelled"
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        # time.time() when the engine had its first token, whether or not that token decodes to visible text
        self.first_token_at = first_token_at


class FirstTokenClock(object):
    """Notes when an engine's first token came (`tick()` on every token); `at` is None until then."""

    def __init__(self) -> None:
        self.at = None  # type: Optional[float]

    def tick(self) -> None:
        if self.at is None:
            self.at = time.time()


class Engine(object):
    """Loads a model once, then generates one answer at a time (called from one worker thread).

    A model engine implements load, info, encode and generate_ids; counting tokens, the tokenizer-only refusal and
    turning token ids into text deltas are shared here. Engines without a tokenizer override count_tokens and
    generate instead."""

    name = "base"
    tokenizer_only = False
    tokenizer = None  # type: Any  # has decode(ids) and vocab_size once loaded

    def load(self, report: ProgressReport) -> None:
        raise NotImplementedError

    def info(self) -> Dict[str, Any]:
        raise NotImplementedError

    def encode(self, text: str) -> List[int]:
        """The token ids the model is fed for this prompt text."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def generate(self, prompt: str, params: GenerateParams, should_stop: Callable[[], bool],
                 on_text: Callable[[str], None]) -> GenerateResult:
        """Streams the answer (never the prompt) through on_text; checks should_stop every token."""
        if self.tokenizer_only:
            raise EngineError("TokenizerOnly", "this sidecar loaded only the tokenizer (--tokenizer-only); "
                              "it counts tokens but cannot answer")
        ids = self.encode(prompt)
        clock = FirstTokenClock()
        to_text = self.text_deltas(on_text)

        def on_token(token_id: int) -> None:
            clock.tick()  # the first token's time, also when its text is empty or held back
            to_text(token_id)

        result = self.generate_ids(ids, params, should_stop, on_token)
        result.first_token_at = clock.at
        return result

    def generate_ids(self, ids: List[int], params: GenerateParams, should_stop: Callable[[], bool],
                     on_token: Callable[[int], None]) -> GenerateResult:
        """Generates after the prompt's ids, calling on_token with the id of each answer token."""
        raise NotImplementedError

    def text_deltas(self, on_text: Callable[[str], None]) -> Callable[[int], None]:
        """An on_token that passes each generated id's new text to on_text (none yet for half a character)."""
        detok = IncrementalDetokenizer(self.tokenizer.decode)
        decodable = self.tokenizer.vocab_size  # ids past the last piece are embedding padding

        def on_token(token_id: int) -> None:
            delta = detok.push(token_id) if token_id < decodable else ""
            if delta:
                on_text(delta)

        return on_token
