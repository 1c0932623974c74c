"""The sidecar's control thread: interrupt and shutdown never wait behind a running graph."""
from __future__ import annotations

import zmq

from .thread_settings import IDLE_WAKE_MS


class ControlLoop(object):
    """Part of SidecarServer: serves the control socket. Uses the server's stopping, jobs_by_id,
    early_interrupts, interrupt_lock, _decode_or_refuse, _socket and _send."""

    def _control_loop(self) -> None:
        control = self._socket(zmq.DEALER, self.control_endpoint)
        self._send(control, "hello", self._hello("control"))
        while not self.stopping.is_set():
            if not control.poll(IDLE_WAKE_MS):
                continue
            msg = self._decode_or_refuse(control, control.recv_multipart())
            if msg is None:
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
