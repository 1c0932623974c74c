"""Compiles the native engine's prefill and decode graphs as Ascend and GPU build them (no CPU kernels) and reads
every primitive, its input dtypes and shapes and its cell scope back from MindSpore's own IR dump."""
from __future__ import annotations

import glob
import os
import re
from typing import Any, Dict, List, Optional, Tuple

# Graph plumbing in the IR, not kernels that run on a device.
GRAPH_PLUMBING = {"Load", "UpdateState", "MakeTuple", "TupleGetItem", "Depend", "Return", "MakeKeywordArg"}
_NODE = re.compile(r"^\s+%\d+\(.*?\) = ([A-Za-z][A-Za-z0-9_]*)\(")
_TENSOR = re.compile(r"<Tensor\[(\w+)\], \(([^)]*)\)")
_SCOPE = re.compile(r"# (?:Fullname with scope|Scope): \((.*)\)")
_SORTED = re.compile(r"sorted: (true|false|Bool\(1\)|Bool\(0\))")


def parse_ir(text: str) -> List[Dict[str, Any]]:
    """One entry per primitive node of a validate-stage IR file: op, inputs ["Float16[64,64]", ...], scope."""
    nodes = []  # type: List[Dict[str, Any]]
    current = None  # type: Any
    for line in text.splitlines():
        found = _NODE.match(line)
        if found:
            name = found.group(1)
            name = name[len("PrimFunc_"):] if name.startswith("PrimFunc_") else name
            current = None
            if name not in GRAPH_PLUMBING:
                sort = _SORTED.search(line)
                current = {"op": name, "inputs": [], "scope": "", "args": line[found.end():].split(") {")[0],
                           "sorted": None if sort is None else sort.group(1) in ("true", "Bool(1)")}
                nodes.append(current)
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped.startswith(": (") and not current["inputs"]:
            inputs = stripped.split(") -> (")[0]
            current["inputs"] = ["%s[%s]" % (dtype, shape.replace(" ", "")) for dtype, shape in _TENSOR.findall(inputs)]
        scope = _SCOPE.search(stripped)
        if scope and not current["scope"]:
            current["scope"] = scope.group(1)
    return nodes


def _dump_to(ms: Any, path: str) -> None:
    os.makedirs(path, exist_ok=True)
    try:
        ms.set_context(save_graphs=1, save_graphs_path=path)
    except (TypeError, ValueError, RuntimeError):  # releases that only read the environment
        os.environ["MS_DEV_SAVE_GRAPHS"] = "1"
        os.environ["MS_DEV_SAVE_GRAPHS_PATH"] = path


def _stop_dumping(ms: Any) -> None:
    os.environ.pop("MS_DEV_SAVE_GRAPHS", None)
    try:
        ms.set_context(save_graphs=0)
    except (TypeError, ValueError, RuntimeError):
        pass


def _validate_ir(path: str) -> str:
    files = sorted(glob.glob(os.path.join(path, "*validate*.ir")))
    if not files:
        raise RuntimeError("MindSpore wrote no validate-stage IR under %s" % path)
    return open(files[-1], encoding="utf-8", errors="replace").read()


def graph_ops(ms: Any, cell: Any, args: Tuple[Any, ...], path: str) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """(primitive nodes of `cell` compiled on `args`, the backend's error or None), dumping IR under `path`."""
    _dump_to(ms, path)
    error = None
    try:
        cell.compile(*args)
    except (RuntimeError, TypeError, ValueError) as exc:  # the front end's IR is written before a backend fails
        error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    finally:
        _stop_dumping(ms)
    return parse_ir(_validate_ir(path)), error


def _device_weights(model_dir: str, precision: str) -> Any:
    """The weights as a device run opens them: the checkpoint (float16), or its quantized copy (int8/int4: made
    beside the checkpoint first where there is none)."""
    from glm_sidecar.engine.model_files import CHECKPOINT_NAME
    from glm_sidecar.engine.native.weight_source import open_weights

    return open_weights(os.path.join(model_dir, CHECKPOINT_NAME), precision, lambda *_args: None)


def compiled_graph_ops(model_dir: str, dump_dir: str, precision: str = "float16") -> Dict[str, Any]:
    """{"graphs": {"prefill": nodes, "decode": nodes}, "backend_errors": {graph: first line}} of the network
    built with kernels=None from float16 weights, or int8/int4 codes (each matrix then decoded in the graph), and
    compiled on CPU: the front end, where every primitive is chosen, is the same for every device; only the kernels
    behind them differ."""
    import numpy as np
    import mindspore as ms
    from mindspore import Tensor

    from glm_sidecar.engine.model_files import read_model_config
    from glm_sidecar.engine.native.model_config import prefill_buckets, shape_from_checkpoint
    from glm_sidecar.engine.native.network import GlmNetwork
    from glm_sidecar.engine.native.steps import DecodeStep, PrefillStep
    from glm_sidecar.engine.native.sampler import FLOAT_COUNT

    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    overrides = read_model_config(model_dir)
    weights = _device_weights(model_dir, precision)
    try:
        seq_length = int(overrides.get("seq_length") or 256)
        shape = shape_from_checkpoint(weights.shapes(), overrides, seq_length, getattr(weights, "path", model_dir))
        network = GlmNetwork(weights, shape, "float16", None, None)
    finally:
        weights.close()
    network.set_train(False)
    floats = Tensor(np.zeros((FLOAT_COUNT,), np.float32))
    bucket = prefill_buckets(seq_length)[0]
    ints = Tensor(np.zeros((bucket,), np.int32))
    graphs = {}  # type: Dict[str, List[Dict[str, Any]]]
    errors = {}  # type: Dict[str, str]
    for name, cell, args in (("prefill", PrefillStep(network), (ints, ints, ints, Tensor(np.array([1, 1], np.int32)),
                                                                   floats)),
                             ("decode", DecodeStep(network), (Tensor(np.zeros((4,), np.int32)), floats))):
        graphs[name], error = graph_ops(ms, cell, args, os.path.join(dump_dir, name))
        if error:
            errors[name] = error
    return {"graphs": graphs, "backend_errors": errors}
