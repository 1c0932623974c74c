"""Files being written that an exit must not leave behind: the quantized copy's temp file (up to 7 GB for GLM-6B
int8) when `glm-chat quantize` is cancelled, the sidecar is told to shut down, or it gets SIGTERM or SIGINT."""
from __future__ import annotations

import os
import threading
from typing import Set

_lock = threading.Lock()
_paths = set()  # type: Set[str]


def writing(path: str) -> None:
    """`path` is being written: remove_all() deletes it unless done(path) came first."""
    with _lock:
        _paths.add(path)


def done(path: str) -> None:
    with _lock:
        _paths.discard(path)


def remove_all() -> None:
    """Deletes every file still being written (a writer thread may still hold it open: on Linux its space is freed
    when that thread's descriptor closes, at the process's exit)."""
    with _lock:
        paths = list(_paths)
        _paths.clear()
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass
