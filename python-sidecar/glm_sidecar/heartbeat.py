"""The sidecar's heartbeat: a pure echo inside libzmq (no GIL), so it answers while a graph compiles."""
from __future__ import annotations

from typing import Any, Callable

import zmq


def echo_heartbeats(connect: Callable[[], Any]) -> None:
    """Sends each [peer, ping] on the ROUTER socket `connect()` makes straight back to its peer; returns when the
    context is terminated at exit. Run it on its own thread: the socket is made and used there."""
    echo = connect()
    try:
        zmq.proxy(echo, echo)
    except zmq.ZMQError:
        pass  # the context was terminated at exit
