"""The native engine (MindSpore alone) on the tiny model: parity, buckets, sampling, cancel, graphs, checkpoints."""
from __future__ import annotations

import os
import random
import time

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the native engine tests need mindspore (npm test installs it)")

from glm_numpy_reference import GlmNumpyReference, load_checkpoint_arrays  # noqa: E402
from glm_sidecar.engine.base import EngineError, GenerateParams  # noqa: E402
from glm_sidecar.engine.native_engine import NativeEngine  # noqa: E402
from glm_test_models import LONG_PROMPT, PROMPTS, write_sharpened_model  # noqa: E402

# float32 everywhere on CPU: the native engine and the float64 NumPy reference agree to float32 rounding.
REFERENCE_RTOL_OF_MAX = 2e-5


def load_engine(model_dir, **kwargs):
    engine = NativeEngine(model_dir, "CPU", 0, None, **kwargs)
    engine.load(lambda phase, progress, detail: None)
    return engine


@pytest.fixture(scope="module")
def native(tiny_model_dir):
    return load_engine(tiny_model_dir)


@pytest.fixture(scope="module")
def sharp_dir(tiny_model_dir, tmp_path_factory):
    return write_sharpened_model(tiny_model_dir, str(tmp_path_factory.mktemp("sharpened-model")))


@pytest.fixture(scope="module")
def native_sharp(sharp_dir):
    return load_engine(sharp_dir)


def reference_for(model_dir, engine):
    arrays = load_checkpoint_arrays(os.path.join(model_dir, "glm_6b.ckpt"))
    tok = engine.tokenizer
    return GlmNumpyReference(arrays, engine.shape.num_heads, bos_token_id=tok.bos_id, gmask_token_id=tok.gmask_id,
                             mask_token_id=tok.mask_id, eos_token_id=tok.eos_id)


def run(engine, ids, record=True, **params):
    """(generated ids, float32 logits per step) of one generation; the bucket may be forced."""
    bucket = params.pop("bucket", None)
    tokens = []
    engine.decoder.record_logits = record
    reason, _ = engine.decoder.run(ids, GenerateParams(**params), lambda: False, tokens.append, bucket=bucket)
    logits = list(engine.decoder.last_logits)
    engine.decoder.record_logits = False
    return tokens, logits, reason


@pytest.mark.parametrize("weights", ["tiny", "sharpened"])
def test_logits_of_prefill_and_every_decode_step_match_the_numpy_reference(weights, native, native_sharp,
                                                                           tiny_model_dir, sharp_dir):
    engine, model_dir = (native, tiny_model_dir) if weights == "tiny" else (native_sharp, sharp_dir)
    reference = reference_for(model_dir, engine)
    for prompt in PROMPTS + [LONG_PROMPT]:
        ids = engine.encode(prompt)
        tokens, logits, _ = run(engine, ids, max_new_tokens=10, do_sample=False)
        sequence = list(ids)
        for step, got in enumerate(logits[:len(tokens)]):
            want = reference.logits(sequence)[-1]
            assert np.abs(got - want).max() <= REFERENCE_RTOL_OF_MAX * np.abs(want).max(), (prompt, step)
            sequence.append(tokens[step])


def test_float16_weights_as_on_ascend_and_gpu_stay_close_and_answer_alike(native, tiny_model_dir):
    """The device path's precision, run on CPU: float16 weights and matmuls, float32 LayerNorm and softmax.
    On CPU the float16 weights go through the aot kernel (the tiny model's widths 64 and 170 also cover the
    kernel's remainder lanes) for the decode step and the 64-token bucket, and through a just-in-time float32
    cast for the longer buckets: every bucket is run below."""
    half = load_engine(tiny_model_dir, precision="float16")
    assert half.info()["compute_dtype"] == "float16" and native.info()["compute_dtype"] == "float32"
    assert half.info()["cpu_kernels"] and not half.info()["cpu_kernels"].startswith("unavailable")
    reference = reference_for(tiny_model_dir, native)
    for prompt in PROMPTS:
        ids = half.encode(prompt)
        tokens, logits, _ = run(half, ids, max_new_tokens=12, do_sample=False)
        want = reference.logits(ids)[-1]
        assert np.abs(logits[0] - want).max() <= 5e-3 * max(1.0, np.abs(want).max()), prompt
        assert tokens == run(native, ids, record=False, max_new_tokens=12, do_sample=False)[0], prompt
    ids = half.encode(PROMPTS[1])
    want = reference.logits(ids)[-1]
    for bucket in half.buckets:
        tokens, logits, _ = run(half, ids, max_new_tokens=12, do_sample=False, bucket=bucket)
        assert np.abs(logits[0] - want).max() <= 5e-3 * max(1.0, np.abs(want).max()), bucket
        assert tokens == run(native, ids, record=False, max_new_tokens=12, do_sample=False)[0], bucket


