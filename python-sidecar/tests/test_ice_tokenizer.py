"""The SentencePiece-only tokenizer gives MindFormers' ChatGLMTokenizer ids and text, without MindFormers."""
from __future__ import annotations

import os

import pytest

from glm_sidecar.engine.native.ice_tokenizer import IceTokenizer

CASES = [
    "hello world", "你好", "a\nb\n\nc", "\tx  y    z" + " " * 90 + "w",
    "[Round 0]\n问：hi\n答：ok\n[Round 1]\n问：喂\n答：", "emoji 😀 ok", "中文，测试！?", "", "  lead", "trail  ",
    # literal special-token text: MindFormers turns <sop> <eop> <unk> <pad> [MASK] into the tokens, not [gMASK]
    "x <sop> y", "<eop>z", "a [MASK] b", "a [gMASK] b", "<pad><unk>", "</s> <ENC>",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return IceTokenizer(os.path.join(tiny_model_dir, "ice_text.model"))


def test_special_ids_are_the_last_eight_pieces(tokenizer, tiny_model_dir):
    import json

    with open(os.path.join(tiny_model_dir, "glm_config.json")) as handle:
        config = json.load(handle)
    assert (tokenizer.mask_id, tokenizer.gmask_id, tokenizer.bos_id, tokenizer.eos_id) == (
        config["mask_token_id"], config["gmask_token_id"], config["bos_token_id"], config["eos_token_id"])
    assert tokenizer.prompt_ids("")[-2:] == [tokenizer.gmask_id, tokenizer.bos_id]


def test_ids_and_text_match_mindformers(tokenizer, tiny_model_dir):
    pytest.importorskip("mindspore", reason="MindFormers needs mindspore")
    glm = pytest.importorskip("mindformers.models.glm.chatglm_6b_tokenizer", reason="needs MindFormers 1.3.x")
    theirs = glm.ChatGLMTokenizer(os.path.join(tiny_model_dir, "ice_text.model"))
    assert tokenizer.vocab_size == theirs.vocab_size
    for text in CASES:
        ids = tokenizer.prompt_ids(text)
        assert ids == list(theirs(text)["input_ids"]), text
        assert tokenizer.decode(ids[:-2]) == theirs.decode(ids[:-2]), text


def test_text_survives_a_round_trip(tokenizer):
    # (not full-width punctuation: the model normalises "，" to ",", which process_response undoes)
    for text in ("hello world", "a\nb\n\tc", "x" + " " * 7 + "y", "北京你好"):
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_a_file_that_is_not_a_tokenizer_is_refused(tmp_path):
    bogus = tmp_path / "ice_text.model"
    bogus.write_bytes(b"not a sentencepiece model")
    with pytest.raises((ValueError, RuntimeError, OSError)):
        IceTokenizer(str(bogus))


# The TS side refuses a text of more than budget x 80 code points without tokenising it
# (src/chat/context-budget.ts MAX_CHARS_PER_TOKEN): no token may cover more than 80 characters.
MAX_CHARS_PER_TOKEN = 80


def test_no_token_covers_more_than_80_characters(tokenizer):
    import random

    pieces = [tokenizer._sp.IdToPiece(i) for i in range(tokenizer._sp.GetPieceSize())]
    # Pieces are matched on the preprocessed text: <|blank_N|> stands for N spaces, <n> and <|tab|> for one char.
    assert max(len(p.replace("\u2581", " ")) for p in pieces if not p.startswith("<|blank_")) <= MAX_CHARS_PER_TOKEN
    rng = random.Random(22)
    alphabet = [" ", "\n", "\t", "a", "the", "你", "😀", "<sop>", "[MASK]", "<|blank_80|>", "\x00", "\u200b"]
    texts = [" " * n for n in (1, 79, 80, 81, 160, 1000)]
    texts += ["".join(rng.choice(alphabet) * rng.randint(1, 200) for _ in range(rng.randint(1, 30))) for _ in range(200)]
    for text in texts:
        assert len(text) <= MAX_CHARS_PER_TOKEN * max(1, len(tokenizer.encode(text))), repr(text[:40])
