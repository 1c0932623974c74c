"""Where the network's weights come from: the checkpoint read into memory (float16/float32 runs), or the int8/int4
quantized copy (docs/quantized-weights.md) mapped from disk, whose arrays the network wraps without a copy."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..base import EngineError, ProgressReport

QUANTIZED = ("int8", "int4")
# A matrix as the network takes it: ("float", w) in the compute dtype, or ("q8" | "q4", qs, scales) as stored.
StoredMatrix = Tuple[Any, ...]


class CheckpointWeights(object):
    """glm_6b.ckpt: each tensor read into its own memory in the dtype asked for (checkpoint_reader)."""

    precision = None  # type: Optional[str]

    def __init__(self, path: str) -> None:
        from .checkpoint_reader import CheckpointFile

        self.path = path
        self._file = CheckpointFile(path)

    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        return self._file.shapes()

    def read(self, name: str, dtype) -> np.ndarray:
        return self._file.read(name, dtype)

    def matrix(self, name: str, dtype) -> StoredMatrix:
        return ("float", self._file.read(name, dtype))

    def close(self) -> None:
        self._file.close()


class QuantizedCopyWeights(object):
    """The quantized copy: q8/q4 matrices and float16 tensors are views of its map (never copied: the pages are
    the page cache's until touched); only a float32 request (the LayerNorms, a few KB) makes a new array."""

    def __init__(self, path: str) -> None:
        from .quantized_weights import QuantizedWeights

        self.path = path
        self._weights = QuantizedWeights(path)
        self.precision = self._weights.precision  # type: Optional[str]

    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        return dict((name, self._weights.get(name).shape) for name in self._weights.names())

    def read(self, name: str, dtype) -> np.ndarray:
        stored = self._weights.get(name)
        if stored.values is None:
            raise EngineError("QuantizedCopyInvalid", "%s: %s is stored %s where the engine reads floats"
                              % (self.path, name, stored.kind))
        return stored.values if stored.values.dtype == np.dtype(dtype) else stored.values.astype(dtype)

    def matrix(self, name: str, dtype) -> StoredMatrix:
        stored = self._weights.get(name)
        if stored.kind == "float":  # rows that do not split into 32-blocks (the tiny model's k = 170)
            return ("float", self.read(name, dtype))
        return (stored.kind, stored.qs, stored.scales)

    def close(self) -> None:
        self._weights.close()  # the views the network holds keep the map until they are gone


def open_weights(checkpoint: str, precision: str, report: ProgressReport,
                 cache_dir: Optional[str] = None) -> Any:
    """The checkpoint for float16/float32; for int8/int4 its quantized copy, made first where there is no valid one
    (report("quantize", fraction, text) while it is made)."""
    if precision not in QUANTIZED:
        return CheckpointWeights(checkpoint)
    from .quantized_copy import ensure_quantized_copy

    path = ensure_quantized_copy(checkpoint, precision, cache_dir=cache_dir, report=report)
    weights = QuantizedCopyWeights(path)
    if weights.precision != precision:
        weights.close()
        raise EngineError("QuantizedCopyInvalid", "%s holds %s weights, not %s" % (path, weights.precision, precision))
    return weights
