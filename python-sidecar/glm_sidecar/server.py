"""The sidecar's sockets and threads: request loop, control thread, model worker and memory watch; it starts the
heartbeat (heartbeat.py) and the parent watch (parent_watch.py) on threads of their own."""
from __future__ import annotations

import collections
import os
import queue
import sys
import threading
import time
import traceback
from typing import Any, Dict, Optional

import zmq

from . import memory, protocol
from .engine.base import Engine, EngineError, GenerateParams
from .heartbeat import echo_heartbeats
from .parent_watch import watch_parent

INBOX = "inproc://worker-outbox"
# How often idle loops wake to check for shutdown: shutdown answers within this, a dead parent is
# noticed within this plus 1 s, and idle CPU stays low.
IDLE_WAKE_MS = 500
# How often the memory watch reports the process's RSS while the model loads or an answer runs.
MEMORY_REPORT_S = 1.0


class _Job(object):
    def __init__(self, msg_id: str, content: Dict[str, Any]) -> None:
        self.msg_id = msg_id
        self.content = content
        self.cancelled = threading.Event()


class SidecarServer(object):
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
        self.current = None  # type: Optional[_Job]
        self.jobs_by_id = {}  # type: Dict[str, _Job]
        # Interrupts that named a request not read from the shell yet (the control socket can overtake it).
        self.early_interrupts = collections.deque(maxlen=64)  # type: Any
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
        try:
            msg = protocol.decode_frames(frames, self.key)
        except protocol.ProtocolError:
            self.dropped_frames += 1
            return
        msg_type, content, msg_id = msg["msg_type"], msg["content"], msg["msg_id"]
        try:
            if msg_type == "info_request":
                info = dict(self.engine.info(), status="ok", ready=self.ready.is_set(),
                            dropped_frames=self.dropped_frames, pid=os.getpid())
                self._send(shell, "info_reply", info, msg_id)
            elif msg_type == "tokenize_request":
                self._send(shell, "tokenize_reply", self._tokenize(content), msg_id)
            elif msg_type == "generate_request":
                job = _Job(msg_id, content)
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

    def _tokenize(self, content: Dict[str, Any]) -> Dict[str, Any]:
        text = content.get("text")
        if not isinstance(text, str):
            raise EngineError("InvalidParameter", "tokenize_request needs a string 'text'")
        if self.load_error is not None:
            raise EngineError(self.load_error["ename"], self.load_error["evalue"])
        if not self.ready.is_set():
            raise EngineError("NotReady", "the model is still loading")
        return {"status": "ok", "count": self.engine.count_tokens(text)}

    # ---- control thread: interrupt and shutdown never wait behind a running graph ----
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

    # ---- worker thread: loads the model, then runs one generation at a time ----
    def _worker_loop(self) -> None:
        outbox = self.context.socket(zmq.PUSH)
        outbox.connect(INBOX)
        emit = lambda msg_type, content, parent=None: outbox.send_pyobj((msg_type, content, parent))
        self._load(emit)
        while not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=IDLE_WAKE_MS / 1000.0)
            except queue.Empty:
                continue
            self.current = job
            try:
                emit("generate_reply", self._generate(job, emit), job.msg_id)
            except Exception as exc:
                emit("generate_reply", self._error_of(exc), job.msg_id)
            finally:
                self.current = None
                self.jobs_by_id.pop(job.msg_id, None)
        outbox.close(0)

    def _load(self, emit: Any) -> None:
        started = time.time()
        phase = {"name": "start", "since": started}
        timings = {}  # type: Dict[str, float]

        def close_phase() -> None:
            now = time.time()
            timings[phase["name"]] = round(timings.get(phase["name"], 0.0) + now - phase["since"], 3)
            phase["since"] = now

        def report(name: str, progress: Optional[float], detail: Optional[str]) -> None:
            if name != phase["name"]:
                close_phase()
                phase["name"] = name
            emit("status", dict(memory.read_usage() or {}, state="loading", phase=name, progress=progress,
                                detail=detail, elapsed_s=round(time.time() - started, 3)))

        try:
            self.engine.load(report)
        except Exception as exc:
            self.load_error = self._error_of(exc)
            emit("status", dict(self.load_error, state="failed", phase=phase["name"],
                                elapsed_s=round(time.time() - started, 3)))
            return
        close_phase()
        timings.pop("start", None)
        self.ready.set()
        emit("status", dict(memory.read_usage() or {}, state="ready", phase="ready", progress=1.0, detail=None,
                            elapsed_s=round(time.time() - started, 3), info=self.engine.info(), timings=timings))

    def _generate(self, job: _Job, emit: Any) -> Dict[str, Any]:
        if self.load_error is not None:
            return self.load_error
        params = GenerateParams.from_content(job.content)
        prompt = job.content.get("prompt")
        if not isinstance(prompt, str):
            raise EngineError("InvalidParameter", "generate_request needs a string 'prompt'")
        started = time.time()
        first = {"at": None}  # type: Dict[str, Optional[float]]

        def on_text(text: str) -> None:
            if first["at"] is None:
                first["at"] = time.time()
            emit("token", {"text": text}, job.msg_id)

        if job.cancelled.is_set():
            result = None
        else:
            result = self.engine.generate(prompt, params, job.cancelled.is_set, on_text)
        total = time.time() - started
        cancelled = result is None or result.done_reason == "cancelled"
        completion = result.completion_tokens if result is not None else 0
        return {
            "status": "aborted" if cancelled else "ok",
            "done_reason": "cancelled" if cancelled else result.done_reason,
            "usage": {"prompt_tokens": result.prompt_tokens if result is not None else 0,
                      "completion_tokens": completion},
            "timings": {"first_token_ms": round(((first["at"] or time.time()) - started) * 1000, 3),
                        "total_ms": round(total * 1000, 3)},
        }

    # ---- memory watch: the RSS about once a second while loading or answering (the UI names an OOM kill by it) ----
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

    def _send(self, sock: Any, msg_type: str, content: Dict[str, Any], parent_id: Optional[str] = None) -> None:
        envelope = protocol.make_envelope(msg_type, content, self.session, parent_id)
        sock.send_multipart(protocol.encode_frames(envelope, self.key))


def _error_of(exc: BaseException) -> Dict[str, Any]:
    if isinstance(exc, EngineError):
        return protocol.error_content(exc.ename, str(exc))
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return protocol.error_content(type(exc).__name__, str(exc), [line.rstrip("\n") for line in lines])
