"""Faults at botocore's wire, for the embedded DynamoDB (moto).

moto answers botocore's calls from a ``before-send`` handler (its "network"). :class:`Wire` stands in that handler's
place on the shared DynamoDB client, like a proxy in front of the database: each ``TransactWriteItems`` that botocore
sends, its own retries included, takes the next planned fault, if any:

- ``lose``: the call reaches moto and is applied (or refused by its conditions), then the answer is lost as botocore's
  real ``ReadTimeoutError`` or ``ConnectionClosedError``;
- ``answer``: DynamoDB's error answer (HTTP 400 with its JSON body: ``ThrottlingException``,
  ``ProvisionedThroughputExceededException``, ``TransactionCanceledException`` with ``TransactionConflict``
  reasons...), and the call never reaches moto. botocore parses and retries it exactly as it would a real one.

Everything above the wire (botocore's retry handler and parser, pynamodb, ``db.tx``, ``machinery.idempotency``, the
HTTP layer) runs unchanged. botocore's own backoff between its retries is set to zero (the tests never sleep).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

TRANSACT = "DynamoDB_20120810.TransactWriteItems"
LOST = {"read_timeout": ReadTimeoutError, "connection_closed": ConnectionClosedError}


@dataclass
class _Raw:
    """The body of a fake HTTP answer, as botocore reads it."""

    body: bytes

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self.body


@dataclass
class Wire:
    """Planned faults for the next ``TransactWriteItems`` sends, and a log of every one sent."""

    faults: list[tuple[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    faulted: int = 0

    def lose(self, sends: int = 1, how: str = "read_timeout") -> Wire:
        """The next ``sends`` calls are applied by moto, then their answer is lost."""
        self.faults += [("lose", LOST[how])] * sends
        return self

    def answer(self, code: str, sends: int = 1, reasons: list[str] | None = None) -> Wire:
        """The next ``sends`` calls are answered with DynamoDB's error ``code`` and never applied."""
        body: dict[str, Any] = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code}
        if reasons is not None:
            body["CancellationReasons"] = [{"Code": r, "Message": r} if r != "None" else {"Code": r} for r in reasons]
            body["message"] = f"Transaction cancelled, please refer cancellation reasons for specific reasons {reasons}"
        self.faults += [("answer", body)] * sends
        return self

    def conflict(self, sends: int = 1) -> Wire:
        """What DynamoDB answers when another transaction holds an item: cancelled, ``TransactionConflict``."""
        return self.answer("TransactionCanceledException", sends, reasons=["None", "TransactionConflict"])

    def clear(self) -> None:
        self.faults.clear()

    def send(self, request: Any, event_name: str, moto: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        if (target.decode() if isinstance(target, bytes) else target) != TRANSACT:
            return moto(event_name=event_name, request=request)  # type: ignore[no-any-return]
        self.sent.append(json.loads(request.body))
        if not self.faults:
            return moto(event_name=event_name, request=request)  # type: ignore[no-any-return]
        kind, what = self.faults.pop(0)
        self.faulted += 1
        if kind == "lose":
            moto(event_name=event_name, request=request)  # applied; its answer never arrives
            raise what(endpoint_url=request.url)
        headers = {"x-amzn-RequestId": "wire-fault", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Raw(json.dumps(what).encode()))  # type: ignore[arg-type]


@pytest.fixture
def wire(dynamo: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    from botocore.retries import standard
    from moto.core.models import botocore_stubber

    from chalicelib import db
    from chalicelib.db import tx as db_tx
    from chalicelib.machinery import idempotency

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(idempotency, "backoff", lambda attempt: None)
    monkeypatch.setattr(db_tx, "pause", lambda attempt: None)
    events = db.connection().client.meta.events
    state = Wire()

    def send(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        return state.send(request, event_name, botocore_stubber)

    events.unregister("before-send", botocore_stubber)
    events.register("before-send", send, unique_id="test-wire")
    yield state
    events.unregister("before-send", unique_id="test-wire")
    events.register("before-send", botocore_stubber)
