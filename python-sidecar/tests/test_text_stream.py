"""Streamed text deltas add up to the whole decode, never change what was shown, and wait out split characters."""
from __future__ import annotations

import os
import random

import pytest

from glm_sidecar.engine.native.ice_tokenizer import IceTokenizer
from glm_sidecar.engine.text_stream import IncrementalDetokenizer

TEXTS = ["你好，世界！", "hello world\n\n  indented\tcode", "emoji 😀 and 北京 " + " " * 9 + "end",
         "[Round 0]\n问：你好\n答：", "a"]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return IceTokenizer(os.path.join(tiny_model_dir, "ice_text.model"))


def stream(tokenizer, ids):
    detok = IncrementalDetokenizer(tokenizer.decode)
    shown = ""
    for token in ids:
        shown += detok.push(token)
        assert tokenizer.decode(ids).startswith(shown) or tokenizer.decode(ids).endswith("\ufffd")
    return shown


def test_deltas_add_up_to_the_whole_decode(tokenizer):
    for text in TEXTS:
        ids = tokenizer.encode(text)
        assert stream(tokenizer, ids) == tokenizer.decode(ids), text


def test_random_answers_stream_without_retracting(tokenizer):
    rng = random.Random(7)
    for _ in range(200):
        ids = [rng.randrange(tokenizer.vocab_size - 8) for _ in range(rng.randrange(1, 40))]
        whole = tokenizer.decode(ids)
        shown = stream(tokenizer, ids)
        # all of it once the answer does not end inside a character
        assert whole.startswith(shown)
        if not whole.endswith("\ufffd"):
            assert shown == whole


def test_a_split_character_waits_for_its_last_byte(tokenizer):
    ids = tokenizer.encode("😀")
    assert len(ids) >= 3  # byte-fallback pieces: the tiny tokenizer has no piece for it
    detok = IncrementalDetokenizer(tokenizer.decode)
    assert "".join(detok.push(t) for t in ids[:-1]) == ""
    assert detok.push(ids[-1]).endswith("😀")
