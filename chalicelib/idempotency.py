"""Exactly-once writes.

Every state-changing request runs through :func:`execute`. It reads what the decision needs together with the
request's replay records (its ``Idempotency-Key`` record and its natural-id record such as the order) in one
BatchGetItem, lets the service decide, and commits the service's transaction with both replay records added under
``attribute_not_exists``. So the effect and the record of it land together or not at all, and a replay, however
late, finds the record and gets the stored status and body back byte for byte.

Only successful results are recorded: a request that failed changed nothing, so repeating it re-evaluates it.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from chalicelib import db
from chalicelib.db import keys
from chalicelib.errors import ApiError, Conflict, IdempotencyKeyReused, Unavailable

MAX_ATTEMPTS = 12

ReadKey = tuple[type[db.models._Item], str, str]


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    replayed: bool = False


@dataclass(frozen=True)
class WriteRequest:
    """What the replay machinery needs to know about the HTTP request."""

    scope: str  # the API key id: Idempotency-Key is scoped to it
    idempotency_key: str | None
    request_fingerprint: str  # method + path + body
    body_fingerprint: str  # body only: natural ids replay on the same body whatever the key
    now_iso: str


@dataclass(frozen=True)
class NaturalId:
    pk: str
    sk: str
    duplicate: type[Conflict]


@dataclass
class Plan:
    """A service's decision: the transaction to commit and the response it produces."""

    status: int
    response: BaseModel | None = None  # set by ``decide`` once it knows the outcome
    tx: db.Transaction = field(default_factory=db.Transaction)
    natural_state: dict[str, Any] = field(default_factory=dict)
    customer_id: str | None = None
    # Commit ``tx`` (what time did, e.g. releasing an expired hold) and then answer with this error.
    error: ApiError | None = None


Decide = Callable[[dict[tuple[str, str], Any]], Plan]


def _check_replay(found: dict[tuple[str, str], Any], req: WriteRequest, natural: NaturalId | None) -> Reply | None:
    if req.idempotency_key is not None:
        record = found.get(keys.idempotency(req.scope, req.idempotency_key))
        if record is not None:
            if record.fingerprint != req.request_fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different request; use a new key for a new request."
                )
            return Reply(int(record.status_code), record.body, replayed=True)
    if natural is not None:
        record = found.get((natural.pk, natural.sk))
        if record is not None:
            if record.fingerprint != req.body_fingerprint:
                raise natural.duplicate()
            return Reply(int(record.status_code), record.body, replayed=True)
    return None


def execute(
    req: WriteRequest,
    natural: NaturalId | None,
    reads: Sequence[ReadKey],
    decide: Decide,
    render: Callable[[str], str] | None = None,
) -> Reply:
    """Run ``decide`` exactly once per request identity. ``render`` post-processes every reply body, fresh or
    replayed (key creation uses it so that a secret is never stored, yet a replay shows it again)."""
    reply = _execute(req, natural, reads, decide)
    if render is None:
        return reply
    return Reply(reply.status, render(reply.body), reply.replayed)


def _execute(req: WriteRequest, natural: NaturalId | None, reads: Sequence[ReadKey], decide: Decide) -> Reply:
    wanted: list[ReadKey] = list(reads)
    if req.idempotency_key is not None:
        wanted.append((db.ReplayItem, *keys.idempotency(req.scope, req.idempotency_key)))
    if natural is not None:
        wanted.append((db.ReplayItem, natural.pk, natural.sk))
    for attempt in range(MAX_ATTEMPTS):
        found = db.get_many(wanted)
        replay = _check_replay(found, req, natural)
        if replay is not None:
            return replay
        plan = decide(found)
        if plan.error is not None:
            try:
                plan.tx.commit(db.connection())
            except db.TxCancelled:
                backoff(attempt)
                continue
            raise plan.error
        if plan.response is None:
            raise TypeError("decide() returned a plan without a response")
        body = plan.response.model_dump_json()
        tx = plan.tx
        if req.idempotency_key is not None:
            pk, sk = keys.idempotency(req.scope, req.idempotency_key)
            tx.put(
                db.ReplayItem(
                    pk,
                    sk,
                    fingerprint=req.request_fingerprint,
                    status_code=plan.status,
                    body=body,
                    created_at=req.now_iso,
                    customer_id=plan.customer_id,
                ),
                condition=db.ReplayItem.pk.does_not_exist(),
                tag="idempotency",
            )
        if natural is not None:
            tx.put(
                db.ReplayItem(
                    natural.pk,
                    natural.sk,
                    fingerprint=req.body_fingerprint,
                    status_code=plan.status,
                    body=body,
                    created_at=req.now_iso,
                    customer_id=plan.customer_id,
                    state=plan.natural_state,
                ),
                condition=db.ReplayItem.pk.does_not_exist(),
                tag="natural",
            )
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            # Someone else changed what we read (a concurrent spend, the same key in flight): read again and
            # decide again. A replay record that now exists is found by _check_replay on the next pass.
            backoff(attempt)
            continue
        except Exception as exc:
            if not db.outcome_unknown(exc):
                raise
            # The request reached DynamoDB but its answer did not reach us: it may have committed. With a replay
            # record in the transaction, reading again tells: found, it committed (replay it); not found, it did
            # not (decide again). Without one nothing can tell, so the client must retry with an Idempotency-Key.
            if req.idempotency_key is None and natural is None:
                raise Unavailable("The database did not confirm the write; retry with an Idempotency-Key.") from exc
            backoff(attempt)
            continue
        return Reply(plan.status, body)
    raise Unavailable("The customer's balance is changing too fast; nothing was written. Retry shortly.")


def backoff(attempt: int) -> None:
    time.sleep(min(0.2, 0.005 * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto
