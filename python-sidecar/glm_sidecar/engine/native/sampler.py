"""Sampling inside the graph: repetition penalty, temperature, top-k, top-p and the draw; one token id leaves it.

The only randomness is `u`, a uniform number the host draws from a seeded generator each step, so a seed
reproduces an answer exactly and no vocabulary-sized array crosses between host and device.

Nothing sorts the float32 vocabulary (MindSpore documents that Sort in float32 "may cause loss of accuracy" on
Ascend): a float16 TopK picks HEAD candidates, their exact float32 order comes from pairwise comparisons (ties
go to the lower token id, as a stable sort), and probabilities are float32 over the whole vocabulary. The
candidates whose float16 key is above the last one's are provably the vocabulary's true top; the draw keeps only
those, so a nucleus that would reach past them (top_k 0 with a very flat distribution) is cut there.
"""
from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore import dtype as mstype

# Layout of the floats every step receives.
TEMPERATURE, TOP_P, TOP_K, REPETITION_PENALTY, UNIFORM, DO_SAMPLE = range(6)
FLOAT_COUNT = 6
# Candidates ranked exactly per step: a HEAD x HEAD comparison (262,144 elements, ~1 MB); scripts/bench_sampler.py.
HEAD = 512


class Sampler(nn.Cell):
    def __init__(self, vocab_size: int, head: int = HEAD) -> None:
        super(Sampler, self).__init__()
        self.vocab_size = vocab_size
        self.head = min(head, vocab_size)
        self.whole = self.head == vocab_size  # every token is a candidate: all of them are trusted
        # 1 for every token of the prompt and of the answer so far: what the repetition penalty punishes.
        self.seen = Parameter(Tensor(np.zeros((vocab_size,), np.float32)), name="sampler.seen", requires_grad=False)
        self.ones = Tensor(np.ones((1,), np.float32))
        self.write = ops.ScatterUpdate()
        self.argmax = ops.Argmax(output_type=mstype.int32)
        self.top = ops.TopK(sorted=True)
        self.max = ops.ReduceMax()
        self.sum = ops.ReduceSum()

    def reset_seen(self, ids):
        cleared = ops.assign(self.seen, ops.zeros_like(self.seen))
        return self.write(ops.depend(self.seen, cleared), ids, ops.ones(ids.shape, mstype.float32))

    def penalized(self, logits, floats):
        penalty = floats[REPETITION_PENALTY]
        penalized = ops.select(logits > 0, logits / penalty, logits * penalty)
        return ops.select(self.seen > 0.5, penalized, logits)

    def kept(self, logits, floats):
        """(candidate ids [HEAD], their exact ranks [HEAD] float32, kept probability [HEAD] float32) of penalized
        logits: probabilities over the whole vocabulary, zero where top-k, top-p or the trusted head drop them."""
        scaled = logits / ops.maximum(floats[TEMPERATURE], 1e-6)
        top = self.max(scaled)
        keys, ids = self.top(ops.cast(scaled - top, mstype.float16), self.head)  # monotone: order-safe candidates
        values = ops.gather(scaled, ids, 0)
        row, col = values.reshape((-1, 1)), values.reshape((1, -1))
        ahead = ops.logical_or(col > row, ops.logical_and(col == row, ids.reshape((1, -1)) < ids.reshape((-1, 1))))
        ranks = self.sum(ops.cast(ahead, mstype.float32), 1)  # [i]: how many candidates come before i
        probs = ops.exp(values - top) / self.sum(ops.exp(scaled - top))
        before = ops.cast(ranks.reshape((1, -1)) < ranks.reshape((-1, 1)), mstype.float32)
        mass_before = self.sum(probs.reshape((1, -1)) * before, 1)
        top_k, top_p = floats[TOP_K], floats[TOP_P]
        in_top_k = ops.logical_or(top_k < 0.5, ranks < top_k)
        # Nucleus: keep a token while the probability before it is still below top_p (the first always stays).
        in_top_p = ops.logical_or(top_p >= 1.0, mass_before < top_p)
        keep = ops.logical_and(in_top_k, in_top_p)
        if not self.whole:
            keep = ops.logical_and(keep, keys > keys[self.head - 1])
        return ids, ranks, probs * ops.cast(keep, mstype.float32), before

    def construct(self, logits, floats):
        logits = self.penalized(logits, floats)
        greedy = self.argmax(logits)
        ids, ranks, kept, before = self.kept(logits, floats)
        # The inverse-CDF draw in rank order: the first rank whose running kept mass reaches u * all kept mass.
        through = self.sum(kept.reshape((1, -1)) * before, 1) + kept
        pick = ops.minimum(self.sum(ops.cast(through < floats[UNIFORM] * self.sum(kept), mstype.float32)),
                           float(self.head - 1))
        slot = self.argmax(ops.cast(ranks == pick, mstype.float32))
        sampled = ops.gather(ids, slot.reshape((1,)), 0).reshape(())
        token = ops.select(floats[DO_SAMPLE] > 0.5, sampled, greedy).reshape((1,))
        return ops.depend(token, self.write(self.seen, token, self.ones))
