"""Turns a growing list of generated token ids into text deltas that never need to be taken back."""
from __future__ import annotations

from typing import Callable, List


class IncrementalDetokenizer(object):
    """Decodes a short window of the latest ids and emits only the new suffix; holds back an incomplete character.

    The window starts at the token before the last emitted text, so the decoder sees the same first piece in
    both decodes it compares (SentencePiece drops a leading space only at a sequence's start) and each token
    costs a constant amount of work, not a decode of the whole answer.
    """

    def __init__(self, decode: Callable[[List[int]], str]) -> None:
        self._decode = decode
        self._ids = []  # type: List[int]
        self._prefix = 0  # window start
        self._read = 0  # ids before this are already in the emitted text
        self._emitted = []  # type: List[str]

    def push(self, token_id: int) -> str:
        self._ids.append(int(token_id))
        before = self._decode(self._ids[self._prefix:self._read])
        text = self._decode(self._ids[self._prefix:])
        if text.endswith("\ufffd") or len(text) <= len(before) or not text.startswith(before):
            # a multi-byte character split over byte-fallback tokens, or nothing new yet: wait for more ids
            return ""
        delta = text[len(before):]
        self._prefix = self._read
        self._read = len(self._ids)
        self._emitted.append(delta)
        return delta

    @property
    def text(self) -> str:
        return "".join(self._emitted)