def test_greedy_is_the_same_in_every_bucket_and_after_a_restart(native, tiny_model_dir):
    ids = native.encode(PROMPTS[1])
    answers = [run(native, ids, record=False, max_new_tokens=30, do_sample=False, bucket=b)[0]
               for b in native.buckets]
    assert len(native.buckets) == 3 and all(a == answers[0] for a in answers)
    again = load_engine(tiny_model_dir)
    assert run(again, ids, record=False, max_new_tokens=30, do_sample=False)[0] == answers[0]


def test_load_warms_only_the_first_bucket_and_each_bucket_compiles_once(tiny_model_dir):
    lazy = load_engine(tiny_model_dir)
    prefill, decode = lazy.decoder.prefill_step.compile_cache, lazy.decoder.decode_step.compile_cache
    assert (len(prefill), len(decode)) == (1, 1)
    for length in (3, 63, 64, 65, 130, 200, 250):
        ids = (lazy.encode("北京 " * 200)[:length - 2] + [lazy.tokenizer.gmask_id, lazy.tokenizer.bos_id])
        run(lazy, ids, record=False, max_new_tokens=3, do_sample=True, seed=length)
    assert (len(prefill), len(decode)) == (len(lazy.buckets), 1)
    eager = load_engine(tiny_model_dir, warm_all=True)
    assert (len(eager.decoder.prefill_step.compile_cache), len(eager.decoder.decode_step.compile_cache)) == (3, 1)


def test_no_graph_is_compiled_once_every_bucket_is_warm(tiny_model_dir):
    native = load_engine(tiny_model_dir, warm_all=True)
    prefill, decode = native.decoder.prefill_step.compile_cache, native.decoder.decode_step.compile_cache
    before = (len(prefill), len(decode))
    assert before == (len(native.buckets), 1)
    for length in (3, 63, 64, 65, 130, 200, 250):
        ids = (native.encode("北京 " * 200)[:length - 2] + [native.tokenizer.gmask_id, native.tokenizer.bos_id])
        run(native, ids, record=False, max_new_tokens=3, do_sample=True, seed=length)
    assert (len(prefill), len(decode)) == before


def expected_pick(logits, seen, params, u):
    """The sampling rule in NumPy: penalty, temperature, top-k, top-p, then the inverse-CDF draw at u."""
    logits = logits.astype(np.float64).copy()
    mask = np.zeros(logits.shape, bool)
    mask[list(seen)] = True
    p = params.repetition_penalty
    logits[mask] = np.where(logits[mask] > 0, logits[mask] / p, logits[mask] * p)
    if not params.do_sample:
        return int(np.argmax(logits)), None
    order = np.argsort(-logits / params.temperature, kind="stable")
    probs = np.exp((logits[order] - logits[order][0]) / params.temperature)
    probs /= probs.sum()
    keep = np.ones(len(probs), bool)
    if params.top_k > 0:
        keep[params.top_k:] = False
    if params.top_p < 1.0:
        keep &= (np.cumsum(probs) - probs) < params.top_p
    kept = probs * keep
    cumulative = np.cumsum(kept)
    pick = min(int((cumulative < u * cumulative[-1]).sum()), len(probs) - 1)
    return int(order[pick]), set(order[keep].tolist())


@pytest.mark.parametrize("settings", [
    dict(do_sample=False, repetition_penalty=3.0),
    dict(do_sample=True, temperature=0.7, top_p=1.0, top_k=0),
    dict(do_sample=True, temperature=1.0, top_p=0.8, top_k=0),
    dict(do_sample=True, temperature=1.3, top_p=1.0, top_k=5),
    dict(do_sample=True, temperature=0.9, top_p=0.6, top_k=20, repetition_penalty=1.5),
])
def test_every_step_follows_the_sampling_rule(native_sharp, settings):
    params = GenerateParams(max_new_tokens=24, seed=11, **settings)
    ids = native_sharp.encode(PROMPTS[2])
    tokens, logits, _ = run(native_sharp, ids, **dict(settings, max_new_tokens=24, seed=11))
    rng = random.Random(11)
    seen = set(ids)
    changed_by_filter = 0
    for token, step_logits in zip(tokens, logits):
        u = np.float32(rng.random())
        want, support = expected_pick(step_logits, seen, params, float(u))
        assert token == want
        if support is not None:
            assert token in support
            changed_by_filter += int(len(support) < len(step_logits))
        seen.add(token)
    if params.repetition_penalty != 1.0 and not params.do_sample:
        # The penalty must have mattered: without it some step would have taken another token.
        assert any(int(np.argmax(l)) != t for t, l in zip(tokens, logits))
    if params.do_sample and (params.top_k or params.top_p < 1.0):
        assert changed_by_filter > 0


