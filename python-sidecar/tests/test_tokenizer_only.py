"""`--tokenizer-only`: the sidecar loads only ChatGLMTokenizer (for glm-chat --dry-run), counts tokens, refuses to answer."""
from __future__ import annotations

import time

import pytest

from tools.sidecar_client import SidecarProcess

pytest.importorskip("mindspore", reason="the MindSpore sidecar tests need mindspore (npm test installs it)")


@pytest.fixture(scope="module")
def sidecar(tiny_model_dir):
    started = time.time()
    with SidecarProcess(["--engine", "mindformers", "--model-dir", tiny_model_dir, "--device-target", "CPU",
                         "--tokenizer-only"]) as side:
        statuses = [m["content"] for m in side.wait_ready(timeout_s=300) if m["msg_type"] == "status"]
        assert statuses[-1]["state"] == "ready", statuses[-1]
        side.statuses = statuses
        side.load_s = time.time() - started
        yield side


def request(side, msg_type, content):
    req = side.send(side.shell, msg_type, content)
    reply_type = msg_type.replace("_request", "_reply")
    msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == reply_type and m["parent_id"] == req, timeout_s=60)
    return msgs[-1]["content"]


def test_loads_only_the_tokenizer(sidecar):
    phases = [s["phase"] for s in sidecar.statuses]
    assert "import" in phases and "build" in phases and phases[-1] == "ready"
    assert "checkpoint" not in phases and "compile" not in phases and "warmup" not in phases
    assert sorted(sidecar.statuses[-1]["timings"]) == ["build", "import"]
    info = sidecar.statuses[-1]["info"]
    assert info["tokenizer_only"] is True
    assert info["seq_length"] == 256  # from the tiny model's glm_config.json
    assert info["engine_version"].startswith("1.")


def test_counts_tokens_like_the_model(sidecar):
    assert request(sidecar, "tokenize_request", {"text": ""})["count"] == 2  # [gMASK] <sop>
    reply = request(sidecar, "tokenize_request", {"text": "[Round 0]\n问：你好\n答：你好\n[Round 1]\n问：北京\n答："})
    assert reply["status"] == "ok" and reply["count"] > 5


def test_generate_fails_with_a_stable_name(sidecar):
    reply = request(sidecar, "generate_request", {"prompt": "你好", "max_new_tokens": 4})
    assert reply["status"] == "error"
    assert reply["ename"] == "TokenizerOnly"
    assert "--tokenizer-only" in reply["evalue"]


def test_seq_length_flag_wins(tiny_model_dir):
    with SidecarProcess(["--engine", "mindformers", "--model-dir", tiny_model_dir, "--tokenizer-only",
                         "--seq-length", "128"]) as side:
        statuses = [m["content"] for m in side.wait_ready(timeout_s=300) if m["msg_type"] == "status"]
        assert statuses[-1]["info"]["seq_length"] == 128
