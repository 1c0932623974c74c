"""Model files that are there but broken: the error names the file and the cause, then the way forward (pull again)."""
from __future__ import annotations

import os
import shutil

import pytest

from glm_sidecar.engine.base import EngineError
from glm_sidecar.engine.native.ice_tokenizer import IceTokenizer
from glm_sidecar.engine.model_files import load_tokenizer


def broken_copy(tiny_model_dir, tmp_path, name, keep_bytes):
    for each in ("ice_text.model", "glm_6b.ckpt", "glm_config.json"):
        shutil.copy(os.path.join(tiny_model_dir, each), str(tmp_path))
    path = os.path.join(str(tmp_path), name)
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[:keep_bytes(len(data))])
    return path


def test_a_tokenizer_cut_short_is_tokenizer_invalid_with_a_way_forward(tiny_model_dir, tmp_path):
    path = broken_copy(tiny_model_dir, tmp_path, "ice_text.model", lambda n: 1000)
    with pytest.raises(EngineError) as err:
        load_tokenizer(path, IceTokenizer)
    message = str(err.value)
    assert err.value.ename == "TokenizerInvalid"
    assert message.startswith("%s is not a readable ChatGLM-6B tokenizer (" % path)
    assert "cut short" in message and "run glm-chat pull again" in message


def test_the_native_engine_says_it_before_importing_mindspore(tiny_model_dir, tmp_path):
    from glm_sidecar.engine.native_engine import NativeEngine

    broken_copy(tiny_model_dir, tmp_path, "ice_text.model", lambda n: 1000)
    engine = NativeEngine(str(tmp_path), "CPU", 0, None)
    with pytest.raises(EngineError) as err:
        engine.load(lambda phase, progress, detail: None)
    assert err.value.ename == "TokenizerInvalid" and "glm-chat pull again" in str(err.value)


def test_a_checkpoint_cut_in_half_is_checkpoint_invalid_with_a_way_forward(tiny_model_dir, tmp_path):
    from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile

    path = broken_copy(tiny_model_dir, tmp_path, "glm_6b.ckpt", lambda n: n // 2)
    with pytest.raises(EngineError) as err:
        ckpt = CheckpointFile(path)
        for name in ckpt.entries:
            ckpt.read(name, "float32")
    assert err.value.ename == "CheckpointInvalid"
    assert str(err.value).startswith(path) and "run glm-chat pull again" in str(err.value)


def test_the_way_forward_names_the_command_as_a_checkout_runs_it(tiny_model_dir, tmp_path, monkeypatch):
    path = broken_copy(tiny_model_dir, tmp_path, "ice_text.model", lambda n: 1000)
    monkeypatch.setenv("npm_lifecycle_event", "start")
    with pytest.raises(EngineError) as err:
        load_tokenizer(path, IceTokenizer)
    assert "run npm start -- pull again" in str(err.value)
