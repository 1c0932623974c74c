"""The memory-mapped .ckpt reader: same tensors as MindSpore's loader, sliced tensors, corrupt files."""
from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from glm_sidecar.engine.base import EngineError
from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile
from glm_sidecar.engine.native.model_config import prefill_buckets, shape_from_checkpoint


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def value(name, dims, dtype, raw):
    tensor = b"".join(varint(1 << 3) + varint(d) for d in dims) + field(2, dtype.encode()) + field(3, raw)
    return field(1, field(1, name.encode()) + field(2, tensor))


def test_reads_what_mindspore_reads(tiny_model_dir):
    ms = pytest.importorskip("mindspore", reason="comparing with MindSpore's loader needs mindspore")
    path = os.path.join(tiny_model_dir, "glm_6b.ckpt")
    theirs = ms.load_checkpoint(path)
    ours = CheckpointFile(path)
    try:
        assert sorted(ours.tensors) == sorted(theirs)
        for name, param in theirs.items():
            want = param.asnumpy()
            got = ours.tensors[name]
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), name
    finally:
        ours.close()


def test_joins_a_tensor_split_into_slices_and_skips_the_crc_trailer(tmp_path):
    data = np.arange(12, dtype=np.float16).reshape(3, 4)
    raw = data.tobytes()
    blob = (value("big", [3, 4], "Float16", raw[:10]) + value("big", [3, 4], "Float16", raw[10:])
            + value("scalar", [0], "Int32", struct.pack("<i", 7)) + b"crc_num" + b"\x00" * 10)
    path = tmp_path / "sliced.ckpt"
    path.write_bytes(blob)
    ckpt = CheckpointFile(str(path))
    assert np.array_equal(ckpt.tensors["big"], data) and int(ckpt.tensors["scalar"]) == 7
    ckpt.close()


@pytest.mark.parametrize("blob", [b"", b"\x0a\xff\xff\xff\x0f" + b"\x00" * 8, b"\x0f\x01"])
def test_truncated_or_foreign_files_get_a_clear_error(tmp_path, blob):
    path = tmp_path / "glm_6b.ckpt"
    path.write_bytes(blob)
    with pytest.raises(EngineError) as err:
        CheckpointFile(str(path))
    assert err.value.ename == "CheckpointInvalid" and str(path) in str(err.value)


def test_a_checkpoint_missing_a_layer_tensor_names_it(tiny_model_dir):
    ckpt = CheckpointFile(os.path.join(tiny_model_dir, "glm_6b.ckpt"))
    tensors = dict(ckpt.tensors)
    assert shape_from_checkpoint(tensors, {"num_heads": 4}, 256, "x").num_layers == 2
    del tensors["transformer.layers.1.mlp.dense_4h_to_h.bias"]
    with pytest.raises(EngineError) as err:
        shape_from_checkpoint(tensors, {"num_heads": 4}, 256, "x")
    assert err.value.ename == "CheckpointMismatch" and "layers.1.mlp.dense_4h_to_h.bias" in str(err.value)
    ckpt.close()


def test_buckets_are_powers_of_two_up_to_the_window():
    assert prefill_buckets(256) == [64, 128, 256]
    assert prefill_buckets(2048) == [64, 128, 256, 512, 1024, 2048]
    assert prefill_buckets(300) == [64, 128, 256, 300]
    assert prefill_buckets(32) == [32]
