"""The network's Parameters: each wraps its weight source's own array (read into memory, or a view of the
quantized copy's map) without a copy; int8/int4 matrices are two Parameters, codes and scales."""
from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor


def wrap_array(array, name: str) -> Parameter:
    """Wraps an array (the checkpoint reader's own memory, already in the compute dtype, or a view of the quantized
    copy's private map) without a copy, so each weight exists once. `Parameter(Tensor.from_numpy(a))` copies `a`
    (MindSpore 2.7 and 2.10: a transient of the tensor's size, 1.07 GB for GLM-6B's embedding); `set_data` on a
    one-element Parameter shares the array's memory."""
    array = np.ascontiguousarray(array)
    param = Parameter(Tensor(np.zeros((1,) * max(array.ndim, 1), array.dtype)), name=name, requires_grad=False)
    param.set_data(Tensor.from_numpy(array), slice_shape=True)
    return param


def quantized_kernel(kernels, weights):
    """The q8 or q4 aot op for a source of int8/int4 weights; None for float weights (or off CPU)."""
    precision = getattr(weights, "precision", None)
    if kernels is None or precision not in ("int8", "int4"):
        return None
    return kernels.linear_q8 if precision == "int8" else kernels.linear_q4


def quantized_kind(weights):
    """How a source's quantized matrices are stored: "q8" (int8), "q4" (int4), or None for float weights."""
    return {"int8": "q8", "int4": "q4"}.get(getattr(weights, "precision", None) or "")


def cache_zeros(shape, dtype, name: str) -> Parameter:
    """A KV cache of zeros whose pages join the RSS only as rows are written: a chat's memory grows with it (a
    prompt's bucket of rows at a time, then a row per token), as ollama's and llama.cpp's do, instead of GLM-6B's
    0.94 GB from the start (int4's whole model is 3.5 GB). What fits is decided on the whole cache: doctor,
    `--precision auto` and the memory estimate count every row, so a chat that started keeps fitting."""
    return wrap_array(np.zeros(shape, dtype), name)


class ReadOnlySource(object):
    """A bare `read(name, dtype)` (a checkpoint reader's) as the weight source GlmNetwork takes: floats only."""

    def __init__(self, read) -> None:
        self.read = read

    def matrix(self, name: str, dtype):
        return ("float", self.read(name, dtype))


def matrix_params(owner, attribute: str, stored, name: str):
    """Sets owner.<attribute> (float weights, or int8/int4 codes) and owner.<scales> (None for float weights),
    each wrapping the source's own array. Returns the stored kind ("float", "q8" or "q4")."""
    scales = attribute.replace("_weight", "_scales") if attribute.endswith("_weight") else attribute + "_scales"
    setattr(owner, attribute, wrap_array(stored[1], name))
    quantized = stored[0] != "float"
    setattr(owner, scales, wrap_array(stored[2], name.replace(".weight", "") + ".scales") if quantized else None)
    return stored[0]
