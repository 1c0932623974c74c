"""The real sidecar (MindFormers GLM on the tiny model) under garbage, odd cancels, and a dying parent."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import msgpack
import pytest

from glm_sidecar import protocol
from tools.sidecar_client import SidecarProcess

pytest.importorskip("mindspore", reason="the MindSpore sidecar tests need mindspore (npm test installs it)")


@pytest.fixture(scope="module")
def sidecar(tiny_model_dir):
    with SidecarProcess(["--engine", "mindformers", "--model-dir", tiny_model_dir]) as side:
        assert side.wait_ready(timeout_s=600)[-1]["content"]["state"] == "ready"
        yield side


def answer(side, content):
    req = side.send(side.shell, "generate_request", content)
    msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply" and m["parent_id"] == req)
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "token"), msgs[-1]["content"]


def garbage_frames(key, count, seed=1):
    """Frames of every bad kind: random bytes, truncated msgpack, wrong field types, huge lengths,
    bad or missing signatures, unknown types. Correctly signed ones reach the decoder and validator."""
    rng = random.Random(seed)
    good = protocol.make_envelope("generate_request", {"prompt": "x"}, "s")
    bodies = [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64))),
        lambda: msgpack.packb(good)[: rng.randint(1, 40)],
        lambda: msgpack.packb(dict(good, v="1")),
        lambda: msgpack.packb(dict(good, msg_id=rng.randint(0, 9))),
        lambda: msgpack.packb(dict(good, content=[1, 2])),
        lambda: msgpack.packb(dict(good, ts=None)),
        lambda: b"\xdb\xff\xff\xff\xff" + b"a" * 8,  # str32 claiming 4 GiB
        lambda: b"\xdd\xff\xff\xff\xff",  # array32 claiming 4 billion items
        lambda: msgpack.packb(dict(good, msg_type="no_such_request")),
        lambda: msgpack.packb(dict(good, msg_type="generate_request", content={"prompt": 5})),
    ]
    for i in range(count):
        body = bodies[i % len(bodies)]()
        kind = i % 4
        if kind == 0:
            yield [body]  # missing signature frame
        elif kind == 1:
            yield [os.urandom(32), body]  # bad signature
        else:
            yield [protocol.sign(key, body), body]


def test_ten_thousand_garbage_frames_change_nothing(sidecar):
    before, _ = answer(sidecar, {"prompt": "你好", "max_new_tokens": 12, "do_sample": False})
    peer = sidecar.peers[sidecar.shell]
    sent = 0
    for frames in garbage_frames(sidecar.key, 10000):
        sidecar.shell.send_multipart([peer] + frames)
        sent += 1
        if sent % 200 == 0:  # read what came back meanwhile, as the UI's receive loop does (each refusal is answered)
            while sidecar.shell.poll(0):
                sidecar.shell.recv_multipart()
    assert sent == 10000
    after, reply = answer(sidecar, {"prompt": "你好", "max_new_tokens": 12, "do_sample": False})
    assert reply["status"] == "ok" and after == before
    # every frame that failed decoding was counted; the signed, valid-but-odd ones got error replies
    sidecar.send(sidecar.shell, "info_request", {})
    info = sidecar.recv_until(sidecar.shell, lambda m: m["msg_type"] == "info_reply")[-1]["content"]
    assert info["dropped_frames"] >= 8000
    assert info["ready"] is True


def test_cancel_before_the_first_token(sidecar):
    req = sidecar.send(sidecar.shell, "generate_request", {"prompt": "hello", "max_new_tokens": 100})
    sidecar.send(sidecar.control, "interrupt_request", {"target_id": req})
    assert sidecar.recv(sidecar.control)["msg_type"] == "interrupt_reply"
    msgs = sidecar.recv_until(sidecar.shell, lambda m: m["msg_type"] == "generate_reply" and m["parent_id"] == req)
    reply = msgs[-1]["content"]
    assert reply["status"] == "aborted" and reply["done_reason"] == "cancelled"
    # stopped before the budget (a busy machine may let a token or two through before the interrupt lands)
    assert reply["usage"]["completion_tokens"] < 100
    assert answer(sidecar, {"prompt": "你好", "max_new_tokens": 5, "do_sample": False})[1]["status"] == "ok"


def test_cancel_at_the_last_token_leaves_one_clean_reply(sidecar):
    n = 8
    req = sidecar.send(sidecar.shell, "generate_request", {"prompt": "你好", "max_new_tokens": n, "do_sample": False})
    seen = 0
    while True:
        msg = sidecar.recv(sidecar.shell)
        if msg["msg_type"] == "token":
            seen += 1
            if seen == n - 1:
                sidecar.send(sidecar.control, "interrupt_request", {"target_id": req})
        elif msg["msg_type"] == "generate_reply" and msg["parent_id"] == req:
            break
    assert msg["content"]["status"] in ("ok", "aborted")  # the race may go either way, but once
    assert msg["content"]["usage"]["completion_tokens"] <= n
    assert sidecar.recv(sidecar.control)["msg_type"] == "interrupt_reply"
    _, reply = answer(sidecar, {"prompt": "你好", "max_new_tokens": 5, "do_sample": False})
    assert reply["status"] == "ok" and reply["usage"]["completion_tokens"] == 5


def test_interrupt_with_nothing_running_is_harmless(sidecar):
    sidecar.send(sidecar.control, "interrupt_request", {})
    assert sidecar.recv(sidecar.control)["content"]["interrupted"] == 0
    assert answer(sidecar, {"prompt": "你好", "max_new_tokens": 5, "do_sample": False})[1]["status"] == "ok"


PARENT = r"""
import os, subprocess, sys, time
child = subprocess.Popen(sys.argv[1:] + ["--parent-pid", str(os.getpid())], env=os.environ)
print(child.pid, flush=True)
time.sleep(600)
"""


def test_sidecar_exits_when_its_parent_dies():
    side = SidecarProcess(["--engine", "fake"])  # binds the endpoints; its own child is not used
    side.proc.kill()
    side.proc.wait()
    cmd = [sys.executable, "-m", "glm_sidecar", "--shell", side.endpoint("shell"), "--control",
           side.endpoint("control"), "--engine", "fake"]
    env = dict(os.environ, GLM_CHAT_KEY=side.key.hex(), PYTHONPATH=os.path.dirname(os.path.dirname(__file__)))
    parent = subprocess.Popen([sys.executable, "-c", PARENT] + cmd, env=env, stdout=subprocess.PIPE)
    try:
        pid = int(parent.stdout.readline())
        assert side.recv(side.shell, timeout_s=30)["msg_type"] == "hello"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 2.0
        while time.time() < deadline and _alive(pid):
            time.sleep(0.05)
        assert not _alive(pid), "sidecar outlived its parent by 2 s"
    finally:
        parent.stdout.close()
        if parent.poll() is None:
            parent.kill()
        side.context.destroy(0)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except (OSError, IndexError):
        return False
