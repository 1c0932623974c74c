"""The real sidecar process running MindFormers' GLM-6B in GRAPH_MODE on CPU, on the tiny checkpoint."""
from __future__ import annotations

import pytest

from tools.sidecar_client import SidecarProcess

pytest.importorskip("mindspore", reason="the MindSpore sidecar tests need mindspore (npm test installs it)")


@pytest.fixture(scope="module")
def sidecar(tiny_model_dir):
    with SidecarProcess(["--engine", "mindformers", "--model-dir", tiny_model_dir, "--device-target", "CPU"]) as side:
        statuses = [m["content"] for m in side.wait_ready(timeout_s=600) if m["msg_type"] == "status"]
        assert statuses[-1]["state"] == "ready", statuses[-1]
        side.statuses = statuses
        yield side


def generate(side, content):
    req = side.send(side.shell, "generate_request", content)
    msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply", timeout_s=120)
    # The memory watch samples on its own thread: its report on the previous request can trail that request's reply.
    msgs = [m for m in msgs if m["msg_type"] != "memory" or m["parent_id"] == req]
    assert all(m["parent_id"] == req for m in msgs)
    return [m for m in msgs if m["msg_type"] == "token"], msgs[-1]["content"]


def test_load_reports_every_phase_and_info(sidecar):
    phases = [s["phase"] for s in sidecar.statuses]
    for phase in ("import", "build", "checkpoint", "compile", "warmup", "ready"):
        assert phase in phases
    timings = sidecar.statuses[-1]["timings"]
    assert sorted(timings) == ["build", "checkpoint", "compile", "import", "warmup"]
    assert timings["warmup"] < timings["compile"]  # the second run reuses the compiled graphs
    checkpoint_detail = [s["detail"] for s in sidecar.statuses if s["phase"] == "checkpoint"][-1]
    assert "MB/s" in checkpoint_detail
    info = sidecar.statuses[-1]["info"]
    assert info["engine"] == "mindformers" and info["device_target"] == "CPU"
    assert info["engine_version"].startswith("1.") and info["seq_length"] == 256


def test_greedy_answer_streams_token_by_token(sidecar):
    tokens, reply = generate(sidecar, {"prompt": "你好", "max_new_tokens": 24, "do_sample": False})
    assert reply["status"] == "ok", reply
    assert reply["done_reason"] in ("stop", "length")
    assert reply["usage"]["completion_tokens"] == 24 and reply["usage"]["prompt_tokens"] >= 3
    assert len(tokens) >= 10  # one frame per decodable token, not one blob at the end
    stamps = [m["ts"] for m in tokens]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]
    again, _ = generate(sidecar, {"prompt": "你好", "max_new_tokens": 24, "do_sample": False})
    assert "".join(m["content"]["text"] for m in again) == "".join(m["content"]["text"] for m in tokens)


def test_seeded_sampling_is_reproducible_and_differs_from_greedy(sidecar):
    prompt = {"prompt": "[Round 0]\n问：你好\n答：你好\n[Round 1]\n问：北京\n答：", "max_new_tokens": 30}
    a, _ = generate(sidecar, dict(prompt, do_sample=True, seed=7, top_p=0.9, temperature=1.0))
    b, _ = generate(sidecar, dict(prompt, do_sample=True, seed=7, top_p=0.9, temperature=1.0))
    c, _ = generate(sidecar, dict(prompt, do_sample=False))
    text = lambda msgs: "".join(m["content"]["text"] for m in msgs)
    assert text(a) == text(b)
    assert text(a) != text(c)


def test_interrupt_stops_within_a_token(sidecar):
    req = sidecar.send(sidecar.shell, "generate_request", {"prompt": "hello", "max_new_tokens": 200, "do_sample": False})
    sidecar.recv_until(sidecar.shell, lambda m: m["msg_type"] == "token")
    sidecar.send(sidecar.control, "interrupt_request", {"target_id": req})
    msgs = sidecar.recv_until(sidecar.shell, lambda m: m["msg_type"] == "generate_reply")
    reply = msgs[-1]["content"]
    assert reply["status"] == "aborted" and reply["done_reason"] == "cancelled"
    assert reply["usage"]["completion_tokens"] < 200
    # the engine is usable right after a cancel, with a clean cache
    tokens, reply = generate(sidecar, {"prompt": "你好", "max_new_tokens": 24, "do_sample": False})
    assert reply["status"] == "ok" and len(tokens) >= 10


def test_tokenize_counts_with_the_chatglm_tokenizer(sidecar):
    sidecar.send(sidecar.shell, "tokenize_request", {"text": "你好"})
    reply = sidecar.recv(sidecar.shell)["content"]
    assert reply["status"] == "ok" and reply["count"] == 3  # 你好 + [gMASK] + <sop>


def test_prompt_longer_than_the_model_is_refused_clearly(sidecar):
    _, reply = generate(sidecar, {"prompt": "北京 " * 400, "max_new_tokens": 8})
    assert reply["status"] == "error" and reply["ename"] == "PromptTooLong"
    assert "256" in reply["evalue"]


def test_missing_checkpoint_fails_the_load_with_its_name(tmp_path):
    with SidecarProcess(["--engine", "mindformers", "--model-dir", str(tmp_path)]) as side:
        status = side.wait_ready()[-1]["content"]
        assert status["state"] == "failed" and status["ename"] == "ModelFileMissing"
        assert "glm_6b.ckpt" in status["evalue"] and str(tmp_path) in status["evalue"]


def test_the_prompt_reaches_the_model(sidecar):
    answers = set()
    for prompt in ("你好", "北京", "[Round 0]\n问：你好\n答：abc\n[Round 1]\n问：北京\n答："):
        tokens, _ = generate(sidecar, {"prompt": prompt, "max_new_tokens": 12, "do_sample": False})
        answers.add("".join(m["content"]["text"] for m in tokens))
    assert len(answers) == 3
