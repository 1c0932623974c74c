"""The sidecar's own memory (VmRSS, VmHWM), the limit it runs under, and MindSpore's out-of-memory errors named."""
from __future__ import annotations

import os
from typing import Dict, Optional

from .engine.base import EngineError

# Words of MindSpore's allocation failures ("Memory not enough: ...", "... Out of memory ...").
OUT_OF_MEMORY_TEXTS = ("memory not enough", "out of memory")
# A cgroup "limit" this high is no limit (cgroup v1 writes 2**63 rounded down to a page).
UNLIMITED_BYTES = 1 << 60


def read_usage(status_path: str = "/proc/self/status") -> Optional[Dict[str, int]]:
    """{"rss_bytes", "rss_peak_bytes"} from /proc/self/status; None where there is no such file (not Linux)."""
    found = {}  # type: Dict[str, int]
    try:
        with open(status_path, "r") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    found[name] = int(value.split()[0]) * 1024  # "12345 kB"
    except (OSError, ValueError, IndexError):
        return None
    if "VmRSS" not in found:
        return None
    return {"rss_bytes": found["VmRSS"], "rss_peak_bytes": found.get("VmHWM", found["VmRSS"])}


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path, "r") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 says "max" when there is none


def memory_limit(cgroup_root: str = "/sys/fs/cgroup", meminfo: str = "/proc/meminfo") -> Optional[int]:
    """The limit glm-chat found (GLM_CHAT_MEMORY_LIMIT: its memory cgroup's, src/host/cgroup-memory.ts), else the
    cgroup root's memory limit where one is set and finite (v2 memory.max, v1 limit_in_bytes), else MemTotal."""
    given = os.environ.get("GLM_CHAT_MEMORY_LIMIT", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    limits = [n for n in (_read_int(os.path.join(cgroup_root, "memory.max")),
                          _read_int(os.path.join(cgroup_root, "memory", "memory.limit_in_bytes")))
              if n is not None and 0 < n < UNLIMITED_BYTES]
    try:
        with open(meminfo, "r") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    limits.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    return min(limits) if limits else None


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(words in text for words in OUT_OF_MEMORY_TEXTS)


def _gb(n: int) -> str:
    return "%.1f GB" % (n / 1e9)


def out_of_memory_error(exc: BaseException, device_target: Optional[str],
                        usage: Optional[Dict[str, int]] = None, limit: Optional[int] = None) -> EngineError:
    """EngineError OutOfMemory: how much the engine used of what it may use, MindSpore's own words, the fix."""
    usage = usage if usage is not None else read_usage()
    limit = limit if limit is not None else memory_limit()
    lines = str(exc).strip().splitlines()
    words = "%s: %s" % (type(exc).__name__, lines[0]) if lines else type(exc).__name__
    on_device = device_target in ("Ascend", "GPU")
    used = ""
    if usage is not None and limit is not None:
        used = "the engine used %s of %s%s " % (_gb(usage["rss_peak_bytes"]), _gb(limit), " of host RAM" if on_device else "")
    fix = ("a smaller --seq-length, a device with more free memory (--device-id), or a bigger one" if on_device
           else "--precision int8 or int4, a smaller --seq-length, or a machine with more memory")
    where = " on the %s" % device_target if on_device else ""
    return EngineError("OutOfMemory", "out of memory%s: %s(%s); try %s" % (where, used, words, fix))

