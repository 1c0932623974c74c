"""The sidecar's request loop on the shell socket; it starts the control thread (control_loop.py), the model worker
(model_worker.py), the memory watch (memory_watch.py), the heartbeat (heartbeat.py) and the parent watch
(parent_watch.py)."""
from __future__ import annotations

import collections
import os
import queue
import sys
import threading
import traceback
from typing import Any, Dict, Optional

import zmq

from . import memory, protocol
from .control_loop import ControlLoop
from .engine.base import Engine, EngineError
from .heartbeat import echo_heartbeats
from .memory_watch import MemoryWatch
from .model_worker import Job, ModelWorker
from .parent_watch import watch_parent
from .thread_settings import IDLE_WAKE_MS, INBOX


class SidecarServer(ControlLoop, ModelWorker, MemoryWatch):
    """Connects to the UI's shell and control endpoints and serves one engine."""

    def __init__(self, engine: Engine, shell: str, control: str, key: bytes,
                 parent_pid: Optional[int] = None, heartbeat: Optional[str] = None) -> None:
        self.engine = engine
        self.shell_endpoint = shell
        self.control_endpoint = control
        self.heartbeat_endpoint = heartbeat
        self.key = key
        self.parent_pid = parent_pid
        self.session = protocol.new_id()
        self.context = zmq.Context()
        self.jobs = queue.Queue()  # type: queue.Queue
        self.current = None  # type: Optional[Job]
        self.jobs_by_id = {}  # type: Dict[str, Job]
        # Interrupts that named a request not read from the shell yet (the control socket can overtake it).
        self.early_interrupts = collections.deque(maxlen=64)  # type: Any
        self.answered = collections.deque(maxlen=256)  # type: Any
        self.interrupt_lock = threading.Lock()
        self.load_error = None  # type: Optional[Dict[str, Any]]
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.dropped_frames = 0

    # ---- main thread: shell socket + worker outbox ----
    def run(self) -> int:
        shell = self._socket(zmq.DEALER, self.shell_endpoint)
        outbox = self.context.socket(zmq.PULL)
        outbox.bind(INBOX)
        self._send(shell, "hello", self._hello("shell"))
        threading.Thread(target=self._control_loop, daemon=True).start()
        threading.Thread(target=self._worker_loop, daemon=True).start()
        threading.Thread(target=watch_parent, args=(self.parent_pid, self.stopping, IDLE_WAKE_MS / 1000.0),
                         daemon=True).start()
        if self.heartbeat_endpoint:
            threading.Thread(target=echo_heartbeats, args=(lambda: self._socket(zmq.ROUTER, self.heartbeat_endpoint),),
                             daemon=True).start()
        threading.Thread(target=self._memory_watch, daemon=True).start()
        poller = zmq.Poller()
        poller.register(shell, zmq.POLLIN)
        poller.register(outbox, zmq.POLLIN)
        while not self.stopping.is_set():
            events = dict(poller.poll(IDLE_WAKE_MS))
            if outbox in events:
                while True:
                    try:
                        msg_type, content, parent_id = outbox.recv_pyobj(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._send(shell, msg_type, content, parent_id)
            if shell in events:
                self._handle_shell(shell, shell.recv_multipart())
        for job in list(self.jobs_by_id.values()):
            job.cancelled.set()
        shell.close(0)
        outbox.close(0)
        return 0

    def _handle_shell(self, shell: Any, frames: Any) -> None:
        msg = self._decode_or_refuse(shell, frames)
        if msg is None:
            return
        msg_type, content, msg_id = msg["msg_type"], msg["content"], msg["msg_id"]
        try:
            if msg_type == "info_request":
                info = dict(self.engine.info(), status="ok", ready=self.ready.is_set(),
                            dropped_frames=self.dropped_frames, pid=os.getpid())
                if isinstance(content.get("ids"), list):  # which are queued, running or answered lately
                    with self.interrupt_lock:
                        known = set(self.jobs_by_id) | set(self.answered)
                    info["known_ids"] = [i for i in content["ids"][:64] if isinstance(i, str) and i in known]
                self._send(shell, "info_reply", info, msg_id)
            elif msg_type == "tokenize_request":
                self._send(shell, "tokenize_reply", self._tokenize(content), msg_id)
            elif msg_type == "generate_request":
                job = Job(msg_id, content)
                with self.interrupt_lock:
                    self.jobs_by_id[msg_id] = job
                    if msg_id in self.early_interrupts:
                        self.early_interrupts.remove(msg_id)
                        job.cancelled.set()
                self.jobs.put(job)
            # other types (including unknown ones) are ignored, as the protocol says
        except Exception as exc:  # a handler error becomes an error reply; the loop never dies of it
            reply_type = msg_type[:-len("_request")] + "_reply" if msg_type.endswith("_request") else "info_reply"
            self._send(shell, reply_type, self._error_of(exc), msg_id)

    def _decode_or_refuse(self, sock: Any, frames: Any) -> Optional[Dict[str, Any]]:
        """The frame's envelope; or None after answering it with a protocol_error (its id as parent where readable)."""
        try:
            return protocol.decode_frames(frames, self.key)
        except protocol.ProtocolError as error:
            self.dropped_frames += 1
            try:  # never waits: a peer that floods without reading gets no refusals once its queue is full
                self._send(sock, "protocol_error", *protocol.refusal(frames, error), flags=zmq.NOBLOCK)
            except zmq.Again:
                pass
            return None

    def _tokenize(self, content: Dict[str, Any]) -> Dict[str, Any]:
        text = content.get("text")
        if not isinstance(text, str):
            raise EngineError("InvalidParameter", "tokenize_request needs a string 'text'")
        if self.load_error is not None:
            raise EngineError(self.load_error["ename"], self.load_error["evalue"])
        if not self.ready.is_set():
            raise EngineError("NotReady", "the model is still loading")
        return {"status": "ok", "count": self.engine.count_tokens(text)}

    def _error_of(self, exc: BaseException) -> Dict[str, Any]:
        """_error_of, naming MindSpore's allocation failures OutOfMemory (also on stderr, so the log has it)."""
        if not isinstance(exc, EngineError) and memory.is_out_of_memory(exc):
            try:
                device_target = self.engine.info().get("device_target")
            except Exception:
                device_target = None
            exc = memory.out_of_memory_error(exc, device_target)
            sys.stderr.write("glm_sidecar: %s\n" % exc)
        return _error_of(exc)

    def _socket(self, kind: int, endpoint: str) -> Any:
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        return sock

    def _hello(self, channel: str) -> Dict[str, Any]:
        return {"protocol_version": protocol.PROTOCOL_VERSION, "pid": os.getpid(), "channel": channel,
                "engine": self.engine.name}

    def _send(self, sock: Any, msg_type: str, content: Dict[str, Any], parent_id: Optional[str] = None,
              flags: int = 0) -> None:
        envelope = protocol.make_envelope(msg_type, content, self.session, parent_id)
        sock.send_multipart(protocol.encode_frames(envelope, self.key), flags)


def _error_of(exc: BaseException) -> Dict[str, Any]:
    if isinstance(exc, EngineError):
        return protocol.error_content(exc.ename, str(exc))
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return protocol.error_content(type(exc).__name__, str(exc), [line.rstrip("\n") for line in lines])
