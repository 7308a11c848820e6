"""Exactly-once writes.

Every state-changing request runs through :func:`execute`. It reads what the decision needs together with the
request's replay records in one BatchGetItem, lets the service decide, and commits the service's transaction with
the replay records added under ``attribute_not_exists``. So the effect and the record of it land together or not at
all, and a replay, however late, finds the record and gets the stored status and body back byte for byte.

Replay records: the ``Idempotency-Key`` record, the natural-id record (order, refund, bonus, adjustment), and, for a
write that has neither, an implicit record of the HTTP request itself (``REQ#<digest of a per-request nonce>``, kept a
day). Whatever happens to a commit (its answer lost, botocore resending it, DynamoDB cancelling the resent copy
because the first one applied), reading the request's own record again tells that it committed and what it answered.

What is recorded is the answer of the first execution, errors included: an ``ApiError`` raised by ``decide``
(``insufficient_points``, ``not_found``, ``hold_already_resolved``...) binds an Idempotency-Key to that problem as
surely as a success does, and is replayed byte for byte. Under a natural id a refusal binds only the body refused:
it is recorded beside the id, per body (``replays.refused_sk``), so the same body replays the same problem and a
corrected body executes; a success takes the id itself, and another body is then its ``duplicate``. The two guard
each other in the transaction: a success requires that its own body was not refused, a refusal that no success holds
the id, so concurrent attempts yield one success and every answer given stays the one replayed. Transient answers
(429, 5xx) are not recorded: retrying them must execute again. A request that never reached ``execute``
(malformed, unauthenticated, too large) leaves the key free.

Every transaction carries a ClientRequestToken derived from the request's nonce and the attempt, so DynamoDB itself
recognises botocore's retries of one call.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from chalicelib import db
from chalicelib.db import keys
from chalicelib.db import outbox as outbox_db
from chalicelib.db import replays as replays_db
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain.audit import Change, Stamp
from chalicelib.domain.events import Event
from chalicelib.errors import (
    ApiError,
    Conflict,
    IdempotencyKeyReused,
    RecordedProblem,
    RequestTooLarge,
    Unavailable,
    problem_json,
    transient,
)
from chalicelib.machinery import audit
from chalicelib.machinery.built import json_of
from chalicelib.machinery.fingerprints import fingerprint, fingerprints

MAX_ATTEMPTS = 12

__all__ = [
    "MAX_ATTEMPTS",
    "Decide",
    "NaturalId",
    "Plan",
    "ReadKey",
    "Reply",
    "WriteRequest",
    "backoff",
    "execute",
    "fingerprint",
    "fingerprints",
    "new_nonce",
    "token",
]


def new_nonce() -> str:
    return os.urandom(16).hex()  # secrets.token_hex(16), without its two calls on the way


Result = TypeVar("Result", bound=BaseModel)

# A replay record keeps the HTTP status its answer was first sent with (records written before ``created`` existed
# hold the same numbers): 201 for "created", 200 otherwise, an error's own status for a recorded problem. This pair
# is the one place a write's outcome meets those numbers besides chalicelib/http.py's ``_render``, which answers
# ``created`` with the route's declared success status.
RECORDED_STATUS = {True: 201, False: 200}


@dataclass(frozen=True)
class Reply:
    """A write's answer: its JSON body exactly as recorded, whether it created something, whether it is a replay."""

    created: bool
    body: str
    replayed: bool = False

    @classmethod
    def of(cls, created: bool, body: str, replayed: bool = False) -> Reply:
        """``Reply(created, body, replayed)``, its ``__dict__`` filled in field order in one step (a frozen
        dataclass's ``__init__`` sets each field through ``object.__setattr__``); the class has no ``__post_init__``."""
        made = object.__new__(cls)
        d = made.__dict__
        d["created"], d["body"], d["replayed"] = created, body, replayed
        return made

    def result(self, model: type[Result]) -> Result:
        """The body as the service's typed result, e.g. ``reply.result(CampaignOut).campaign_id``."""
        return model.model_validate_json(self.body)


