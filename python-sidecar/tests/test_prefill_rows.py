"""What a padded prompt leaves in memory: only its own KV cache rows (the padding writes the spare row), and an MLP run
in row chunks that gives the logits of one run over all rows."""
from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the native engine tests need mindspore (npm test installs it)")

from glm_sidecar.engine.base import GenerateParams  # noqa: E402
from glm_sidecar.engine.native import network  # noqa: E402
from glm_sidecar.engine.native_engine import NativeEngine  # noqa: E402


def load_engine(model_dir):
    engine = NativeEngine(model_dir, "CPU", 0, None)
    engine.load(lambda phase, progress, detail: None)
    return engine


def prefill_logits(engine, ids, bucket):
    """The first step's float32 logits and the greedy answer of `ids` run in `bucket`."""
    tokens = []
    engine.decoder.record_logits = True
    engine.decoder.run(ids, GenerateParams(max_new_tokens=6, do_sample=False), lambda: False, tokens.append,
                       bucket=bucket)
    engine.decoder.record_logits = False
    return np.asarray(engine.decoder.last_logits[0]), tokens


def test_a_prompt_writes_its_own_cache_rows_and_its_padding_only_the_spare_row(tiny_model_dir):
    engine = load_engine(tiny_model_dir)  # its own: the load's warm-up wrote a few rows, nothing else has
    seq_length = engine.seq_length
    ids = engine.tokenizer.prompt_ids("北京 上海 广州 深圳 天津")
    n = len(ids)
    assert 12 <= n < 64, n
    engine.decoder.run(ids, GenerateParams(max_new_tokens=1, do_sample=False), lambda: False, lambda _t: None,
                       bucket=128)
    for layer in engine.decoder.prefill_step.network.layers:
        for cache in (layer.k_cache.asnumpy(), layer.v_cache.asnumpy()):
            assert cache.shape[0] == seq_length + 1
            assert all(cache[row].any() for row in range(n))  # the prompt's keys and values
            assert not cache[n:seq_length].any()  # 128 - n padding rows went elsewhere; those pages stay untouched
            assert cache[seq_length].any()  # the spare row, which no attention reads


def test_an_mlp_in_row_chunks_gives_the_logits_and_answer_of_one_pass(tiny_model_dir, monkeypatch):
    whole = load_engine(tiny_model_dir)
    monkeypatch.setattr(network, "MLP_CHUNK_ROWS", 48)  # 128 rows: chunks of 48, 48 and 32; 256 rows: 6 chunks
    chunked = load_engine(tiny_model_dir)
    assert chunked.decoder.prefill_step.network.layers[0].mlp_chunk == 48
    ids = whole.tokenizer.prompt_ids("".join("[Round %d]\n问：北京的天气怎么样？\n答：今天北京晴天，气温二十度。\n" % i
                                             for i in range(2)) + "[Round 2]\n问：明天呢？\n答：")
    assert 96 < len(ids) < 128, len(ids)  # the real rows end inside the 128 bucket's last chunk, padding after them
    for bucket in (128, 256):
        want, want_tokens = prefill_logits(whole, ids, bucket)
        got, got_tokens = prefill_logits(chunked, ids, bucket)
        assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max()), bucket
        assert got_tokens == want_tokens, bucket
