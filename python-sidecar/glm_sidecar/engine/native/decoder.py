"""The token loop: picks the prompt's bucket, runs one prefill, then one decode step per token until a stop."""
from __future__ import annotations

import random
from typing import Callable, List, Optional, Tuple

import numpy as np

from ..base import EngineError, GenerateParams
from .sampler import FLOAT_COUNT, DO_SAMPLE, REPETITION_PENALTY, TEMPERATURE, TOP_K, TOP_P, UNIFORM


def glm_positions(length: int) -> Tuple[List[int], List[int]]:
    """Position and block-position ids of a prompt ending in [gMASK] <sop>: text positions count up, then every
    generated token keeps the [gMASK] position and counts its own block position from 1 at <sop>."""
    context = length - 1  # the index of <sop>
    mask_position = length - 2
    positions = [i if i < context else mask_position for i in range(length)]
    blocks = [0 if i < context else i - context + 1 for i in range(length)]
    return positions, blocks


def pick_bucket(buckets: List[int], length: int) -> int:
    for size in buckets:
        if size >= length:
            return size
    raise ValueError("no bucket holds %d tokens" % length)


class GlmDecoder(object):
    def __init__(self, prefill_step, decode_step, buckets: List[int], seq_length: int, eos_id: int) -> None:
        self.prefill_step = prefill_step
        self.decode_step = decode_step
        self.buckets = buckets
        self.seq_length = seq_length
        self.eos_id = eos_id
        self.last_logits = []  # type: List[np.ndarray]   (kept only when record_logits is set; tests use it)
        self.record_logits = False

    def _floats(self, params: GenerateParams, rng: random.Random) -> np.ndarray:
        floats = np.zeros((FLOAT_COUNT,), np.float32)
        floats[TEMPERATURE] = params.temperature
        floats[TOP_P] = params.top_p
        floats[TOP_K] = params.top_k
        floats[REPETITION_PENALTY] = params.repetition_penalty
        floats[UNIFORM] = rng.random()
        floats[DO_SAMPLE] = 1.0 if params.do_sample else 0.0
        return floats

    def prefill(self, ids: List[int], floats: np.ndarray, bucket: Optional[int] = None):
        from mindspore import Tensor

        length = len(ids)
        size = bucket or pick_bucket(self.buckets, length)
        positions, blocks = glm_positions(length)
        pad = size - length
        padded = np.array(ids + [ids[-1]] * pad, np.int32)  # padding repeats <sop>: already "seen", never attended
        token, logits = self.prefill_step(Tensor(padded), Tensor(np.array(positions + [0] * pad, np.int32)),
                                          Tensor(np.array(blocks + [0] * pad, np.int32)),
                                          Tensor(np.array([length - 1, length - 1], np.int32)), Tensor(floats))
        return token, logits

    def decode(self, token: int, row: int, length: int, floats: np.ndarray):
        from mindspore import Tensor

        context = length - 1
        ints = np.array([token, length - 2, row - context + 1, row], np.int32)
        return self.decode_step(Tensor(ints), Tensor(floats))

    def run(self, ids: List[int], params: GenerateParams, should_stop: Callable[[], bool],
            on_token: Callable[[int], None], bucket: Optional[int] = None) -> Tuple[str, int]:
        """Returns (done reason, tokens generated); on_token gets every generated id but <eop>."""
        length = len(ids)
        if length >= self.seq_length:
            raise EngineError("PromptTooLong", "the prompt is %d tokens; this model holds %d tokens in all "
                              "(clear the history, or start with a larger --seq-length)" % (length, self.seq_length))
        rng = random.Random(params.seed if params.seed is not None else random.randrange(2 ** 31))
        budget = min(params.max_new_tokens, self.seq_length - length)
        self.last_logits = []
        if should_stop():
            return "cancelled", 0
        token, logits = self.prefill(ids, self._floats(params, rng), bucket)
        count = 0
        while True:
            if self.record_logits:
                self.last_logits.append(logits.asnumpy())
            value = int(token.asnumpy()[0])
            if value == self.eos_id:
                return "stop", count
            count += 1
            on_token(value)
            if count >= budget:
                return "length", count
            if should_stop():
                return "cancelled", count
            token, logits = self.decode(value, length + count - 1, length, self._floats(params, rng))
