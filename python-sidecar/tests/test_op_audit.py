"""Op audit: the compiled prefill, decode and sampler graphs (float16 weights, and int8/int4 codes decoded in the graph)
use only ops MindSpore documents for Ascend and GPU, in dtypes and shapes its docs do not warn about; the audit itself
catches a float32 Sort and a Python fallback."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the op audit needs mindspore (npm test installs it)")
from mindspore import Tensor, nn, ops  # noqa: E402

from tools.op_audit import review  # noqa: E402
from tools.op_graph_dump import graph_ops, parse_ir  # noqa: E402

SIDECAR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def report(tiny_model_dir):
    """The audit in its own process (the IR dump is a process-wide MindSpore setting), of float16, int8 and int4."""
    done = subprocess.run([sys.executable, "-m", "tools.op_audit", tiny_model_dir, "--json"],
                          cwd=SIDECAR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=600)
    assert done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout), done.returncode


def test_every_op_of_the_device_graphs_is_documented_for_ascend_and_gpu_and_used_as_documented(report):
    audit, returncode = report
    assert audit["backend_errors"] == {}
    failing = dict((op, f["problems"] + f["unreviewed_notes"]) for op, f in audit["ops"].items()
                   if f["problems"] or f["unreviewed_notes"])
    assert failing == {} and returncode == 0
    for op, facts in audit["ops"].items():
        assert facts["advisories"] or {"Ascend", "GPU"} <= set(facts["platforms"]), op


def test_the_graphs_are_the_device_ones_and_the_sampler_sorts_nothing(report):
    ops_used = report[0]["ops"]
    sampler_ops = set(op for op, f in ops_used.items() if "sampler" in f["graphs"])
    assert {"TopK", "Argmax", "ScatterUpdate", "Exp"} <= sampler_ops
    assert "Sort" not in ops_used and "Custom" not in ops_used  # no CPU-only aot kernel in an Ascend/GPU build
    assert set(i.split("[")[0] for i in ops_used["TopK"]["inputs"]) == {"Float16"}
    assert {"prefill", "decode"} <= set(ops_used["MatMul"]["graphs"])
    assert any(i.startswith("Float16") for i in ops_used["MatMul"]["inputs"])  # weights as a device holds them


def test_int8_and_int4_graphs_decode_their_codes_to_float16_before_each_matmul(report):
    """The quantized graphs are in the audit; their MatMuls take float16 only (decoded weights, no integer matmul)
    and the codes reach the graph as Int8 (q8) and UInt8 (q4) inputs of a Cast; int4 unpacks nibbles with Floor."""
    audit = report[0]
    assert audit["precisions"] == ["float16", "int8", "int4"]
    ops_used = audit["ops"]
    quantized = set("%s %s" % (p, g) for p in ("int8", "int4") for g in ("prefill", "decode"))
    assert quantized <= set(ops_used["MatMul"]["graphs"])
    assert set(i.split("[")[0] for i in ops_used["MatMul"]["inputs"]) == {"Float16"}  # every weight, decoded or not
    cast_inputs = set(i.split("[")[0] for i in ops_used["Cast"]["inputs"])
    assert {"Int8", "UInt8"} <= cast_inputs
    assert set(ops_used["Floor"]["graphs"]) == {"int4 prefill", "int4 decode"}


def test_glm_6b_matmul_sizes_are_multiples_of_16_as_ascend_wants():
    """The tiny model's odd sizes only raise advisories; GLM-6B's own (hidden, heads x head_dim, inner, qkv,
    vocabulary, and the int8/int4 LM head's row chunks) are all multiples of 16, which MatMul's Ascend note asks for."""
    from glm_sidecar.engine.native.dequant import lm_head_chunks
    from glm_sidecar.engine.native.model_config import GlmShape

    chunks = [end - start for start, end in lm_head_chunks(GlmShape(28, 4096, 32, 16384, 130528, 2048))]
    assert sorted(set(chunks)) == [16288, 16320]
    assert all(n % 16 == 0 for n in [4096, 32 * 128, 16384, 3 * 4096, 130528, 128] + chunks)


class FloatSort(nn.Cell):
    def construct(self, x):
        values, order = ops.sort(x, -1, True)
        return values, order


def test_the_audit_fails_a_float32_sort_read_from_a_compiled_graph(tmp_path):
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    nodes, error = graph_ops(ms, FloatSort(), (Tensor(np.zeros((16,), np.float32)),), str(tmp_path))
    assert error is None
    sorts = [n for n in nodes if n["op"] == "Sort"]
    assert sorts and sorts[0]["inputs"][0].startswith("Float32")
    assert review("Sort", ["If use float32, it may cause loss of accuracy."], sorts)["problems"]


def test_reviews_flag_python_fallbacks_unsorted_topk_and_unread_notes():
    fallback = review("PyExecute", [], [{"op": "PyExecute", "inputs": [], "args": ""}])
    assert fallback["problems"]
    unsorted = review("TopK", ["If sorted is set to False, it will use the aicpu operator."],
                      [{"op": "TopK", "inputs": ["Float16[8]"], "sorted": False, "args": ""}])
    assert unsorted["problems"]
    assert review("Exp", ["On Ascend, a brand new warning."], [])["unreviewed"]
    slow = review("MatMul", ["If N * M cannot be divided by 16, the performance will be poor in ascend environment."],
                  [{"op": "MatMul", "inputs": ["Float16[1,170]", "Float16[64,170]"], "args": ""}])
    assert slow["advisories"] and not slow["problems"]


def test_both_ir_formats_parse():
    """MindSpore 2.0 and 2.7+ write nodes differently (PrimFunc_ prefixes, attrs, scope comments)."""
    old = ("  %211([CNode]132) = TopK(%210, 832) {instance name: top} primitive_attrs: {sorted: true}\n"
           "      : (<Tensor[Float16], (832)>, <Int64, NoShape>) -> (<Tuple[Tensor[Float16],Tensor[Int32]]>)\n"
           "      # Scope: (Default/network-GlmNetwork/sampler-Sampler)\n"
           "  %212([CNode]133) = Load(%para1, %u)\n")
    new = ("  %14(CNode_1711$x$mixed) = PrimFunc_MatMul(%13, %2, Bool(0), Bool(1)) {instance name: matmul}\n"
           "      : (<Tensor[Float16], (64, 64)>, <Tensor[Float16], (192, 64)>, <Bool, NoShape>) -> (<Tensor>)\n"
           "      # Fullname with scope: (Default/network-GlmNetwork/layers-CellList/0-GlmLayer/MatMul-op0)\n")
    (top,) = parse_ir(old)
    assert (top["op"], top["inputs"], top["sorted"]) == ("TopK", ["Float16[832]"], True)
    assert "sampler-Sampler" in top["scope"]
    (matmul,) = parse_ir(new)
    assert (matmul["op"], matmul["inputs"]) == ("MatMul", ["Float16[64,64]", "Float16[192,64]"])
