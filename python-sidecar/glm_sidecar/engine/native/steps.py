"""The native engine's two graphs over a GlmNetwork: PrefillStep (one per prompt bucket: the prompt attends within
itself and fills its cache rows) and DecodeStep (one token attends to the cache rows before it)."""
from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype

from .network import GlmNetwork


class PrefillStep(nn.Cell):
    """(ids, positions, block positions) [bucket]; ints [context length, last valid index]; sampling floats.

    Memory: MindSpore's CPU runtime keeps the buffers of implicitly broadcasting ops, Transposes and the casts it
    inserts for float16 until a graph ends (docs/native-engine.md); the layers avoid all three. What a bucket's
    graph still holds grows with its length, so buckets compile on first use and only a prompt that needs a long
    bucket pays for it."""

    def __init__(self, network: GlmNetwork) -> None:
        super(PrefillStep, self).__init__(auto_prefix=False)
        self.network = network
        self.spare_row = network.shape.seq_length  # an int the graph reads (MindSpore 2.0 cannot read GlmShape)

    def construct(self, ids, positions, blocks, ints, floats):
        length = ids.shape[0]
        rows = ops.arange(0, length, dtype=mstype.int32)
        # GLM's mask: the context (before <sop>) is seen by every token, the rest causally.
        visible = ops.logical_or(rows.reshape((1, -1)) < ints[0], rows.reshape((1, -1)) <= rows.reshape((-1, 1)))
        x, rope = self.network.embed(ids, positions, blocks)
        used = ints[1:2] + 1  # the real tokens: the last valid index + 1
        # The padding's keys and values all go to the cache's spare row (seq_length), never to rows a later turn reads.
        padding = ops.cast(rows >= used, mstype.int32)
        cache_rows = rows + padding * (self.spare_row - rows)
        for layer in self.network.layers:
            x = layer.prefill(x, rope, visible, cache_rows, ints[0:1], used)
        logits = self.network.logits(ops.gather(x, ints[1:2], 0))
        seen = self.network.sampler.reset_seen(ids)
        return ops.depend(self.network.sampler(logits, floats), seen), logits


class DecodeStep(nn.Cell):
    """ints [token, position, block position, cache row]; sampling floats -> (next token, logits)."""

    def __init__(self, network: GlmNetwork) -> None:
        super(DecodeStep, self).__init__(auto_prefix=False)
        self.network = network
        self.rows = Tensor(np.arange(network.shape.seq_length + 1, dtype=np.int32))  # the caches' rows, spare included

    def construct(self, ints, floats):
        x, rope = self.network.embed(ints[0:1], ints[1:2], ints[2:3])
        visible = (self.rows <= ints[3]).reshape((1, -1))
        for layer in self.network.layers:
            x = layer.decode(x, rope, visible, ints[3:4])
        logits = self.network.logits(x)
        return self.network.sampler(logits, floats), logits
