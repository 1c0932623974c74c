"""tools/glm_ckpt_writer.py against mindspore.save_checkpoint, and the full-size presets' plan and tokenizer."""
from __future__ import annotations

import numpy as np
import pytest

from tools import glm_ckpt_writer

SLICE = 1024  # bytes per slice once MindSpore's SLICE_SIZE (in KB) is patched to 1


def sample_arrays():
    rng = np.random.default_rng(7)
    return [
        ("transformer.word_embeddings.embedding_table", rng.standard_normal((37, 19)).astype(np.float16)),  # 2 slices
        ("exactly.one.slice", rng.standard_normal((512,)).astype(np.float16)),  # 1024 bytes: one slice, no split
        ("three.slices", rng.standard_normal((8, 65)).astype(np.float32)),  # 2080 bytes
        ("transformer.final_layernorm.gamma", np.ones((64,), np.float16)),
        ("lm_head.weight", rng.standard_normal((300, 7)).astype(np.float16)),  # 4200 bytes: 5 slices
        ("an.int", np.arange(10, dtype=np.int32)),
    ]


def uneven_chunks(array, sizes=(333, 1, 4096, 700)):
    """The array's bytes in pieces that do not line up with the slice boundaries."""
    raw = array.tobytes()
    pos, k = 0, 0
    while pos < len(raw):
        yield raw[pos:pos + sizes[k % len(sizes)]]
        pos += sizes[k % len(sizes)]
        k += 1


def write_streamed(path, arrays, slice_bytes):
    with open(path, "wb") as f:
        writer = glm_ckpt_writer.CheckpointWriter(f, slice_bytes=slice_bytes)
        for name, array in arrays:
            tensor_type = glm_ckpt_writer._NUMPY_TYPES[array.dtype.name]
            writer.write_tensor(name, array.shape, tensor_type, uneven_chunks(array))
    return writer


@pytest.fixture()
def ms_serialization():
    ms = pytest.importorskip("mindspore")
    from mindspore.train import serialization

    return ms, serialization


def save_with_mindspore(ms, path, arrays):
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(a)} for n, a in arrays], str(path))
    with open(str(path), "rb") as f:
        return f.read()


def test_slice_size_matches_mindspore(ms_serialization):
    _ms, serialization = ms_serialization
    assert glm_ckpt_writer.SLICE_BYTES == 1024 * serialization.SLICE_SIZE == 512 * 1024 * 1024


