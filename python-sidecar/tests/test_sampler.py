"""The Ascend-safe sampler alone: on logits with near-ties it keeps and draws what the float32-sort sampler did."""
from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the sampler tests need mindspore (npm test installs it)")
from mindspore import Tensor  # noqa: E402

from glm_sidecar.engine.base import GenerateParams  # noqa: E402
from test_native_engine import expected_pick  # noqa: E402
from tools.sampler_variants import NewSampler, SortSampler, floats_for  # noqa: E402

VOCAB = 832  # the tiny model's
HEAD = 64  # small enough that the bounded head, not the whole vocabulary, is what these tests exercise


@pytest.fixture(scope="module")
def samplers():
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    return SortSampler(VOCAB), NewSampler(VOCAB, HEAD)


def near_tie_logits(seed):
    """Random logits with runs of values one float32 step apart (equal in float16) at the top, around the top-k
    and top-p cut-offs used below and at the head's edge; run members are spread over the vocabulary."""
    rng = np.random.RandomState(seed)
    logits = (rng.standard_normal(VOCAB) * 2.0).astype(np.float32)
    order = np.argsort(-logits, kind="stable")
    for rank in (0, 3, 9, 20, HEAD - 4):
        base = logits[order[rank]]
        members = rng.choice(VOCAB, 4, replace=False)
        value = base
        for token in members:
            logits[token] = value
            value = np.nextafter(value, np.float32(-np.inf), dtype=np.float32)
    assert len(set(np.float16(logits).tolist())) < len(set(logits.tolist()))  # ties in float16 only
    return logits


def kept_set(ids, probs):
    return set(int(t) for t, p in zip(ids, probs) if p > 0)


SETTINGS = [(1.0, 1.0, 10), (0.7, 0.6, 0), (1.3, 0.9, 21), (1.0, 0.95, 40), (0.9, 1.0, 4)]


@pytest.mark.parametrize("temperature,top_p,top_k", SETTINGS)
def test_near_ties_keep_and_draw_what_the_float32_sort_did(samplers, temperature, top_p, top_k):
    old, new = samplers
    draws = 0
    for seed in range(3):
        logits = Tensor(near_tie_logits(seed))
        for u in np.linspace(0.0, 0.999, 40, dtype=np.float32):
            floats = floats_for(temperature, top_p, top_k, u)
            old_token, order, old_kept = old(logits, floats)
            token, ids, kept = new(logits, floats)
            assert kept_set(ids.asnumpy(), kept.asnumpy()) == kept_set(order.asnumpy(), old_kept.asnumpy())
            assert int(token.asnumpy()[0]) == int(old_token.asnumpy()[0])
            np.testing.assert_allclose(np.sort(kept.asnumpy()[kept.asnumpy() > 0]),
                                       np.sort(old_kept.asnumpy()[old_kept.asnumpy() > 0]), rtol=1e-5)
            draws += 1
    assert draws == 120


def test_exact_ties_go_to_the_lower_token_id_as_the_sampling_rule_says(samplers):
    _, new = samplers
    logits = np.full((VOCAB,), -3.0, np.float32)
    logits[[700, 5, 300, 42]] = 2.0  # four exact ties at the top
    logits[[11, 12]] = 1.5
    params = GenerateParams(do_sample=True, temperature=1.0, top_p=0.5, top_k=3)
    for u in np.linspace(0.0, 0.999, 25, dtype=np.float32):
        token, ids, kept = new(Tensor(logits), floats_for(1.0, 0.5, 3, u))
        want, support = expected_pick(logits, set(), params, float(u))
        assert int(token.asnumpy()[0]) == want
        assert kept_set(ids.asnumpy(), kept.asnumpy()) == support == {5, 42, 300}  # top-k 3 cuts the tie: 700 goes


def test_a_nucleus_reaching_past_the_head_is_cut_to_the_vocabularys_true_top(samplers):
    """top_k 0, top_p 1 on flat logits: every kept token is among the true top HEAD, and draws that land inside
    the head are the sampling rule's."""
    _, new = samplers
    logits = near_tie_logits(7) * np.float32(0.01)
    true_top = set(np.argsort(-logits, kind="stable")[:HEAD].tolist())
    params = GenerateParams(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
    for u in np.linspace(0.0, 0.05, 10, dtype=np.float32):  # the head holds ~8% of this flat distribution
        token, ids, kept = new(Tensor(logits), floats_for(1.0, 1.0, 0, u))
        support = kept_set(ids.asnumpy(), kept.asnumpy())
        assert HEAD - 8 <= len(support) <= HEAD and support <= true_top
        want, _ = expected_pick(logits, set(), params, float(u * kept.asnumpy().sum()))
        assert int(token.asnumpy()[0]) == want
