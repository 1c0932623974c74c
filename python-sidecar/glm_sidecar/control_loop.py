"""The sidecar's control thread: interrupt and shutdown never wait behind a running graph."""
from __future__ import annotations

import zmq

from . import protocol
from .thread_settings import IDLE_WAKE_MS


class ControlLoop(object):
    """Part of SidecarServer: serves the control socket. Uses the server's key, stopping, jobs_by_id,
    early_interrupts, interrupt_lock, dropped_frames, _socket and _send."""

    def _control_loop(self) -> None:
        control = self._socket(zmq.DEALER, self.control_endpoint)
        self._send(control, "hello", self._hello("control"))
        while not self.stopping.is_set():
            if not control.poll(IDLE_WAKE_MS):
                continue
            try:
                msg = protocol.decode_frames(control.recv_multipart(), self.key)
            except protocol.ProtocolError:
                self.dropped_frames += 1
                continue
            if msg["msg_type"] == "interrupt_request":
                target = msg["content"].get("target_id")
                with self.interrupt_lock:
                    hit = [job for job in list(self.jobs_by_id.values()) if target in (None, job.msg_id)]
                    if target is not None and not hit:
                        self.early_interrupts.append(target)
                for job in hit:
                    job.cancelled.set()
                self._send(control, "interrupt_reply", {"status": "ok", "interrupted": len(hit)}, msg["msg_id"])
            elif msg["msg_type"] == "shutdown_request":
                self._send(control, "shutdown_reply", {"status": "ok"}, msg["msg_id"])
                self.stopping.set()
        control.close(1000)  # linger: closing at once (0) could drop the shutdown_reply just sent
