"""The sidecar's memory watch: the RSS about once a second while loading or answering (the UI names OOM kills by it)."""
from __future__ import annotations

import zmq

from . import memory
from .thread_settings import INBOX

# How often the memory watch reports the process's RSS while the model loads or an answer runs.
MEMORY_REPORT_S = 1.0


class MemoryWatch(object):
    """Part of SidecarServer: runs on a thread of its own. Uses the server's context, current, ready, load_error
    and stopping."""

    def _memory_watch(self) -> None:
        if memory.read_usage() is None:
            return  # no /proc/self/status (not Linux): the protocol says nothing is reported
        outbox = self.context.socket(zmq.PUSH)
        outbox.connect(INBOX)
        while not self.stopping.wait(MEMORY_REPORT_S):
            job = self.current
            loading = not self.ready.is_set() and self.load_error is None
            usage = memory.read_usage() if job is not None or loading else None
            if usage is not None:
                outbox.send_pyobj(("memory", usage, job.msg_id if job is not None else None))
        outbox.close(0)
