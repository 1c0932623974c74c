"""GLM-6B's shape, read from the checkpoint's own tensors, with glm_config.json for what tensors cannot tell."""
from __future__ import annotations

from typing import Any, Dict, List

from ..base import EngineError

EMBEDDING = "transformer.word_embeddings.embedding_table"
LAYER_PARAMS = (
    "input_layernorm.gamma", "input_layernorm.beta",
    "attention.query_key_value.weight", "attention.query_key_value.bias",
    "attention.dense.weight", "attention.dense.bias",
    "post_attention_layernorm.gamma", "post_attention_layernorm.beta",
    "mlp.dense_h_to_4h.weight", "mlp.dense_h_to_4h.bias",
    "mlp.dense_4h_to_h.weight", "mlp.dense_4h_to_h.bias",
)
FINAL_PARAMS = ("transformer.final_layernorm.gamma", "transformer.final_layernorm.beta", "lm_head.weight")
DEFAULT_NUM_HEADS = 32  # GLM-6B; a tensor's shape does not say how hidden splits into heads


class GlmShape(object):
    def __init__(self, num_layers: int, hidden_size: int, num_heads: int, inner_hidden_size: int,
                 vocab_size: int, seq_length: int, layernorm_epsilon: float = 1e-5) -> None:
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.inner_hidden_size = inner_hidden_size
        self.vocab_size = vocab_size
        self.seq_length = seq_length
        self.layernorm_epsilon = layernorm_epsilon

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


class _ShapeOnly(object):
    def __init__(self, value: Any) -> None:
        self.shape = tuple(value) if isinstance(value, (tuple, list)) else tuple(value.shape)


def layer_param(index: int, name: str) -> str:
    return "transformer.layers.%d.%s" % (index, name)


def shape_from_checkpoint(tensors: Dict[str, Any], overrides: Dict[str, Any], seq_length: int,
                          path: str) -> GlmShape:
    """Checks every parameter GLM-6B needs is there with a consistent shape; the error names the first that is not.
    `tensors` maps names to shapes (tuples) or to arrays."""
    tensors = dict((name, _ShapeOnly(value)) for name, value in tensors.items())
    if EMBEDDING not in tensors:
        raise EngineError("CheckpointMismatch", "%s has no %s: it is not a GLM-6B checkpoint" % (path, EMBEDDING))
    vocab, hidden = tensors[EMBEDDING].shape
    num_layers = 0
    while layer_param(num_layers, LAYER_PARAMS[0]) in tensors:
        num_layers += 1
    inner = tensors[layer_param(0, "mlp.dense_h_to_4h.weight")].shape[0] if num_layers else 0
    num_heads = int(overrides.get("num_heads") or DEFAULT_NUM_HEADS)
    if num_layers == 0 or hidden % num_heads or (hidden // num_heads) % 4:
        raise EngineError("CheckpointMismatch", "%s: %d layers of width %d do not make a GLM with %d heads"
                          % (path, num_layers, hidden, num_heads))
    expected = {}  # type: Dict[str, tuple]
    for i in range(num_layers):
        for name, shape in zip(LAYER_PARAMS, ((hidden,), (hidden,), (3 * hidden, hidden), (3 * hidden,),
                                              (hidden, hidden), (hidden,), (hidden,), (hidden,),
                                              (inner, hidden), (inner,), (hidden, inner), (hidden,))):
            expected[layer_param(i, name)] = shape
    expected.update({FINAL_PARAMS[0]: (hidden,), FINAL_PARAMS[1]: (hidden,), FINAL_PARAMS[2]: (vocab, hidden)})
    missing = [name for name in expected if name not in tensors]
    wrong = [name for name in expected if name in tensors and tuple(tensors[name].shape) != expected[name]]
    if missing or wrong:
        first = missing[0] if missing else "%s %s (expected %s)" % (wrong[0], tuple(tensors[wrong[0]].shape),
                                                                    expected[wrong[0]])
        raise EngineError("CheckpointMismatch", "%s: %d parameters missing and %d misshapen, e.g. %s"
                          % (path, len(missing), len(wrong), first))
    return GlmShape(num_layers, hidden, num_heads, inner, vocab, seq_length,
                    float(overrides.get("layernorm_epsilon", 1e-5)))


def prefill_buckets(seq_length: int, smallest: int = 64) -> List[int]:
    """Static prompt lengths compiled once each: powers of two from `smallest`, and seq_length itself last."""
    buckets = []
    size = smallest
    while size < seq_length:
        buckets.append(size)
        size *= 2
    buckets.append(seq_length)
    return buckets
