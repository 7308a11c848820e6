"""Work handed from a scheduled job or a request to a worker, one task a message: in AWS the jobs' SQS queue (read by
the worker function, ``app.py``'s ``run_job_task``; failures go to its dead-letter queue after a few tries), locally
(``make run``, tests) an in-process queue that runs each task as soon as it is sent, one after another. Tasks are
idempotent: a task delivered twice finds its work done or its cursor moved on.

A module that sends a kind of task registers its handler (:func:`register`) when it is imported; the worker imports
them all (``services/jobs.py``)."""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

QUEUE_URL_ENV = "LOYALTY_JOBS_QUEUE_URL"
SQS_BATCH = 10  # SendMessageBatch's limit


Handler = Callable[[dict[str, Any], datetime], None]
_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    _handlers[kind] = handler


def run(task: Task, now: datetime) -> None:
    """Do one task (the worker's entry point)."""
    handler = _handlers.get(task.kind)
    if handler is None:
        raise ValueError(f"no handler for task {task.kind!r}")
    handler(task.args, now)


@dataclass(frozen=True)
class Task:
    kind: str  # "expiry_segment" | "reconciliation"
    args: dict[str, Any] = field(default_factory=dict)
    at: str = ""  # when it was sent: the instant a local run works at (the worker in AWS uses its own clock)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "args": self.args, "at": self.at}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Task:
        data = json.loads(text)
        return cls(str(data["kind"]), dict(data.get("args") or {}), str(data.get("at") or ""))


class Queue(Protocol):
    def send(self, tasks: Sequence[Task]) -> None: ...


class LocalQueue:
    """In process: a task sent runs at once (``auto_run``), after those already waiting; a task sent while tasks run
    (a worker handing itself on) waits for its turn in the same loop. With ``auto_run`` off tasks wait for
    :meth:`drain` (tests that look at work under way)."""

    def __init__(self) -> None:
        self._pending: deque[Task] = deque()
        self._lock = threading.Lock()
        self._running = threading.local()
        self.auto_run = True

    def send(self, tasks: Sequence[Task]) -> None:
        with self._lock:
            self._pending.extend(tasks)
        if self.auto_run and not getattr(self._running, "on", False):
            self.drain()

    def pending(self) -> list[Task]:
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def drain(self, limit: int = 1_000_000) -> int:
        """Run the waiting tasks (and those they send) in order; how many ran."""
        ran = 0
        self._running.on = True
        try:
            while ran < limit:
                with self._lock:
                    if not self._pending:
                        break
                    task = self._pending.popleft()
                run(task, datetime.fromisoformat(task.at) if task.at else datetime.now(UTC))
                ran += 1
        finally:
            self._running.on = False
        return ran


class SqsQueue:
    def __init__(self, url: str) -> None:
        from chalicelib.db import aws_session

        self._url = url
        self._client = aws_session.client("sqs")

    def send(self, tasks: Sequence[Task]) -> None:
        for start in range(0, len(tasks), SQS_BATCH):
            chunk = tasks[start : start + SQS_BATCH]
            entries = [{"Id": str(i), "MessageBody": t.to_json()} for i, t in enumerate(chunk)]
            answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            if answer.get("Failed"):  # the scheduled run fails, and is retried by Lambda, rather than skip a segment
                raise RuntimeError(f"the jobs' queue refused {len(answer['Failed'])} task(s)")


_local = LocalQueue()
_sqs: SqsQueue | None = None


def local() -> LocalQueue:
    """The in-process queue (tests drain it; so does ``make run``)."""
    return _local


def queue() -> Queue:
    """The jobs' queue: SQS when the stack gives its URL (in AWS), else the in-process one."""
    global _sqs
    url = os.environ.get(QUEUE_URL_ENV)
    if not url:
        return _local
    if _sqs is None:
        _sqs = SqsQueue(url)
    return _sqs
