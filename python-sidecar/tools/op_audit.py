"""Op audit: every primitive of the compiled prefill, decode and sampler graphs (as Ascend and GPU build them, from
float16 weights and from int8/int4 codes decoded in the graph), checked against the installed MindSpore's own
documentation for Ascend and GPU support and device warnings.

    python -m tools.op_audit MODEL_DIR [--precision float16,int8,int4] [--json]     (in python-sidecar/)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple

from tools.op_docs import device_notes, platforms, primitive_doc
from tools.op_graph_dump import compiled_graph_ops

SAMPLER_SCOPE = "sampler-Sampler"


def _dtypes(node: Dict[str, Any]) -> List[str]:
    return [item.split("[")[0] for item in node["inputs"]]


def _first_in(allowed: Tuple[str, ...]) -> Callable[[Dict[str, Any]], Optional[str]]:
    def check(node: Dict[str, Any]) -> Optional[str]:
        dtypes = _dtypes(node)
        return None if not dtypes or dtypes[0] in allowed else "input dtype %s is not one of %s" % (dtypes[0], allowed)
    return check


def _never(reason: str) -> Callable[[Dict[str, Any]], Optional[str]]:
    return lambda node: reason


def _not_float32(node: Dict[str, Any]) -> Optional[str]:
    return "float32 input, which Ascend sorts with loss of accuracy" if "Float32" in _dtypes(node)[:1] else None


def _sorted(node: Dict[str, Any]) -> Optional[str]:
    return "sorted=False runs on AI CPU, in a platform-dependent order" if node.get("sorted") is False else None


def _no_float64(node: Dict[str, Any]) -> Optional[str]:
    return "float64 input" if "Float64" in _dtypes(node) else None


def _fine(node: Dict[str, Any]) -> Optional[str]:
    return None


def _no_negative_dims(node: Dict[str, Any]) -> Optional[str]:
    return "a negative permutation entry" if "(-" in node.get("args", "") or "I64(-" in node.get("args", "") else None


def _same_rank(node: Dict[str, Any]) -> Optional[str]:
    ranks = set(len(item.split("[")[1].rstrip("]").split(",")) for item in node["inputs"])
    return "operands of different ranks" if len(ranks) > 1 else None


def _multiple_of_16(node: Dict[str, Any]) -> Optional[str]:
    dims = [d for item in node["inputs"] for d in item.split("[")[1].rstrip("]").split(",") if d]
    odd = sorted(set(int(d) for d in dims if int(d) % 16))
    return "dims %s not multiples of 16 (slow on Ascend)" % odd if odd else None


FLOATS = ("Float16", "Float32")
# (op, a phrase of its device note, the check that note asks for, why the engine is safe). Every device note of
# an op the graphs use must match one, so a new warning in another MindSpore fails the audit until someone has
# read it. Phrases are short so that rewording around them does not matter.
RULES = [
    ("Sort", "loss of accuracy", _not_float32, "the sampler ranks float32 candidates by comparisons, not Sort"),
    ("Sort", "sorting the last dimension", _fine, "1-D"),
    ("TopK", "sorted` is False", _sorted, "sorted=True"),
    ("TopK", "aicpu", _sorted, "sorted=True"),
    ("TopK", "Ascend: int8, uint8, int32, int64, float16, float32", _first_in(FLOATS), "float16 keys"),
    ("TopK", "GPU: float16, float32", _first_in(FLOATS), "float16 keys"),
    ("TopK", "0-D input is supported on GPU", _fine, "1-D input"),
    ("TopK", "float16 or float32 on GPU", _first_in(FLOATS), "float16 keys (2.0 lists no Ascend dtypes)"),
    ("Argmax", "Ascend: Float16, Float32", _first_in(FLOATS), "float32 logits"),
    ("Argmax", "GPU: Float16, Float32", _first_in(FLOATS), "float32 logits"),
    ("Gather", "On Ascend, the results may be", _fine, "indices are token ids, positions and cache rows: in range"),
    ("BiasAdd", "GPU: float16, float32, int8", _first_in(FLOATS), "float16 or float32"),
    ("BiasAdd", "Ascend/CPU: all Number type", _fine, "float16 or float32"),
    ("MatMul", "float64", _no_float64, "float16 and float32 only"),
    ("LayerNorm", "begin_params_axis", _fine, "begin_norm_axis = begin_params_axis = -1"),
    ("GeLU", "between 'Ascend' and 'GPU'", _fine, "about the backward and +-inf; inference on finite inputs"),
    ("GeLU", "higher precision", _fine, "informational"),
    ("GeLU", "when x is -inf", _fine, "finite float32 inputs (a matmul's output)"),
    ("GeLU", "when x is inf", _fine, "finite float32 inputs (a matmul's output)"),
    ("*", "higher precision or higher digits", _fine, "type promotion, the same on every device"),
    ("BatchMatMul", "if the environment is GPU or CPU", _same_rank, "both operands are rank 3"),
    ("Transpose", "not supported on Ascend", _no_negative_dims, "permutation (1, 0, 2)"),
    ("Transpose", "On GPU and CPU, if the value of `dims` is negative", _no_negative_dims, "no negative entries"),
]
# Notes about speed, not correctness: reported, never a failure (the tiny model's odd sizes trip them).
ADVISORIES = [("MatMul", "divided by 16", _multiple_of_16), ("BatchMatMul", "divided by 16", _multiple_of_16)]
# Primitives MindSpore's front end makes from documented calls (x * 2.0 becomes Muls): audited by those docs.
DOCUMENTED_AS = {"Muls": "Mul", "LessScalar": "Less", "GreaterScalar": "Greater", "RealDiv": "Div"}
# MindSpore's own plumbing with no public API: allowed, listed.
INTERNAL = {"TensorMove": "the copy MindSpore inserts to read a Parameter before an in-place write"}
# Never in a device graph: Python fallbacks run on the host (a device round trip; unsupported on Ascend).
FORBIDDEN = {"PyExecute": "a JIT-fallback Python call inside the graph",
             "PyInterpret": "a Python interpreter call inside the graph"}


def review(op: str, notes: List[str], nodes: List[Dict[str, Any]]) -> Dict[str, List[str]]:
    """{"problems": how the op is used against its notes, "advisories": speed notes that apply,
    "unreviewed": notes no rule has read}."""
    found = {"problems": [], "advisories": [], "unreviewed": []}  # type: Dict[str, List[str]]

    def apply(check, key):
        for node in nodes:
            problem = check(node)
            if problem and problem not in found[key]:
                found[key].append(problem)

    for note in notes:
        rules = [r for r in RULES if r[0] in (op, "*") and r[1].lower() in note.lower()]
        advice = [a for a in ADVISORIES if a[0] == op and a[1].lower() in note.lower()]
        if not rules and not advice:
            found["unreviewed"].append(note)
        for rule in rules:
            apply(rule[2], "problems")
        for rule in advice:
            apply(rule[2], "advisories")
    if op in FORBIDDEN:
        found["problems"].append(FORBIDDEN[op])
    if op == "Sort":
        apply(_not_float32, "problems")
    return found


PRECISIONS = ("float16", "int8", "int4")


def _dump_all(model_dir: str, precisions: Tuple[str, ...], dump_dir: str) -> Dict[str, Any]:
    """The graphs of every precision: float16's as "prefill" and "decode", the others' as "int8 prefill", ..."""
    dumped = {"graphs": {}, "backend_errors": {}}  # type: Dict[str, Any]
    for precision in precisions:
        prefix = "" if precision == "float16" else precision + " "
        one = compiled_graph_ops(model_dir, os.path.join(dump_dir, precision), precision)
        for part in ("graphs", "backend_errors"):
            dumped[part].update((prefix + name, value) for name, value in one[part].items())
    return dumped


def audit(model_dir: str, dump_dir: Optional[str] = None, precisions: Tuple[str, ...] = PRECISIONS) -> Dict[str, Any]:
    import mindspore as ms

    scratch = None if dump_dir else tempfile.mkdtemp(prefix="glm-op-audit-")  # ~30-110 MB of IR each: removed after
    try:
        dumped = _dump_all(model_dir, precisions, dump_dir or scratch)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    by_op = {}  # type: Dict[str, List[Tuple[str, Dict[str, Any]]]]
    for graph, nodes in dumped["graphs"].items():
        for node in nodes:
            by_op.setdefault(node["op"], []).append((graph, node))
    ops = {}  # type: Dict[str, Any]
    for op in sorted(by_op):
        nodes = [n for _, n in by_op[op]]
        doc = None if op in INTERNAL else primitive_doc(ms, DOCUMENTED_AS.get(op, op))
        notes = device_notes(doc) if doc else []
        found = review(op, notes, nodes)
        where = platforms(doc) if doc else []
        if op in INTERNAL:
            found["advisories"].append("MindSpore-internal: %s" % INTERNAL[op])
        elif doc is None:
            found["problems"].append("no documentation in MindSpore %s" % ms.__version__)
        elif not {"Ascend", "GPU"} <= set(where):
            found["problems"].append("documented platforms %s lack Ascend or GPU" % (where or "none"))
        graphs = sorted(set(g for g, _ in by_op[op]) | set("sampler" for n in nodes if SAMPLER_SCOPE in n["scope"]))
        ops[op] = {"graphs": graphs, "count": len(nodes), "inputs": sorted(set(i for n in nodes for i in n["inputs"])),
                   "documented_as": DOCUMENTED_AS.get(op, op), "platforms": where, "notes": notes,
                   "problems": found["problems"], "advisories": found["advisories"],
                   "unreviewed_notes": found["unreviewed"]}
    return {"mindspore": ms.__version__, "precisions": list(precisions), "ops": ops,
            "backend_errors": dumped["backend_errors"]}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Audit the native engine's compiled graphs against MindSpore's docs")
    parser.add_argument("model_dir")
    parser.add_argument("--precision", default=",".join(PRECISIONS),
                        help="comma-separated weights to build the graphs from (int8/int4: a quantized copy is made "
                             "beside the checkpoint where there is none); default: %(default)s")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    precisions = tuple(p.strip() for p in args.precision.split(",") if p.strip())
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown or not precisions:
        parser.error("--precision takes %s, not %s" % (", ".join(PRECISIONS), args.precision))
    report = audit(args.model_dir, precisions=precisions)
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
    else:
        for op, facts in report["ops"].items():
            flag = "FAIL" if facts["problems"] or facts["unreviewed_notes"] else "ok"
            print("%-14s %-4s %-22s %s" % (op, flag, ",".join(facts["graphs"]),
                                           "; ".join(facts["problems"] + facts["unreviewed_notes"] + facts["advisories"])))
        for graph, error in sorted(report["backend_errors"].items()):
            print("%s graph: the CPU backend failed after the front end: %s" % (graph, error))
    bad = any(f["problems"] or f["unreviewed_notes"] for f in report["ops"].values()) or report["backend_errors"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
