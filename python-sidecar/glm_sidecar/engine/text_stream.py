"""Turns a growing list of generated token ids into text deltas that never need to be taken back."""
from __future__ import annotations

from typing import Callable, List


class IncrementalDetokenizer(object):
    """Decodes all ids so far and emits only the new suffix; holds back an incomplete character."""

    def __init__(self, decode: Callable[[List[int]], str]) -> None:
        self._decode = decode
        self._ids = []  # type: List[int]
        self._emitted = ""

    def push(self, token_id: int) -> str:
        self._ids.append(int(token_id))
        text = self._decode(self._ids)
        if text.endswith("\ufffd"):
            return ""  # a multi-byte character split over byte-fallback tokens: wait for the rest
        if not text.startswith(self._emitted):
            # The decoder re-segmented earlier text (rare with SentencePiece). Shown text is never
            # taken back, so wait until the decode agrees with it again.
            return ""
        delta = text[len(self._emitted):]
        self._emitted = text
        return delta

    @property
    def text(self) -> str:
        return self._emitted
