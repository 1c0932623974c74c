"""The sidecar's parent watch: it never outlives the UI that started it."""
from __future__ import annotations

import os
import threading
import time
from typing import Optional


def watch_parent(parent_pid: Optional[int], stopping: threading.Event, interval_s: float) -> None:
    """Checks every interval_s that the parent is still parent_pid (None: no parent to watch); once it is gone, sets
    stopping and exits the process a second later. Runs until the process ends, also while it shuts down: an exit
    that hangs must not outlive the UI."""
    while True:
        if parent_pid is not None and os.getppid() != parent_pid:
            stopping.set()
            time.sleep(1.0)
            os._exit(0)  # the worker may be inside a graph that will not return soon
        time.sleep(interval_s)
