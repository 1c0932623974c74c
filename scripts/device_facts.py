"""What scripts/device-check reports about the machine: which device is there and its driver, CANN or CUDA, read from
`glm-chat doctor --json` (no second probe of npu-smi, nvidia-smi or nvcc), plus what the doctor does not say: the
CANN and driver version files and MindSpore's own path and plugins. Read-only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The doctor's checks that describe each device's host side.
DEVICE_CHECKS = {"Ascend": ("ascend",), "GPU": ("nvidia", "gpu_plugin", "cuda_libs", "gpu_arch")}


def command(args: List[str], timeout: float = 20, env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """{"found", "code", "out"} of one command (stdout and stderr together, at most 4,000 characters)."""
    try:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                              universal_newlines=True, env=env)
    except (OSError, ValueError) as exc:
        return {"found": False, "code": None, "out": str(exc)}
    except subprocess.TimeoutExpired:
        return {"found": True, "code": None, "out": "timed out after %ds" % timeout}
    return {"found": True, "code": done.returncode, "out": done.stdout[-4000:]}


def doctor(flags: List[str], python: Optional[str] = None, timeout: float = 300) -> Dict[str, Any]:
    """This checkout's `glm-chat doctor --json --offline` for `python` (GLM_CHAT_NODE or `node` runs it):
    {"code", "report"}, or {"code", "error"} where it cannot run or prints no report."""
    args = [os.environ.get("GLM_CHAT_NODE", "node"), os.path.join(ROOT, "bin", "glm-chat.js"), "doctor", "--json",
            "--offline", "--python", python or sys.executable] + list(flags)
    try:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              universal_newlines=True)
    except (OSError, ValueError) as exc:
        return {"code": None, "error": "cannot run %s: %s" % (args[0], exc)}
    except subprocess.TimeoutExpired:
        return {"code": None, "error": "timed out after %ds" % timeout}
    try:
        return {"code": done.returncode, "report": json.loads(done.stdout)}
    except ValueError:
        said = (done.stderr.strip() or done.stdout.strip())[-500:]
        return {"code": done.returncode, "error": "no JSON report (exit %d): %s" % (done.returncode, said)}


def checks_of(ran: Dict[str, Any], ids: Tuple[str, ...]) -> Dict[str, Any]:
    """The doctor's checks with these ids, by id (status, title, detail, fix)."""
    checks = (ran.get("report") or {}).get("checks") or []
    return dict((check["id"], check) for check in checks if check.get("id") in ids)


def detect(ran: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """("Ascend" | "GPU" | None, why) from the doctor's automatic device choice and its Ascend and NVIDIA checks
    (a GPU MindSpore cannot use still counts: device-check is there to report why)."""
    if "report" not in ran:
        return None, "glm-chat doctor could not run: %s" % ran["error"]
    device = ran["report"].get("device") or {}
    if device.get("target") in DEVICE_CHECKS:
        return device["target"], "doctor: %s" % device.get("reason")
    found = checks_of(ran, ("ascend", "nvidia"))
    for target, check in (("Ascend", found.get("ascend")), ("GPU", found.get("nvidia"))):
        if check and check.get("status") != "skip":
            return target, "doctor: %s; %s" % (check.get("detail"), device.get("reason"))
    said = ["%s: %s" % (c.get("title"), c.get("detail")) for c in (found.get("ascend"), found.get("nvidia")) if c]
    return None, "doctor: %s" % "; ".join([str(device.get("reason"))] + said)


def _first_file(paths: List[str]) -> Optional[Dict[str, str]]:
    for path in paths:
        if os.path.isfile(path):
            with open(path, errors="replace") as handle:
                return {"file": path, "text": handle.read()[:2000]}
    return None


def ascend_facts(ran: Dict[str, Any]) -> Dict[str, Any]:
    home = os.environ.get("ASCEND_HOME_PATH") or os.environ.get("ASCEND_TOOLKIT_HOME")
    roots = [home] if home else []
    roots += ["/usr/local/Ascend/ascend-toolkit/latest", "/usr/local/Ascend/nnae/latest"]
    versions = [os.path.join(r, name) for r in roots for name in ("version.cfg", "ascend_toolkit_install.info",
                                                                   "compiler/version.info", "x86_64-linux/ascend_toolkit_install.info",
                                                                   "aarch64-linux/ascend_toolkit_install.info")]
    return {"doctor": checks_of(ran, DEVICE_CHECKS["Ascend"]), "ascend_home_path": home,
            "cann_version": _first_file(versions), "driver_version": _first_file(["/usr/local/Ascend/driver/version.info"])}


def nvidia_facts(ran: Dict[str, Any]) -> Dict[str, Any]:
    return {"doctor": checks_of(ran, DEVICE_CHECKS["GPU"]), "cuda_home": os.environ.get("CUDA_HOME"),
            "ld_library_path": os.environ.get("LD_LIBRARY_PATH")}


def mindspore_facts() -> Dict[str, Any]:
    try:
        import mindspore
    except ImportError as exc:
        return {"error": "cannot import mindspore: %s" % exc}
    plugin_dir = os.path.join(os.path.dirname(mindspore.__file__), "lib", "plugin")
    plugins = sorted(os.listdir(plugin_dir)) if os.path.isdir(plugin_dir) else []
    return {"version": mindspore.__version__, "path": os.path.dirname(mindspore.__file__), "plugins": plugins}