def test_sliced_file_is_byte_identical_and_loads(ms_serialization, monkeypatch, tmp_path):
    ms, serialization = ms_serialization
    monkeypatch.setattr(serialization, "SLICE_SIZE", SLICE // 1024)  # read when saving: slices of 1 KB
    arrays = sample_arrays()
    expected = save_with_mindspore(ms, tmp_path / "mindspore.ckpt", arrays)
    streamed = tmp_path / "streamed.ckpt"
    writer = write_streamed(str(streamed), arrays, SLICE)
    data = streamed.read_bytes()
    assert data == expected
    assert writer.bytes_written == len(data) == sum(
        glm_ckpt_writer.tensor_record_size(n, a.shape, glm_ckpt_writer._NUMPY_TYPES[a.dtype.name], SLICE)
        for n, a in arrays)
    assert data.count(b"lm_head.weight") == 5  # one serialized Checkpoint per slice, each with the tag

    loaded = ms.load_checkpoint(str(streamed))
    assert list(loaded) == [n for n, _ in arrays]
    for name, array in arrays:
        assert tuple(loaded[name].shape) == array.shape
        assert np.array_equal(loaded[name].asnumpy(), array), name


def test_unsliced_default_is_byte_identical(ms_serialization, tmp_path):
    ms, _serialization = ms_serialization
    arrays = sample_arrays() + [("a.scalar", np.array(2.5, np.float32))]
    expected = save_with_mindspore(ms, tmp_path / "mindspore.ckpt", arrays)
    streamed = tmp_path / "streamed.ckpt"
    with open(str(streamed), "wb") as f:
        writer = glm_ckpt_writer.CheckpointWriter(f)
        for name, array in arrays:
            writer.write_array(name, array)
    assert streamed.read_bytes() == expected


def test_project_reader_joins_the_slices(tmp_path):
    from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile

    arrays = sample_arrays()
    path = str(tmp_path / "streamed.ckpt")
    write_streamed(path, arrays, SLICE)
    ckpt = CheckpointFile(path)
    try:
        for name, array in arrays:
            assert np.array_equal(ckpt.tensors[name], array), name
    finally:
        ckpt.close()


def test_wrong_byte_counts_are_refused(tmp_path):
    with open(str(tmp_path / "x.ckpt"), "wb") as f:
        writer = glm_ckpt_writer.CheckpointWriter(f, slice_bytes=SLICE)
        with pytest.raises(ValueError, match="fewer"):
            writer.write_tensor("short", [4, 4], "Float16", [b"\0" * 31])
        with pytest.raises(ValueError, match="more"):
            writer.write_tensor("long", [4, 4], "Float16", [b"\0" * 33])


def test_varint_matches_protobuf():
    assert glm_ckpt_writer.varint(0) == b"\x00"
    assert glm_ckpt_writer.varint(300) == b"\xac\x02"
    assert glm_ckpt_writer.varint(536870912) == b"\x80\x80\x80\x80\x02"
    assert glm_ckpt_writer.varint(-1) == b"\xff" * 9 + b"\x01"


def test_presets_have_glm_6b_names_shapes_and_size():
    from tools import glm_full_size_model as full
    from glm_sidecar.engine.native.model_config import shape_from_checkpoint

    specs = full.tensor_specs(28, 792)
    assert full.checkpoint_size(specs) == 13415883093
    assert sum(int(np.prod(shape)) for _n, shape, _i, _s, _r in specs) == 6707929088

    class Shaped(object):
        def __init__(self, shape):
            self.shape = shape

    shape = shape_from_checkpoint(dict((n, Shaped(s)) for n, s, _i, _st, _r in specs), {}, 2048, "glm-6b")
    assert (shape.num_layers, shape.hidden_size, shape.num_heads) == (28, 4096, 32)
    assert (shape.inner_hidden_size, shape.vocab_size) == (16384, 130528)
    one = full.tensor_specs(1, 792)
    assert [n for n, *_rest in one] == [n for n, *_rest in specs if ".layers." not in n or ".layers.0." in n]


def test_vocab_chunks_zero_eop_fillers_and_padding():
    from tools import glm_full_size_model as full

    specs = full.tensor_specs(1, 792)
    t = [n for n, *_rest in specs].index("lm_head.weight")
    _t, low = full._make_chunk(specs, t, 0, 0, 1000)
    assert low[:792].any(axis=1).all() and not low[792:].any()
    _t, high = full._make_chunk(specs, t, 1, 129990, 130528)
    nonzero = [129990 + i for i in np.flatnonzero(high.any(axis=1))]
    assert nonzero == [130000, 130001, 130002, 130003, 130004, 130006, 130007]  # <eop> 130005 stays zero
    again = full._make_chunk(specs, t, 1, 129990, 130528)[1]
    assert np.array_equal(high, again)
    _t, matrix = full._make_chunk(specs, 3, 0, 0, 512)  # query_key_value.weight rows, std 1/sqrt(4096)
    assert abs(float(matrix.astype(np.float32).std()) - 1 / 64) < 1e-3


def test_padded_tokenizer_puts_specials_where_ice_text_has_them(tmp_path):
    pytest.importorskip("sentencepiece")
    from tools import glm_full_size_model as full
    from glm_sidecar.engine.native.ice_tokenizer import IceTokenizer

    data, text_pieces = full.padded_tokenizer()
    path = tmp_path / "ice_text.model"
    path.write_bytes(data)
    tok = IceTokenizer(str(path))
    assert tok.vocab_size == 130008 and 500 < text_pieces < 1000
    assert (tok.mask_id, tok.gmask_id, tok.bos_id, tok.eos_id) == (130000, 130001, 130004, 130005)
    assert tok.special_ids["<dBLOCK>"] == 130007
    for text in ["你好", "hello world", "北京 tiny\n\tx   y"]:
        ids = tok.encode(text)
        assert max(ids) < text_pieces and tok.decode(ids) == text
    assert tok.prompt_ids("你好")[-2:] == [130001, 130004]
