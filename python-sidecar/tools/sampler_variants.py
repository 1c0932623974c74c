"""Two samplers to hold the engine's against: the float32 sort of the whole vocabulary it replaced, and the engine's
own with its kept set exposed (test_sampler.py compares them; scripts/bench_sampler.py times them)."""
from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype

from glm_sidecar.engine.native.sampler import (FLOAT_COUNT, DO_SAMPLE, REPETITION_PENALTY, TEMPERATURE, TOP_K,
                                               TOP_P, UNIFORM, Sampler)


class SortSampler(nn.Cell):
    """The sampler as it was before: a float32 sort of the whole vocabulary (no repetition penalty here)."""

    def __init__(self, vocab_size):
        super(SortSampler, self).__init__()
        self.ranks = Tensor(np.arange(vocab_size, dtype=np.float32))

    def construct(self, logits, floats):
        ordered, order = ops.sort(logits / ops.maximum(floats[TEMPERATURE], 1e-6), -1, True)
        probs = ops.softmax(ordered, -1)
        in_top_k = ops.logical_or(floats[TOP_K] < 0.5, self.ranks < floats[TOP_K])
        in_top_p = ops.logical_or(floats[TOP_P] >= 1.0, (ops.cumsum(probs, 0) - probs) < floats[TOP_P])
        kept = probs * ops.cast(ops.logical_and(in_top_k, in_top_p), mstype.float32)
        cumulative = ops.cumsum(kept, 0)
        pick = ops.reduce_sum(ops.cast(cumulative < floats[UNIFORM] * cumulative[-1], mstype.int32))
        return ops.gather(order, pick.reshape((1,)), 0), order, kept


class NewSampler(nn.Cell):
    """The engine's Sampler with its kept set exposed."""

    def __init__(self, vocab_size, head):
        super(NewSampler, self).__init__()
        self.sampler = Sampler(vocab_size, head)

    def construct(self, logits, floats):
        ids, _, kept, _ = self.sampler.kept(self.sampler.penalized(logits, floats), floats)
        return self.sampler(logits, floats), ids, kept


def floats_for(temperature, top_p, top_k, u):
    floats = np.zeros((FLOAT_COUNT,), np.float32)
    floats[[TEMPERATURE, TOP_P, TOP_K, REPETITION_PENALTY, UNIFORM, DO_SAMPLE]] = [temperature, top_p, top_k, 1.0, u, 1]
    return Tensor(floats)
