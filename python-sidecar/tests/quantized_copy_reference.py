"""What a correct quantized copy holds, for the copy's tests: every array equal to what the NumPy quantizer makes of
the checkpoint's tensor, quantized ones as views of the map."""
from __future__ import annotations

import numpy as np

from glm_sidecar.engine.native import quantizer
from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile
from glm_sidecar.engine.native.quantized_copy import QuantizedWeights


def assert_same_as_quantizer(path, checkpoint, bits):
    """Every mapped array equals what the NumPy reference makes of the checkpoint's tensor."""
    ckpt = CheckpointFile(checkpoint)
    weights = QuantizedWeights(path)
    try:
        assert sorted(weights.names()) == sorted(ckpt.entries)
        kinds = set()
        for name in weights.names():
            stored, source = weights.get(name), ckpt.read(name, "float32")
            kinds.add(stored.kind)
            assert stored.shape == source.shape, name
            if stored.kind == "float":
                assert stored.values.dtype == np.float16 and np.array_equal(stored.values, source.astype(np.float16))
                continue
            assert stored.kind == {8: "q8", 4: "q4"}[bits], name
            qs, scales = quantizer.quantize(source, bits)
            assert stored.qs.dtype == qs.dtype and np.array_equal(stored.qs, qs), name
            assert np.array_equal(stored.scales.view(np.uint16), scales.view(np.uint16)), name
            assert not stored.qs.flags.owndata and not stored.scales.flags.owndata  # views of the map
        assert kinds == {"float", {8: "q8", 4: "q4"}[bits]} and weights.get("lm_head.weight").kind != "float"
    finally:
        weights.close()
        ckpt.close()
