"""The CPU kernels as MindSpore aot ops (ops.Custom): built on first use, None on Ascend and GPU."""
from __future__ import annotations

import sys
from typing import Any, Dict, Optional

from ...base import ProgressReport
from .build import (DECODE_ATTEND_SYMBOL, GELU_SYMBOL, KV_QUANT_SYMBOL, PROMPT_ATTEND_SYMBOL, Q4_SYMBOL, Q8_SYMBOL,
                    SWAP_SYMBOL, SYMBOL, build_kernel, kernel_dir)

# The int8 KV cache's row: a head's codes, then its float32 scale (kernels/kv_cache.c).
KV_SCALE_BYTES = 4


class CpuKernels(object):
    """The aot ops of kernels/*.c for MindSpore's CPU backend (None where not built or not needed)."""

    def __init__(self, linear_f16: Any = None, swap01: Any = None, attend_decode: Any = None,
                 attend_prompt: Any = None, linear_q8: Any = None, linear_q4: Any = None, gelu: Any = None,
                 quantize_kv: Any = None) -> None:
        self.linear_f16 = linear_f16
        self.linear_q8 = linear_q8  # int8 / int4 weights in 32-blocks (--precision int8 | int4)
        self.linear_q4 = linear_q4
        self.swap01 = swap01
        self.attend_decode = attend_decode
        self.attend_prompt = attend_prompt
        self.gelu = gelu
        self.quantize_kv = quantize_kv  # float32 [t, heads, d] -> int8 [t, heads, d + 4]: the int8 KV cache's rows


def cpu_kernels(device_target: str, dtype: str, cache_dir: Optional[str], report: ProgressReport,
                notes: Dict[str, Any]) -> Optional[CpuKernels]:
    """On CPU: `linear_f16` multiplies by float16 weights without a float32 copy (the CPU backend has no float16
    MatMul, so MindSpore would cast every weight on every call), `swap01` replaces Transpose, whose output
    MindSpore's CPU runtime keeps until the graph ends, `attend_decode` is the decode step's attention over the
    cache rows in use, read in their own dtype (the graph's ops would cast and transpose the whole cache every
    token), and `attend_prompt` the prefill's, 8 score rows at a time (the graph's ops leave per-layer buffers
    behind until the graph ends), `linear_q8`/`linear_q4` multiply by int8/int4 weights in 32-blocks with integer
    dot products (--precision int8 | int4), `gelu` is the MLP's GeLU on every thread (MindSpore's calls tanhf one
    element at a time), `quantize_kv` writes keys and values as the int8 KV cache stores them (attend_decode reads
    that cache too). None on Ascend and GPU, which need none of them."""
    if device_target != "CPU":
        return None
    from mindspore import ops

    report("compile", None, "CPU kernels")
    path, how = build_kernel(kernel_dir(cache_dir))
    notes["cpu_kernels"] = how if path else "unavailable: %s" % how
    if path is None:
        sys.stderr.write("glm-chat: CPU kernels unavailable (%s): float16 weights are cast to float32 on every call "
                         "and long prompts need more memory\n" % how)
        return None
    swap = ops.Custom("%s:%s" % (path, SWAP_SYMBOL), out_shape=_swap_shape, out_dtype=_first_dtype, func_type="aot")
    attend, prompt = [ops.Custom("%s:%s" % (path, symbol), out_shape=_attend_shape, out_dtype=_first_dtype,
                                 func_type="aot") for symbol in (DECODE_ATTEND_SYMBOL, PROMPT_ATTEND_SYMBOL)]
    linear = None
    if dtype == "float16":
        linear = ops.Custom("%s:%s" % (path, SYMBOL), out_shape=_linear_shape, out_dtype=_first_dtype,
                            func_type="aot")
    # x float32 [..., k], codes, scales float16 [m, k/32], bias float16 [m][, used int32 [1]] -> float32 [..., m]
    q8, q4 = [ops.Custom("%s:%s" % (path, symbol), out_shape=_quantized_shape, out_dtype=_first_dtype,
                         func_type="aot") for symbol in (Q8_SYMBOL, Q4_SYMBOL)]
    gelu = ops.Custom("%s:%s" % (path, GELU_SYMBOL), out_shape=_same_shape, out_dtype=_first_dtype, func_type="aot")
    quantize_kv = ops.Custom("%s:%s" % (path, KV_QUANT_SYMBOL), out_shape=_kv_rows_shape, out_dtype=_int8,
                             func_type="aot")
    return CpuKernels(linear, swap, attend, prompt, q8, q4, gelu, quantize_kv)


def _linear_shape(x, w, *_rest):  # bias[, used]
    return list(x[:-1]) + [w[0]]


def _quantized_shape(x, codes, *_rest):  # scales, bias[, used]
    return list(x[:-1]) + [codes[0]]


def _attend_shape(q, *_rest):
    return [q[0], q[1] * q[2]]


def _same_shape(x, *_rest):  # [used]
    return list(x)


def _kv_rows_shape(x):
    return list(x[:-1]) + [x[-1] + KV_SCALE_BYTES]


def _int8(_x):
    from mindspore import dtype as mstype

    return mstype.int8


def _swap_shape(x):
    return [x[1], x[0]] + list(x[2:])


def _first_dtype(x, *_rest):
    """Each kernel gives the dtype of its first input (float32 for the linear and the attention, x's own for the
    swap)."""
    return x
