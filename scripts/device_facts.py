"""What scripts/device-check reports about the machine: which device is there, its driver, CANN or CUDA, MindSpore
and its plugins. Read-only: commands with a timeout, files, environment variables."""
from __future__ import annotations

import glob
import os
import re
import subprocess
from typing import Any, Dict, List, Optional, Tuple


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


def detect() -> Tuple[Optional[str], str]:
    """("Ascend" | "GPU" | None, why)."""
    npu = command(["npu-smi", "info"])
    if npu["found"] and npu["code"] == 0:
        return "Ascend", "npu-smi info works"
    davinci = sorted(glob.glob("/dev/davinci[0-9]*"))
    if davinci:
        return "Ascend", "%s present" % ", ".join(davinci)
    smi = command(["nvidia-smi", "-L"])
    if smi["found"] and smi["code"] == 0:
        return "GPU", smi["out"].strip().splitlines()[0] if smi["out"].strip() else "nvidia-smi -L works"
    return None, "no npu-smi, no /dev/davinci*, no working nvidia-smi"


def _first_file(paths: List[str]) -> Optional[Dict[str, str]]:
    for path in paths:
        if os.path.isfile(path):
            with open(path, errors="replace") as handle:
                return {"file": path, "text": handle.read()[:2000]}
    return None


def ascend_facts() -> Dict[str, Any]:
    home = os.environ.get("ASCEND_HOME_PATH") or os.environ.get("ASCEND_TOOLKIT_HOME")
    roots = [home] if home else []
    roots += ["/usr/local/Ascend/ascend-toolkit/latest", "/usr/local/Ascend/nnae/latest"]
    versions = [os.path.join(r, name) for r in roots for name in ("version.cfg", "ascend_toolkit_install.info",
                                                                   "compiler/version.info", "x86_64-linux/ascend_toolkit_install.info",
                                                                   "aarch64-linux/ascend_toolkit_install.info")]
    return {"npu_smi": command(["npu-smi", "info"])["out"], "ascend_home_path": home,
            "cann_version": _first_file(versions), "driver_version": _first_file(["/usr/local/Ascend/driver/version.info"])}


def nvidia_facts() -> Dict[str, Any]:
    query = command(["nvidia-smi", "--query-gpu=name,driver_version,compute_cap,memory.total", "--format=csv,noheader"])
    cuda_home = os.environ.get("CUDA_HOME")
    nvcc = command([os.path.join(cuda_home, "bin", "nvcc"), "--version"]) if cuda_home else None
    release = re.search(r"release (\d+\.\d+),", nvcc["out"]) if nvcc else None
    return {"gpus": [line.strip() for line in query["out"].splitlines() if line.strip()], "cuda_home": cuda_home,
            "nvcc_release": release.group(1) if release else None, "nvcc": nvcc,
            "ld_library_path": os.environ.get("LD_LIBRARY_PATH")}


def mindspore_facts() -> Dict[str, Any]:
    try:
        import mindspore
    except ImportError as exc:
        return {"error": "cannot import mindspore: %s" % exc}
    plugin_dir = os.path.join(os.path.dirname(mindspore.__file__), "lib", "plugin")
    plugins = sorted(os.listdir(plugin_dir)) if os.path.isdir(plugin_dir) else []
    return {"version": mindspore.__version__, "path": os.path.dirname(mindspore.__file__), "plugins": plugins}
