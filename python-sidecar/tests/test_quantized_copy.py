"""The quantized copy of glm_6b.ckpt on the tiny model: round trip against the quantizers, int8 and int4, made again
when stale, truncated or damaged, serving alone, bounded memory (its folders: test_quantized_copy_folders.py)."""
from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

from glm_sidecar.engine.base import EngineError
from glm_sidecar.engine.native import quantize_kernel, quantized_writer, quantizer
from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile
from glm_sidecar.engine.native.quantized_copy import (QuantizedWeights, ensure_quantized_copy, find_quantized_copy,
                                                      source_identity)
from quantized_copy_reference import assert_same_as_quantizer
from tools import glm_ckpt_writer

PRECISIONS = [("int8", 8), ("int4", 4)]


def flip_bit(path, offset):
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x10]))


@pytest.mark.parametrize("precision,bits", PRECISIONS)
def test_round_trip_equals_the_quantizer_and_reports_progress(model, precision, bits):
    checkpoint, cache = model
    seen = []
    path = ensure_quantized_copy(checkpoint, precision, cache, report=lambda *a: seen.append(a))
    assert path == os.path.join(os.path.dirname(checkpoint), "glm_6b.%s.glmq" % precision)
    assert_same_as_quantizer(path, checkpoint, bits)
    assert seen[0][0] == "quantize" and seen[-1][1] == 1.0 and all(s[0] == "quantize" for s in seen)
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    with QuantizedWeights(path) as weights:
        assert weights.precision == precision and weights.block_size == 32
        assert weights.shapes() == CheckpointFile(checkpoint).shapes()
        assert weights.source == source_identity(checkpoint)
        qkv = weights.get("transformer.layers.0.attention.query_key_value.weight")
        assert qkv.qs.shape == (192, 64 if bits == 8 else 32) and qkv.scales.shape == (192, 2)
        assert not qkv.qs.flags.owndata  # a view of the map, not a copy
    seen[:] = []
    assert ensure_quantized_copy(checkpoint, precision, cache, report=lambda *a: seen.append(a)) == path
    assert seen == []  # found, not made again


def test_numpy_fallback_and_sliced_checkpoint_in_small_chunks_give_the_same_bits(tmp_path):
    """A tensor written in several 512 MiB-style slices, read in chunks that do not line up with them."""
    rng = np.random.RandomState(3)
    arrays = [("transformer.word_embeddings.embedding_table", (rng.standard_normal((96, 64)) * 0.02)),
              ("transformer.layers.0.attention.dense.weight", rng.standard_normal((40, 96)).astype(np.float32)),
              ("transformer.layers.0.attention.dense.bias", rng.standard_normal((40,)).astype(np.float32)),
              ("lm_head.weight", rng.standard_normal((96, 64)) * 0.02)]
    checkpoint = str(tmp_path / "glm_6b.ckpt")
    with open(checkpoint, "wb") as handle:
        writer = glm_ckpt_writer.CheckpointWriter(handle, slice_bytes=1000)
        for name, array in arrays:
            writer.write_array(name, array.astype(np.float16) if array.dtype == np.float64 else array)
    for kernel in (quantize_kernel.load(), quantize_kernel.QuantizeKernel(None)):
        for precision, bits in PRECISIONS:
            target = str(tmp_path / ("%s-%s.glmq" % (kernel.native, precision)))
            ckpt = CheckpointFile(checkpoint)
            header = quantized_writer.plan(ckpt, precision, source_identity(checkpoint), "test")
            quantized_writer.write_copy(ckpt, target, header, kernel, chunk_bytes=700)
            ckpt.close()
            assert_same_as_quantizer(target, checkpoint, bits)