@dataclass(frozen=True)
class WriteRequest:
    """What the replay machinery needs to know about the HTTP request."""

    scope: str  # the API key id: Idempotency-Key is scoped to it
    idempotency_key: str | None
    request_fingerprint: str  # method + path + body
    body_fingerprint: str  # body only: natural ids replay on the same body whatever the key
    now_iso: str
    request_id: str = ""  # shown in problem bodies, recorded ones included
    actor: str = ""  # who asks, as the audit log names it: "key:<key id>" or "staff:<staff id>"
    # Made once per HTTP request, never stored: names the implicit record and the transactions' tokens.
    nonce: str = field(default_factory=new_nonce)

    @property
    def secret_seed(self) -> str:
        """What a secret shown in the answer is derived from, so a replay can show it again: the client's key, or
        for a request without one the nonce (only this request's own retries can replay it)."""
        return self.idempotency_key if self.idempotency_key is not None else self.nonce

    @classmethod
    def of(
        cls, scope: str, key: str | None, prints: tuple[str, str], now_iso: str, rid: str, actor: str
    ) -> WriteRequest:
        """An API write's request with a new nonce: ``WriteRequest(scope, key, *prints, now_iso, rid, actor)``. A frozen
        dataclass's ``__init__`` sets each field through ``object.__setattr__`` (1.9 us for eight); this fills the
        instance's ``__dict__`` as it would, in field order (0.5 us; the class has no ``__post_init__``)."""
        made = object.__new__(cls)
        d = made.__dict__
        d["scope"], d["idempotency_key"], d["request_fingerprint"], d["body_fingerprint"] = scope, key, *prints
        d["now_iso"], d["request_id"], d["actor"], d["nonce"] = now_iso, rid, actor, new_nonce()
        return made


@dataclass(frozen=True)
class NaturalId:
    pk: str
    sk: str
    duplicate: type[Conflict]


@dataclass
class Plan:
    """A service's decision: the transaction to commit and the response it produces."""

    created: bool = False  # something new exists (a customer, an order, a campaign): the API answers 201
    response: BaseModel | None = None  # set by ``decide`` once it knows the outcome
    tx: db.Transaction = field(default_factory=db.Transaction)
    natural_state: dict[str, Any] = field(default_factory=dict)
    customer_id: str | None = None
    # Commit ``tx`` (what time did, e.g. releasing an expired hold) and then answer with this error.
    error: ApiError | None = None
    # What the change tells others (chalicelib/domain/events.py): put in the outbox inside ``tx`` at commit.
    events: list[Event] = field(default_factory=list)
    # The changes the audit log records, in ``tx`` itself, when the plan succeeds (a refusal records none).
    audit: list[Change] = field(default_factory=list)


Decide = Callable[[Found], Plan]


class _Record(NamedTuple):  # a tuple: made twice per request, where a frozen dataclass's __init__ is slow
    """One replay record this request writes: where, which fingerprint it binds, how a mismatch is answered."""

    pk: str
    sk: str
    fingerprint: str
    tag: str
    mismatch: Callable[[], ApiError] | None  # None: the key is this request's own (the implicit record)


def _records(req: WriteRequest, natural: NaturalId | None) -> list[_Record]:
    """The request's records, in the order a replay looks for them: its key, its own body's refusal, its natural
    id (whose record of another body is a duplicate, unless it is an error: that binds its own body only)."""
    out: list[_Record] = []
    if req.idempotency_key is not None:
        out.append(
            _Record(
                *keys.idempotency(req.scope, req.idempotency_key),
                req.request_fingerprint,
                "idempotency",
                lambda: IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different request; use a new key for a new request."
                ),
            )
        )
    if natural is not None:
        refused_sk = replays_db.refused_sk(natural.sk, req.body_fingerprint)
        out.append(_Record(natural.pk, refused_sk, req.body_fingerprint, "refused", natural.duplicate))
        out.append(_Record(natural.pk, natural.sk, req.body_fingerprint, "natural", natural.duplicate))
    if not out:
        out.append(_Record(*keys.request(req.nonce), req.request_fingerprint, "request", None))
    return out