def test_first_token_frequencies_follow_the_filtered_distribution(native_sharp):
    """400 seeded draws of the first token against softmax(logits / T) cut to top-k: a chi-square test."""
    ids = native_sharp.encode(PROMPTS[0])
    params = dict(do_sample=True, temperature=1.5, top_p=1.0, top_k=6, max_new_tokens=1)
    _, logits, _ = run(native_sharp, ids, **dict(params, seed=0))
    order = np.argsort(-logits[0])[:6]
    probs = np.exp((logits[0][order] - logits[0][order][0]) / 1.5)
    probs /= probs.sum()
    counts = dict((int(t), 0) for t in order)
    draws = 400
    for seed in range(draws):
        token = run(native_sharp, ids, record=False, **dict(params, seed=seed))[0][0]
        assert token in counts
        counts[token] += 1
    observed = np.array([counts[int(t)] for t in order], np.float64)
    chi_square = float((((observed - draws * probs) ** 2) / (draws * probs)).sum())
    assert chi_square < 20.5  # 5 degrees of freedom: p = 0.001


def test_seeded_answers_repeat_and_seeds_differ(native):
    ids = native.encode(PROMPTS[1])
    a = run(native, ids, record=False, do_sample=True, top_p=0.9, seed=5, max_new_tokens=20)[0]
    b = run(native, ids, record=False, do_sample=True, top_p=0.9, seed=5, max_new_tokens=20)[0]
    c = run(native, ids, record=False, do_sample=True, top_p=0.9, seed=6, max_new_tokens=20)[0]
    assert a == b and a != c


def test_cancel_stops_within_one_step_and_the_next_answer_is_clean(native):
    ids = native.encode(PROMPTS[0])
    clean = run(native, ids, record=False, max_new_tokens=12, do_sample=False)[0]
    tokens = []
    reason, count = native.decoder.run(ids, GenerateParams(max_new_tokens=50, do_sample=False),
                                       lambda: len(tokens) >= 3, tokens.append)
    assert (reason, count, tokens) == ("cancelled", 3, clean[:3])
    assert native.decoder.run(ids, GenerateParams(), lambda: True, tokens.append) == ("cancelled", 0)
    assert run(native, ids, record=False, max_new_tokens=12, do_sample=False)[0] == clean


def test_answers_stop_at_the_window_and_long_prompts_are_refused(native):
    ids = native.encode("北京 " * 300)[:250] + [native.tokenizer.gmask_id, native.tokenizer.bos_id]
    tokens, _, reason = run(native, ids, record=False, max_new_tokens=50, do_sample=False)
    assert (reason, len(tokens)) == ("length", 256 - 252)
    with pytest.raises(EngineError) as err:
        run(native, native.encode("北京 " * 400), record=False)
    assert err.value.ename == "PromptTooLong"


def test_streams_text_and_reports_usage(native):
    pieces = []
    started = time.time()
    result = native.generate(PROMPTS[0], GenerateParams(max_new_tokens=16, do_sample=False), lambda: False,
                             pieces.append)
    ended = time.time()
    # the engine's own first token, stamped inside the call whether or not it decoded to text
    assert result.first_token_at is not None and started <= result.first_token_at <= ended
    tokens = run(native, native.encode(PROMPTS[0]), record=False, max_new_tokens=16, do_sample=False)[0]
    assert "".join(pieces) == native.tokenizer.decode(tokens).rstrip("\ufffd")
    assert (result.prompt_tokens, result.completion_tokens) == (len(native.encode(PROMPTS[0])), len(tokens))
    info = native.info()
    assert info["engine"] == "native" and info["prefill_buckets"] == [64, 128, 256] and info["seq_length"] == 256


def test_compile_cache_fills_a_versioned_directory(tiny_model_dir, tmp_path, monkeypatch):
    for name in ("MS_COMPILER_CACHE_ENABLE", "MS_COMPILER_CACHE_PATH"):
        monkeypatch.setenv(name, "")  # the engine sets both; put them back for the tests after this one
    engine = NativeEngine(tiny_model_dir, "CPU", 0, None, compile_cache_dir=str(tmp_path))
    engine.load(lambda phase, progress, detail: None)
    found = [os.path.join(d, f) for d, _, files in os.walk(str(tmp_path)) for f in files if f.endswith(".mindir")]
    assert found and all("ms" + ms.__version__ in path for path in found)


@pytest.mark.parametrize("weights", ["tiny", "sharpened"])
def test_logits_and_greedy_answers_match_mindformers(weights, native, native_sharp, tiny_model_dir):
    pytest.importorskip("mindformers.models.glm", reason="comparing with MindFormers needs mindformers 1.3.x")
    from glm_test_models import MindFormersSide

    side = MindFormersSide(tiny_model_dir)
    engine = native if weights == "tiny" else native_sharp
    for prompt in PROMPTS + [LONG_PROMPT]:
        ids = engine.encode(prompt)
        assert ids == side.ids(prompt)
        tokens, logits, _ = run(engine, ids, max_new_tokens=12, do_sample=False)
        want = side.prefill_logits(weights, ids)[-1]
        # MindFormers runs its MLP in float16 even on CPU (see test_numpy_reference.py for the measured gaps).
        assert np.abs(logits[0] - want).max() <= 1e-3 * max(1.0, np.abs(want).max()), prompt
        assert tokens == [t for t in side.greedy(weights, True, ids, 12) if t != engine.tokenizer.eos_id], prompt
