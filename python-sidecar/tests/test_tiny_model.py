"""Tests for tools/make_tiny_model.py: tokenizer layout, checkpoint naming/dtypes, MindFormers loading, stamp."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
# MindFormers writes its logs to ./output/log (relative to the cwd) unless LOG_MF_PATH says otherwise.
os.environ.setdefault("LOG_MF_PATH", os.path.join(tempfile.gettempdir(), "glm-chat-test-mindformers-log"))

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAKE_TINY_MODEL = os.path.join(REPO, "scripts", "make-tiny-model")
SPECIALS = ["[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>", "<dBLOCK>"]
LAYER_SHAPES = {
    "input_layernorm.gamma": ("H",), "input_layernorm.beta": ("H",),
    "attention.query_key_value.weight": ("3H", "H"), "attention.query_key_value.bias": ("3H",),
    "attention.dense.weight": ("H", "H"), "attention.dense.bias": ("H",),
    "post_attention_layernorm.gamma": ("H",), "post_attention_layernorm.beta": ("H",),
    "mlp.dense_h_to_4h.weight": ("I", "H"), "mlp.dense_h_to_4h.bias": ("I",),
    "mlp.dense_4h_to_h.weight": ("H", "I"), "mlp.dense_4h_to_h.bias": ("H",),
}


@pytest.fixture(scope="session")
def generator():
    from tools import make_tiny_model

    return make_tiny_model


@pytest.fixture(scope="session")
def tiny_dir(generator, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("tiny-model"))
    assert generator.generate(out) is True
    return out


@pytest.fixture(scope="session")
def config(tiny_dir):
    with open(os.path.join(tiny_dir, "glm_config.json")) as f:
        return json.load(f)


def expected_shapes(cfg):
    dims = {"H": cfg["hidden_size"], "3H": 3 * cfg["hidden_size"], "I": cfg["inner_hidden_size"]}
    h, v = cfg["hidden_size"], cfg["vocab_size"]
    shapes = {"transformer.word_embeddings.embedding_table": (v, h), "lm_head.weight": (v, h),
              "transformer.final_layernorm.gamma": (h,), "transformer.final_layernorm.beta": (h,)}
    for i in range(cfg["num_layers"]):
        for suffix, shape in LAYER_SHAPES.items():
            shapes["transformer.layers.%d.%s" % (i, suffix)] = tuple(dims[d] for d in shape)
    return shapes


def test_sentencepiece_layout(tiny_dir, config):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor()
    sp.Load(os.path.join(tiny_dir, "ice_text.model"))
    n = sp.GetPieceSize()
    assert 500 <= n <= 1000
    assert [sp.IdToPiece(i) for i in range(5)] == ["<unk>", "<s>", "</s>", "<pad>", "<n>"]
    assert [sp.IdToPiece(i) for i in range(n - 8, n)] == SPECIALS
    assert all(sp.IsControl(i) for i in range(n - 8, n))
    assert sp.PieceToId("<|tab|>") == 5 and sp.PieceToId("<|blank_80|>") == 84
    assert config["vocab_size"] % 64 == 0 and n <= config["vocab_size"] < n + 64
    assert config["mask_token_id"] == n - 8 and config["gmask_token_id"] == n - 7
    assert config["bos_token_id"] == n - 4 and config["eos_token_id"] == n - 3
    assert config["pad_token_id"] == 3 and config["param_dtype"] == "float16"
    assert config["inner_hidden_size"] == 4 * config["hidden_size"] * 2 // 3


def test_chatglm_tokenizer_round_trip(tiny_dir, config):
    from mindformers.models.glm.chatglm_6b_tokenizer import ChatGLMTokenizer

    tok = ChatGLMTokenizer(os.path.join(tiny_dir, "ice_text.model"))
    ids = tok("你好")["input_ids"]
    assert ids[-2:] == [config["gmask_token_id"], config["bos_token_id"]]
    assert tok.decode(ids) == "你好"
    for text in ["a\n\tb   c", "你好，世界 hello  world\n\nline two\t\tend"]:
        ids = tok(text)["input_ids"]
        assert tok.decode(ids) == text.replace("，", ",")  # nmt_nfkc folds full-width punctuation like the real model
        assert max(ids) < config["vocab_size"]


def test_checkpoint_names_shapes_dtypes(tiny_dir, config):
    import mindspore as ms
    import numpy as np

    params = ms.load_checkpoint(os.path.join(tiny_dir, "glm_6b.ckpt"))
    expected = expected_shapes(config)
    assert set(params) == set(expected)
    for name, param in params.items():
        assert param.dtype == ms.float16, name
        assert tuple(param.shape) == expected[name], name
    eop = config["eos_token_id"]
    n_pieces = config["eos_token_id"] + 3  # <eop> is the third-to-last piece
    for name in ("lm_head.weight", "transformer.word_embeddings.embedding_table"):
        table = params[name].asnumpy()
        assert not table[eop].any() and table[eop - 1].any()
        assert not table[n_pieces:].any()  # padding ids past the last piece never win a greedy argmax
        assert 0.015 < float(np.std(table)) < 0.025
    assert (params["transformer.layers.1.input_layernorm.gamma"].asnumpy() == 1).all()
    assert not params["transformer.layers.0.attention.dense.bias"].asnumpy().any()


def test_loads_into_glm_chat_model(tiny_dir, config):
    import mindspore as ms

    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    from mindformers.models.glm import GLMChatModel, GLMConfig

    glm_config = GLMConfig(
        num_layers=config["num_layers"], hidden_size=config["hidden_size"], num_heads=config["num_heads"],
        inner_hidden_size=None, vocab_size=config["vocab_size"], seq_length=config["seq_length"],
        position_encoding_2d=True, use_past=True, param_init_type="float32", compute_dtype="float32",
        layernorm_compute_type="float32", softmax_compute_type="float32",
        bos_token_id=config["bos_token_id"], eos_token_id=config["eos_token_id"],
        gmask_token_id=config["gmask_token_id"], mask_token_id=config["mask_token_id"], pad_token_id=3)
    model = GLMChatModel(glm_config)
    params = ms.load_checkpoint(os.path.join(tiny_dir, "glm_6b.ckpt"))
    net_not_loaded, ckpt_not_loaded = ms.load_param_into_net(model, params, strict_load=False)
    assert sorted(net_not_loaded) == sorted(
        "transformer.layers.%d.%s" % (i, kind) for i in range(config["num_layers"])
        for kind in ("key_past", "value_past"))
    assert list(ckpt_not_loaded) == []
    net_params = dict(model.parameters_and_names())
    for name, value in params.items():
        assert tuple(net_params[name].shape) == tuple(value.shape), name


def test_second_run_is_noop(generator, tiny_dir, capsys):
    names = list(generator.OUTPUTS) + [generator.STAMP]
    before = dict((n, os.stat(os.path.join(tiny_dir, n)).st_mtime_ns) for n in names)
    assert generator.generate(tiny_dir) is False
    assert "tiny model up to date: %s" % tiny_dir in capsys.readouterr().out
    env = dict(os.environ, GLM_CHAT_PYTHON=sys.executable)
    run = subprocess.run([MAKE_TINY_MODEL, "--out", tiny_dir], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)
    assert "tiny model up to date" in run.stdout
    after = dict((n, os.stat(os.path.join(tiny_dir, n)).st_mtime_ns) for n in names)
    assert after == before
    assert not [n for n in os.listdir(tiny_dir) if ".tmp-" in n]


def test_stale_stamp_regenerates(generator, tmp_path):
    out = str(tmp_path / "stale")
    os.makedirs(out)
    with open(os.path.join(out, generator.STAMP), "w") as f:
        f.write("not-the-hash\n")
    for name in generator.OUTPUTS:
        with open(os.path.join(out, name), "w") as f:
            f.write("junk")
    assert generator.generate(out) is True
    with open(os.path.join(out, generator.STAMP)) as f:
        assert f.read().strip() == generator.source_hash()
