"""The NumPy GLM-6B reference (glm_numpy_reference.py) agrees with MindFormers' GLMChatModel on the tiny model."""
from __future__ import annotations

import math
import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
# MindFormers writes its logs to ./output/log (relative to the cwd) unless LOG_MF_PATH says otherwise.
os.environ.setdefault("LOG_MF_PATH", os.path.join(tempfile.gettempdir(), "glm-chat-test-mindformers-log"))

ms = pytest.importorskip("mindspore", reason="comparing with MindFormers needs mindspore (npm test installs it)")
pytest.importorskip("mindformers.models.glm", reason="comparing with MindFormers needs mindformers 1.3.x with GLM-6B")

import glm_numpy_reference  # noqa: E402
from glm_test_models import LONG_PROMPT, PROMPTS, MindFormersSide  # noqa: E402

# Measured on the tiny checkpoint (logits |x| <= 0.75): max |MindFormers - reference| = 1.8e-4 (2.4e-4 of the
# largest logit). The gap is MindFormers' MLP, which runs its Linear layers in float16 even with
# compute_dtype float32; everything else agrees to float32 rounding.
TINY_ATOL = 5e-4
# Measured on the sharpened weights (logits |x| <= 18): max gap 7.0e-3 = 3.8e-4 of the largest logit.
# An exact (float64) rotary table instead of MindFormers' float16 one misses by 0.107 on LONG_PROMPT.
SHARP_RTOL_OF_MAX = 1e-3
NEW_TOKENS = 12


@pytest.fixture(scope="module")
def side(tiny_model_dir):
    return MindFormersSide(tiny_model_dir)


def exact_rotary_tables(rot_dim, length, base=10000.0):
    angles = np.outer(np.arange(length), 1.0 / base ** (np.arange(0, rot_dim, 2) / rot_dim))
    angles = np.concatenate((angles, angles), axis=-1)
    return np.cos(angles), np.sin(angles)


@pytest.mark.parametrize("prompt", PROMPTS + [LONG_PROMPT])
def test_prefill_logits_match_mindformers_on_tiny_checkpoint(side, prompt):
    ids = side.ids(prompt)
    want = side.prefill_logits("tiny", ids)
    got = side.reference("tiny").logits(ids)
    assert got.shape == want.shape == (len(ids), side.cfg["vocab_size"])
    assert np.abs(got - want).max() <= TINY_ATOL
    assert np.abs(side.reference("tiny", dtype=np.float32).logits(ids) - want).max() <= TINY_ATOL


@pytest.mark.parametrize("prompt", PROMPTS + [LONG_PROMPT])
def test_prefill_logits_match_mindformers_on_sharpened_weights(side, prompt):
    ids = side.ids(prompt)
    want = side.prefill_logits("sharpened", ids)
    got = side.reference("sharpened").logits(ids)
    assert np.abs(got - want).max() <= SHARP_RTOL_OF_MAX * np.abs(want).max()


def test_tolerance_catches_an_exact_rotary_table(side, monkeypatch):
    ids = side.ids(LONG_PROMPT)
    assert len(ids) > 200
    want = side.prefill_logits("sharpened", ids)
    monkeypatch.setattr(glm_numpy_reference, "rotary_tables", exact_rotary_tables)
    wrong = side.reference("sharpened").logits(ids)
    assert np.abs(wrong - want).max() > 5 * SHARP_RTOL_OF_MAX * np.abs(want).max()


def test_rotary_table_and_gelu_match_mindspore(side):
    model = side.model("tiny", use_past=False)
    rotary = model.transformer.layers[0].attention.rotary_emb
    seq_length, rot_dim = rotary.cos_cached.shape[0], rotary.cos_cached.shape[-1]
    cos, sin = glm_numpy_reference.rotary_tables(rot_dim, seq_length)
    assert np.array_equal(cos, rotary.cos_cached.asnumpy().reshape(seq_length, rot_dim).astype(np.float64))
    assert np.array_equal(sin, rotary.sin_cached.asnumpy().reshape(seq_length, rot_dim).astype(np.float64))
    x = np.linspace(-6.0, 6.0, 97).astype(np.float32)
    gelu = ms.ops.GeLU()(ms.Tensor(x)).asnumpy().astype(np.float64)
    assert np.abs(glm_numpy_reference.gelu_tanh(x.astype(np.float64)) - gelu).max() < 1e-6
    erf = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.astype(np.float64)])
    assert np.abs(erf - gelu).max() > 1e-4  # MindSpore's GeLU is the tanh approximation, not erf


@pytest.mark.parametrize("weights,use_past", [("tiny", False), ("tiny", True), ("sharpened", True)])
def test_greedy_continuations_match_mindformers_generate(side, weights, use_past):
    reference = side.reference(weights)
    for prompt in PROMPTS + [LONG_PROMPT]:
        ids = side.ids(prompt)
        want = side.greedy(weights, use_past, ids, NEW_TOKENS)
        assert len(want) == NEW_TOKENS or want[-1] == side.cfg["eos_token_id"]
        assert reference.greedy(ids, NEW_TOKENS) == want, prompt
