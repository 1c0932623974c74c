"""`--quantize-only int8|int4` (glm-chat quantize): the sidecar makes the copy as load progress, reports where it is, refuses to answer."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from glm_sidecar.engine.native.quantized_copy import find_quantized_copy
from glm_sidecar.engine.quantize_only_engine import QuantizeOnlyEngine
from tools.sidecar_client import SidecarProcess


@pytest.fixture
def model_dir(tiny_model_dir, tmp_path, monkeypatch):
    """A folder with only the tiny glm_6b.ckpt (no tokenizer: the copy needs none); the cache folder in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(os.path.join(tiny_model_dir, "glm_6b.ckpt"), str(folder / "glm_6b.ckpt"))
    return str(folder)


def quantize(model_dir, precision):
    side = SidecarProcess(["--model-dir", model_dir, "--quantize-only", precision])
    side.statuses = [m["content"] for m in side.wait_ready(timeout_s=300) if m["msg_type"] == "status"]
    return side


def request(side, msg_type, content):
    req = side.send(side.shell, msg_type, content)
    reply_type = msg_type.replace("_request", "_reply")
    return side.recv_until(side.shell, lambda m: m["msg_type"] == reply_type and m["parent_id"] == req)[-1]["content"]


@pytest.mark.parametrize("precision", ["int8", "int4"])
def test_makes_the_copy_as_load_progress_then_finds_it_again(model_dir, precision):
    with quantize(model_dir, precision) as side:
        ready = side.statuses[-1]
        assert ready["state"] == "ready", ready
        loading = [s for s in side.statuses if s["state"] == "loading"]
        assert loading and all(s["phase"] == "quantize" for s in loading)
        fractions = [s["progress"] for s in loading if s["progress"] is not None]
        assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
        copy = ready["info"]["quantized_copy"]
        assert copy["path"] == os.path.join(model_dir, "glm_6b.%s.glmq" % precision)
        assert copy["made"] is True and copy["precision"] == precision
        assert copy["bytes"] == os.path.getsize(copy["path"])
        assert ready["info"]["precision"] == precision and ready["info"]["quantize_only"] is True
        stat = os.stat(copy["path"])
    with quantize(model_dir, precision) as side:  # a second run finds the copy: nothing is made again
        again = side.statuses[-1]["info"]["quantized_copy"]
        assert again["made"] is False and again["path"] == copy["path"]
        assert all(s["progress"] is None for s in side.statuses if s["state"] == "loading")
    assert os.stat(copy["path"]).st_mtime_ns == stat.st_mtime_ns and os.stat(copy["path"]).st_ino == stat.st_ino


def test_refuses_to_answer_or_count_with_a_stable_name(model_dir):
    with quantize(model_dir, "int8") as side:
        assert side.statuses[-1]["state"] == "ready"
        for msg_type, content in (("generate_request", {"prompt": "你好"}), ("tokenize_request", {"text": "你好"})):
            reply = request(side, msg_type, content)
            assert reply["status"] == "error" and reply["ename"] == "QuantizeOnly", reply
            assert "--quantize-only" in reply["evalue"] and reply["traceback"] == []


def test_a_missing_checkpoint_fails_the_load_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with quantize(str(tmp_path), "int4") as side:
        failed = side.statuses[-1]
        assert failed["state"] == "failed" and failed["ename"] == "ModelFileMissing", failed
        assert "glm_6b.ckpt" in failed["evalue"] and failed["traceback"] == []


def test_the_copy_is_where_the_engine_looks_for_it(model_dir):
    """The engine's weight source asks ensure_quantized_copy with no cache folder: the same lookup finds this copy."""
    engine = QuantizeOnlyEngine(model_dir, "int4")
    stages = []
    engine.load(lambda stage, fraction, text: stages.append(stage))
    assert set(stages) == {"quantize"}
    found, rejected = find_quantized_copy(os.path.join(model_dir, "glm_6b.ckpt"), "int4")
    assert found == engine.info()["quantized_copy"]["path"] and rejected == []


def test_only_int8_and_int4_are_made(model_dir):
    with pytest.raises(Exception) as caught:
        QuantizeOnlyEngine(model_dir, "float16")
    assert getattr(caught.value, "ename", None) == "InvalidParameter"


def test_makes_the_copy_without_importing_mindspore(model_dir):
    """Importing MindSpore takes long on a notebook and is not needed to quantize: the mode never imports it."""
    code = ("import sys; from glm_sidecar.engine.quantize_only_engine import QuantizeOnlyEngine as Q; "
            "Q(sys.argv[1], 'int8').load(lambda *a: None); "
            "sys.exit(3 if any(m.split('.')[0] in ('mindspore', 'mindformers') for m in sys.modules) else 0)")
    sidecar_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code, model_dir], cwd=sidecar_root, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    assert done.returncode == 0, done.stdout
    assert os.path.isfile(os.path.join(model_dir, "glm_6b.int8.glmq"))


def test_the_engines_weight_source_maps_this_copy_without_making_it(model_dir):
    """What `--precision int8` loads: the native engine's own lookup (weight_source.open_weights) takes this copy."""
    weight_source = pytest.importorskip("glm_sidecar.engine.native.weight_source")
    engine = QuantizeOnlyEngine(model_dir, "int8")
    engine.load(lambda stage, fraction, text: None)
    reports = []
    weights = weight_source.open_weights(os.path.join(model_dir, "glm_6b.ckpt"), "int8",
                                         lambda stage, fraction, text: reports.append((stage, fraction)))
    try:
        assert weights.path == engine.info()["quantized_copy"]["path"]
        assert [r for r in reports if r[1] is not None] == []  # found, not made again
    finally:
        weights.close()
