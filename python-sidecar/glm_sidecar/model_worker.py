"""The sidecar's model worker thread: loads the model, then runs one generation at a time."""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Dict, Optional

import zmq

from . import memory
from .engine.base import EngineError, GenerateParams
from .thread_settings import IDLE_WAKE_MS, INBOX


class Job(object):
    """One generate_request: its id, its content and the flag an interrupt sets."""

    def __init__(self, msg_id: str, content: Dict[str, Any]) -> None:
        self.msg_id = msg_id
        self.content = content
        self.cancelled = threading.Event()


class ModelWorker(object):
    """Part of SidecarServer: runs on the worker thread and pushes what it emits to the main thread's outbox. Uses the
    server's engine, context, jobs, jobs_by_id, answered, interrupt_lock, current, load_error, ready, stopping
    and _error_of."""

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
                reply = self._generate(job, emit)
            except Exception as exc:
                reply = self._error_of(exc)
            finally:
                # Off the list before its reply leaves: an interrupt read after the reply never counts it.
                # Kept among the answered lately, which info_request's ids asks about (server.py).
                self.current = None
                with self.interrupt_lock:
                    self.answered.append(job.msg_id)
                    self.jobs_by_id.pop(job.msg_id, None)
            emit("generate_reply", reply, job.msg_id)
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

    def _generate(self, job: Job, emit: Any) -> Dict[str, Any]:
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
        # The engine's first token, whatever it decodes to (40 tokens of nothing still took their time each).
        first_at = getattr(result, "first_token_at", None) or first["at"] or started + total
        cancelled = result is None or result.done_reason == "cancelled"
        completion = result.completion_tokens if result is not None else 0
        return {
            "status": "aborted" if cancelled else "ok",
            "done_reason": "cancelled" if cancelled else result.done_reason,
            "usage": {"prompt_tokens": result.prompt_tokens if result is not None else 0,
                      "completion_tokens": completion},
            "timings": {"first_token_ms": round((first_at - started) * 1000, 3),
                        "total_ms": round(total * 1000, 3)},
        }
