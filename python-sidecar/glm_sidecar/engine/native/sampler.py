"""Sampling inside the graph: repetition penalty, temperature, top-k, top-p and the draw; one token id leaves it.

The only randomness is `u`, a uniform number the host draws from a seeded generator each step, so a seed
reproduces an answer exactly and no vocabulary-sized array crosses between host and device.
"""
from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore import dtype as mstype

# Layout of the floats every step receives.
TEMPERATURE, TOP_P, TOP_K, REPETITION_PENALTY, UNIFORM, DO_SAMPLE = range(6)
FLOAT_COUNT = 6


class Sampler(nn.Cell):
    def __init__(self, vocab_size: int) -> None:
        super(Sampler, self).__init__()
        self.vocab_size = vocab_size
        # 1 for every token of the prompt and of the answer so far: what the repetition penalty punishes.
        self.seen = Parameter(Tensor(np.zeros((vocab_size,), np.float32)), name="sampler.seen", requires_grad=False)
        self.ranks = Tensor(np.arange(vocab_size, dtype=np.float32))
        self.ones = Tensor(np.ones((1,), np.float32))
        self.write = ops.ScatterUpdate()
        self.argmax = ops.Argmax(output_type=mstype.int32)

    def reset_seen(self, ids):
        cleared = ops.assign(self.seen, ops.zeros_like(self.seen))
        return self.write(ops.depend(self.seen, cleared), ids, ops.ones(ids.shape, mstype.float32))

    def construct(self, logits, floats):
        penalty = floats[REPETITION_PENALTY]
        penalized = ops.select(logits > 0, logits / penalty, logits * penalty)
        logits = ops.select(self.seen > 0.5, penalized, logits)
        greedy = self.argmax(logits)
        scaled = logits / ops.maximum(floats[TEMPERATURE], 1e-6)
        ordered, order = ops.sort(scaled, -1, True)
        probs = ops.softmax(ordered, -1)
        top_k = floats[TOP_K]
        in_top_k = ops.logical_or(top_k < 0.5, self.ranks < top_k)
        # Nucleus: keep a token while the probability before it is still below top_p (the first always stays).
        in_top_p = ops.logical_or(floats[TOP_P] >= 1.0, (ops.cumsum(probs, 0) - probs) < floats[TOP_P])
        kept = probs * ops.cast(ops.logical_and(in_top_k, in_top_p), mstype.float32)
        cumulative = ops.cumsum(kept, 0)
        pick = ops.reduce_sum(ops.cast(cumulative < floats[UNIFORM] * cumulative[-1], mstype.int32))
        sampled = ops.gather(order, ops.minimum(pick, self.vocab_size - 1).reshape((1,)), 0).reshape(())
        token = ops.select(floats[DO_SAMPLE] > 0.5, sampled, greedy).reshape((1,))
        return ops.depend(token, self.write(self.seen, token, self.ones))
