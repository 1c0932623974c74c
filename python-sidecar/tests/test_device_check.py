"""scripts/device-check on a machine with no Ascend NPU and no NVIDIA GPU: it says so and exits non-zero."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_without_a_device_it_says_so_and_exits_non_zero():
    if os.path.exists("/dev/davinci0"):
        pytest.skip("an NPU machine: device-check would run for real")
    empty = tempfile.mkdtemp(prefix="glm-no-device-")  # PATH without npu-smi or nvidia-smi
    out = tempfile.mkdtemp(prefix="glm-device-report-")
    done = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "device_check.py")], cwd=out,
                          env=dict(os.environ, PATH=empty), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)
    assert done.returncode == 2
    assert "device-check: no Ascend NPU or NVIDIA GPU here (no npu-smi, no /dev/davinci*, no working nvidia-smi)" \
        in done.stdout
    assert os.listdir(out) == []  # no report pretending to be one