def test_a_changed_checkpoint_makes_the_copy_again(model):
    checkpoint, cache = model
    path = ensure_quantized_copy(checkpoint, "int8", cache)
    st = os.stat(checkpoint)
    os.utime(checkpoint, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    assert find_quantized_copy(checkpoint, "int8", cache)[0] is None
    seen = []
    assert ensure_quantized_copy(checkpoint, "int8", cache, report=lambda *a: seen.append(a)) == path
    assert "made from another glm_6b.ckpt" in seen[0][2]
    with QuantizedWeights(path) as weights:
        assert weights.source["mtime_ns"] == st.st_mtime_ns + 10 ** 9
    flip_bit(checkpoint, os.path.getsize(checkpoint) - 5)  # same size and mtime, other bytes in its last MiB
    os.utime(checkpoint, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    path_copy, why = find_quantized_copy(checkpoint, "int8", cache)
    assert path_copy is None and "made from another glm_6b.ckpt" in why[0]


@pytest.mark.parametrize("damage", ["truncate", "header byte", "data byte", "trailer byte", "extend"])
def test_a_damaged_copy_is_never_opened_and_is_made_again(model, damage):
    checkpoint, cache = model
    path = ensure_quantized_copy(checkpoint, "int4", cache)
    size = os.path.getsize(path)
    with QuantizedWeights(path) as weights:
        data = weights.header["tensors"][0]["arrays"]["qs"]["offset"] + 7
    if damage in ("truncate", "extend"):
        os.truncate(path, size - 4096 if damage == "truncate" else size + 1)
    else:
        flip_bit(path, {"header byte": 40, "data byte": data, "trailer byte": size - 40}[damage])
    if damage != "data byte":  # found at open; a data byte only by the CRC-32s (the copy changed since checked)
        with pytest.raises(EngineError) as info:
            QuantizedWeights(path)
        assert info.value.ename == "QuantizedCopyInvalid" and path in str(info.value)
    found, why = find_quantized_copy(checkpoint, "int4", cache)
    assert found is None and "not a usable quantized copy" in why[0]
    seen = []
    assert ensure_quantized_copy(checkpoint, "int4", cache, report=lambda *a: seen.append(a)) == path
    assert "not a usable quantized copy" in seen[0][2]
    assert_same_as_quantizer(path, checkpoint, 4)


def test_a_copy_serves_alone_once_the_checkpoint_is_deleted(model):
    checkpoint, cache = model
    path = ensure_quantized_copy(checkpoint, "int4", cache)
    os.remove(checkpoint)
    assert ensure_quantized_copy(checkpoint, "int4", cache) == path
    with open(path, "r+b") as handle:
        handle.truncate(4096)
    with pytest.raises(EngineError) as info:
        ensure_quantized_copy(checkpoint, "int4", cache)
    assert info.value.ename == "ModelFileMissing" and "int4 copy cannot be used" in str(info.value)


def test_a_precision_other_than_int8_or_int4_is_refused(model):
    checkpoint, cache = model
    with pytest.raises(EngineError) as info:
        ensure_quantized_copy(checkpoint, "float16", cache)
    assert info.value.ename == "InvalidParameter"
    with pytest.raises(EngineError) as info:
        ensure_quantized_copy(checkpoint + ".missing", "int8", cache)
    assert info.value.ename == "ModelFileMissing"


@pytest.mark.parametrize("native", [True, False])
def test_memory_is_bounded_by_the_chunk_not_the_tensor(tmp_path, native):
    """tracemalloc sees NumPy's buffers: the writer's peak stays far below the largest tensor (16 MiB here)."""
    rng = np.random.RandomState(5)
    big = (rng.standard_normal((16384, 512)) * 0.02).astype(np.float16)
    checkpoint = str(tmp_path / "glm_6b.ckpt")
    with open(checkpoint, "wb") as handle:
        writer = glm_ckpt_writer.CheckpointWriter(handle, slice_bytes=3 << 20)
        writer.write_array("transformer.word_embeddings.embedding_table", big)
        writer.write_array("transformer.final_layernorm.gamma", np.ones(512, np.float16))
        writer.write_array("lm_head.weight", big[::-1].copy())
    del writer
    kernel = quantize_kernel.load() if native else quantize_kernel.QuantizeKernel(None)
    if native and not kernel.native:
        pytest.skip("kernels/quantize.c did not build here: %s" % kernel.how)
    for precision in ("int8", "int4"):
        tracemalloc.start()
        try:
            path = ensure_quantized_copy(checkpoint, precision, str(tmp_path / "cache"), kernel=kernel,
                                         chunk_bytes=128 << 10)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        print("%s %s: tracemalloc peak %d bytes" % (kernel.how, precision, peak))
        assert peak < big.nbytes / 4, (precision, peak)
    with QuantizedWeights(path) as weights:
        qs, scales = quantizer.quantize(big, 4)
        assert np.array_equal(weights.get("transformer.word_embeddings.embedding_table").qs, qs)
