"""scripts/device-check on a machine with no Ascend NPU and no NVIDIA GPU: it says so, from `glm-chat doctor --json`,
and exits non-zero; where the doctor cannot run it says that instead."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def device_check(**env):
    """scripts/device_check.py with a PATH that has no npu-smi, nvidia-smi or node: (its result, its report dir)."""
    empty = tempfile.mkdtemp(prefix="glm-no-device-")
    out = tempfile.mkdtemp(prefix="glm-device-report-")
    done = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "device_check.py")], cwd=out,
                          env=dict(os.environ, PATH=empty, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    return done, out


@pytest.fixture(autouse=True)
def no_npu():
    if os.path.exists("/dev/davinci0"):
        pytest.skip("an NPU machine: device-check would run for real")


def test_without_a_device_it_says_so_from_the_doctor_and_exits_non_zero():
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH to run glm-chat doctor")
    done, out = device_check(GLM_CHAT_NODE=node)
    assert done.returncode == 2, done.stdout
    assert "device-check: no Ascend NPU or NVIDIA GPU here (doctor: no Ascend NPU or NVIDIA GPU visible; " \
           "Ascend NPU: none visible (no npu-smi, no /dev/davinci*); NVIDIA GPU: none (no nvidia-smi))" in done.stdout
    assert os.listdir(out) == []  # no report pretending to be one


def test_without_the_doctor_it_cannot_tell_and_asks_for_the_device():
    done, out = device_check(GLM_CHAT_NODE=os.path.join(tempfile.gettempdir(), "no-such-node"))
    assert done.returncode == 2, done.stdout
    assert "device-check: cannot tell which device is here (glm-chat doctor could not run: cannot run " in done.stdout
    assert "pass --device Ascend or --device GPU." in done.stdout
    assert os.listdir(out) == []