def token(req: WriteRequest, attempt: int) -> str:
    """ClientRequestToken of one attempt: stable for botocore's resends of that call, new for a new decision."""
    return hashlib.blake2b(f"{req.nonce}:{attempt}".encode(), digest_size=18).hexdigest()


def _replay(found: Found, req: WriteRequest, records: list[_Record], origin: str) -> Reply | None:
    """The recorded answer, if any record exists: a Reply for a success, a RecordedProblem raised for an error.
    ``origin``: this request's ``keys.request_digest``."""
    for r in records:
        item = replays_db.load(found, r.pk, r.sk)
        if item is None:
            continue
        if item.fingerprint != r.fingerprint and r.tag == "natural" and item.is_error:
            continue  # a refusal recorded at the id itself (before refusals had their own records) binds its body
        if item.fingerprint != r.fingerprint and r.mismatch is not None:
            raise r.mismatch()
        replayed = item.origin != origin  # our own commit, found after its answer was lost, is no replay
        if item.is_error:
            raise RecordedProblem(int(item.status_code), item.body, replayed=replayed)
        return Reply.of(int(item.status_code) == RECORDED_STATUS[True], item.body, replayed)
    return None


def execute(
    req: WriteRequest,
    natural: NaturalId | None,
    reads: Sequence[ReadKey],
    decide: Decide,
    render: Callable[[str], str] | None = None,
    later: Callable[[], Sequence[ReadKey]] | None = None,
) -> Reply:
    """Run ``decide`` exactly once per request identity. ``render`` post-processes every reply body, fresh or
    replayed (key creation uses it so that a secret is never stored, yet a replay shows it again). ``later``: reads
    known only once the first batch has come (``write_session.campaign_reads``); read then, if any is new."""
    reply = _execute(req, natural, reads, decide, later)
    if render is None:
        return reply
    return Reply(reply.created, render(reply.body), reply.replayed)


def _execute(
    req: WriteRequest,
    natural: NaturalId | None,
    reads: Sequence[ReadKey],
    decide: Decide,
    later: Callable[[], Sequence[ReadKey]] | None,
) -> Reply:
    records = _records(req, natural)
    origin = keys.request_digest(req.nonce)  # names this request's writes: what its records keep as their origin
    # An error is worth a write only where a later request can find it: under a key or a natural id.
    binds = req.idempotency_key is not None or natural is not None
    wanted: list[ReadKey] = [*reads, *[replays_db.read_key(r.pk, r.sk) for r in records]]
    forced: ApiError | None = None  # the transaction did not fit: record that answer instead
    for attempt in range(MAX_ATTEMPTS):
        found = db.get_many(wanted)
        replay = _replay(found, req, records, origin)
        if replay is None and later is not None and (known_later := later()):
            asked = {(pk, sk) for _, pk, sk in wanted}
            more = [r for r in known_later if (r[1], r[2]) not in asked]
            if more:
                wanted += more
                found = {**found, **db.get_many(more)}
        if replay is not None:
            return replay
        plan = _decide(decide, found, forced, binds)
        if plan.error is None and plan.audit:
            request_id = req.request_id or origin  # a page's form has no gateway id
            audit.add(plan.tx, plan.audit, Stamp(req.actor, request_id, datetime.fromisoformat(req.now_iso)))
        answer = _answer(plan, req)
        outbox_db.stage(plan.tx, plan.events)
        if not len(plan.tx) and not binds:
            return answer.give(plan)  # nothing changed: nothing to recognise later either
        if answer.recorded:
            _record(plan, answer, records, req, origin)
        sent = _send(plan, req, attempt, binds=binds, recorded=answer.recorded)
        if sent is True:
            return answer.give(plan)
        if isinstance(sent, RequestTooLarge):
            forced = sent
    raise Unavailable("The customer's balance is changing too fast; nothing was written. Retry shortly.")


