"""The peer of a sidecar process for tests and benchmarks: binds ROUTER sockets as the TS UI does, speaks protocol v1."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

import zmq

from glm_sidecar import protocol

SIDECAR_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SidecarProcess(object):
    """Spawns `python -m glm_sidecar` against freshly bound endpoints; a context manager."""

    def __init__(self, extra_args: List[str], python_path: Optional[List[str]] = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="glm-sidecar-test-")
        os.chmod(self.dir, 0o700)
        self.key = os.urandom(32)
        self.context = zmq.Context()
        self.shell = self._bind("shell")
        self.control = self._bind("control")
        env = dict(os.environ, GLM_CHAT_KEY=self.key.hex(),
                   PYTHONPATH=os.pathsep.join((python_path or []) + [SIDECAR_ROOT]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "glm_sidecar", "--shell", self.endpoint("shell"),
             "--control", self.endpoint("control"), "--parent-pid", str(os.getpid())] + extra_args,
            env=env, stderr=subprocess.PIPE, cwd=self.dir)  # MindSpore/MindFormers write dumps and logs to the cwd
        self.peers = {}  # type: Dict[Any, bytes]
        self.session = protocol.new_id()

    def endpoint(self, name: str) -> str:
        return "ipc://%s/%s" % (self.dir, name)

    def _bind(self, name: str) -> Any:
        sock = self.context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # block when the sidecar's queue is full; never drop silently
        sock.bind(self.endpoint(name))
        return sock

    def recv(self, sock: Any, timeout_s: float = 60.0) -> Dict[str, Any]:
        if not sock.poll(int(timeout_s * 1000)):
            raise AssertionError("no message within %.0f s; sidecar exit code %r" % (timeout_s, self.proc.poll()))
        frames = sock.recv_multipart()
        self.peers[sock] = frames[0]
        return protocol.decode_frames(frames[1:], self.key)

    def recv_until(self, sock: Any, predicate: Any, timeout_s: float = 120.0) -> List[Dict[str, Any]]:
        seen = []
        deadline = time.time() + timeout_s
        while True:
            msg = self.recv(sock, max(0.1, deadline - time.time()))
            seen.append(msg)
            if predicate(msg):
                return seen

    def send(self, sock: Any, msg_type: str, content: Dict[str, Any], key: Optional[bytes] = None) -> str:
        envelope = protocol.make_envelope(msg_type, content, self.session)
        sock.send_multipart([self.peers[sock]] + protocol.encode_frames(envelope, key or self.key))
        return envelope["msg_id"]

    def wait_ready(self, timeout_s: float = 300.0) -> List[Dict[str, Any]]:
        self.recv(self.control)  # control hello
        return self.recv_until(self.shell, lambda m: m["msg_type"] == "status"
                               and m["content"]["state"] in ("ready", "failed"), timeout_s)

    def __enter__(self) -> "SidecarProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()
        self.context.destroy(0)
