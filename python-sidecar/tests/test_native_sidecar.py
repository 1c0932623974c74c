"""The sidecar process with the native engine: --engine native and auto, MindFormers without GLM-6B, restarts."""
from __future__ import annotations

import os

import pytest

from glm_sidecar.engine.native.ice_tokenizer import IceTokenizer
from tools.sidecar_client import SidecarProcess

pytest.importorskip("mindspore", reason="the MindSpore sidecar tests need mindspore (npm test installs it)")

PROMPT = "[Round 0]\n问：你好\n答：你好\n[Round 1]\n问：北京\n答："


def start(args, tiny_model_dir, python_path=None, timeout_s=300):
    side = SidecarProcess(args + ["--model-dir", tiny_model_dir, "--device-target", "CPU"], python_path)
    statuses = [m["content"] for m in side.wait_ready(timeout_s=timeout_s) if m["msg_type"] == "status"]
    side.statuses = statuses
    return side


def answer(side, content):
    side.send(side.shell, "generate_request", content)
    msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply", timeout_s=120)
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "token"), msgs[-1]["content"]


@pytest.fixture(scope="module")
def mindformers_without_glm(tmp_path_factory):
    """A `mindformers` package shaped like 1.5+ (GLM-6B deleted), shadowing the installed one."""
    root = tmp_path_factory.mktemp("mindformers-1.5")
    package = root / "mindformers"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text('__version__ = "1.5.0"\n')
    (package / "models" / "__init__.py").write_text("")
    return str(root)


def test_native_engine_loads_answers_and_repeats_itself_after_a_restart(tiny_model_dir, tmp_path):
    answers = []
    for _ in range(2):  # the second start reads the graphs the first one left in the compile cache
        with start(["--engine", "native", "--compile-cache", str(tmp_path)], tiny_model_dir) as side:
            ready = side.statuses[-1]
            assert ready["state"] == "ready", ready
            phases = [s["phase"] for s in side.statuses]
            for phase in ("import", "checkpoint", "compile", "warmup", "ready"):
                assert phase in phases
            assert ready["info"]["engine"] == "native" and ready["info"]["prefill_buckets"] == [64, 128, 256]
            text, reply = answer(side, {"prompt": PROMPT, "max_new_tokens": 24, "do_sample": False})
            assert reply["status"] == "ok" and reply["usage"]["completion_tokens"] == 24
            answers.append(text)
    assert answers[0] == answers[1] and answers[0].strip()
    cached = [f for _, _, files in os.walk(str(tmp_path)) for f in files if f.endswith(".mindir")]
    assert len(cached) >= 2  # the first prompt bucket and the decode step (longer buckets compile on first use)


def test_auto_chats_with_the_native_engine_where_mindformers_has_no_glm(tiny_model_dir, mindformers_without_glm):
    with start(["--engine", "auto"], tiny_model_dir, [mindformers_without_glm]) as side:
        ready = side.statuses[-1]
        assert ready["state"] == "ready", ready
        info = ready["info"]
        assert info["engine"] == "native"
        assert "MindFormers 1.5.0 has no GLM-6B" in info["engine_fallback"]
        assert any("using glm-chat's native engine" in (s.get("detail") or "") for s in side.statuses)
        text, reply = answer(side, {"prompt": "你好", "max_new_tokens": 8, "do_sample": True, "seed": 3})
        assert reply["status"] == "ok" and reply["usage"]["completion_tokens"] >= 1


def test_auto_with_float16_on_cpu_takes_the_native_engine_and_says_why(tiny_model_dir):
    """MindFormers would run float32 on CPU whatever --precision says: auto goes native even where its GLM works."""
    with start(["--engine", "auto", "--precision", "float16"], tiny_model_dir) as side:
        ready = side.statuses[-1]
        assert ready["state"] == "ready", ready
        info = ready["info"]
        assert info["engine"] == "native" and info["compute_dtype"] == "float16"
        assert "ignores --precision float16" in info["engine_fallback"]
        assert any("using glm-chat's native engine" in (s.get("detail") or "") for s in side.statuses)


def test_auto_takes_mindformers_where_its_glm_works(tiny_model_dir):
    pytest.importorskip("mindformers.models.glm", reason="needs MindFormers 1.3.x with GLM-6B")
    with start(["--engine", "auto"], tiny_model_dir, timeout_s=600) as side:
        assert side.statuses[-1]["state"] == "ready", side.statuses[-1]
        info = side.statuses[-1]["info"]
        assert info["engine"] == "mindformers" and "engine_fallback" not in info


def test_explicit_mindformers_without_glm_fails_with_the_fix(tiny_model_dir, mindformers_without_glm):
    with start(["--engine", "mindformers"], tiny_model_dir, [mindformers_without_glm]) as side:
        failed = side.statuses[-1]
        assert failed["state"] == "failed" and failed["ename"] == "MindFormersGlmMissing"
        assert "mindformers==1.3.2" in failed["evalue"]


def test_counting_tokens_needs_neither_mindformers_nor_the_checkpoint(tiny_model_dir, mindformers_without_glm, tmp_path):
    for name in ("ice_text.model", "glm_config.json"):
        os.symlink(os.path.join(tiny_model_dir, name), str(tmp_path / name))
    with start(["--engine", "auto", "--tokenizer-only"], str(tmp_path), [mindformers_without_glm]) as side:
        assert side.statuses[-1]["state"] == "ready"
        assert "checkpoint" not in [s["phase"] for s in side.statuses]
        side.send(side.shell, "tokenize_request", {"text": PROMPT})
        reply = side.recv_until(side.shell, lambda m: m["msg_type"] == "tokenize_reply")[-1]["content"]
        # test_ice_tokenizer.py checks these ids against MindFormers' ChatGLMTokenizer
        assert reply["count"] == len(IceTokenizer(os.path.join(tiny_model_dir, "ice_text.model")).prompt_ids(PROMPT))