def _decide(decide: Decide, found: Found, forced: ApiError | None, binds: bool) -> Plan:
    """The plan of this attempt: the service's decision, or the error it raised (bound like an answer where the
    request can be recognised later), or the answer an earlier attempt was forced to."""
    if forced is not None:
        return Plan(error=forced)
    try:
        return decide(replays_db.without_errors(found))
    except ApiError as error:
        if transient(error) or not binds:
            raise
        return Plan(error=error)


class _Answer(NamedTuple):  # a tuple: made once per attempt, where a frozen dataclass's __init__ is slow
    """What the request answers, as its replay records keep it."""

    status: int
    body: str
    recorded: bool  # transient answers (429, 5xx) are not recorded: retrying them must execute again

    def give(self, plan: Plan) -> Reply:
        """Answer: raise the plan's error, or reply."""
        if plan.error is not None:
            raise plan.error
        return Reply.of(plan.created, self.body)


def _answer(plan: Plan, req: WriteRequest) -> _Answer:
    if plan.error is not None:
        return _Answer(plan.error.status, problem_json(plan.error, req.request_id), not transient(plan.error))
    if plan.response is None:
        raise TypeError("decide() returned a plan without a response")
    return _Answer(RECORDED_STATUS[plan.created], json_of(plan.response), True)


def _record(plan: Plan, answer: _Answer, records: list[_Record], req: WriteRequest, origin: str) -> None:
    """Add the request's replay records to its transaction, each guarded by ``attribute_not_exists``. Under a
    natural id a success takes the id and a refusal its body's record, and each checks the other is not there."""
    succeeded = plan.error is None
    for r in records:
        if r.tag == "natural" and not succeeded:  # a refusal: no success holds the id (else it is a duplicate)
            replays_db.check_free(plan.tx, r.pk, r.sk, tag=r.tag, over_errors=True)
            continue
        if r.tag == "refused" and succeeded:  # a success: this very body was not refused in the meantime
            replays_db.check_free(plan.tx, r.pk, r.sk, tag=r.tag)
            continue
        record = replays_db.NewRecord(
            fingerprint=r.fingerprint,
            status_code=answer.status,
            body=answer.body,
            created_at=req.now_iso,
            origin=origin,
            customer_id=plan.customer_id if succeeded else None,
            state=plan.natural_state if r.tag == "natural" and succeeded else {},
            implicit=r.mismatch is None,
        )
        replays_db.put(plan.tx, r.pk, r.sk, record, tag=r.tag, over_errors=r.tag == "natural")


def _send(plan: Plan, req: WriteRequest, attempt: int, *, binds: bool, recorded: bool) -> bool | RequestTooLarge:
    """Commit the plan's transaction. True: it committed. False: read again (and decide again, unless a record is
    found). A RequestTooLarge: it cannot fit, and that is the answer to record on the next attempt."""
    try:
        plan.tx.commit(db.connection(), token(req, attempt))
    except RequestTooLarge as error:
        # Refused before sending. The answer of this execution is that error: bind it like any other.
        if plan.error is not None or not binds:
            raise
        return error
    except db.TxCancelled:
        # Someone else changed what we read (a concurrent spend, the same key in flight), or botocore resent a
        # call that had applied and our own record now exists: read again; a record found is replayed.
        backoff(attempt)
        return False
    except Exception as exc:
        if not db.outcome_unknown(exc) or not recorded:
            raise
        # The request reached DynamoDB but its answer did not reach us: it may have committed. Our record was
        # in the transaction, so reading again tells: found, it committed (answer with it); not found, it did
        # not (decide again; the record's guard lets at most one of the attempts commit).
        backoff(attempt)
        return False
    return True


def backoff(attempt: int) -> None:
    time.sleep(min(0.2, 0.005 * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto
