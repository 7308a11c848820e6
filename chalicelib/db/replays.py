"""Replay records: the recorded answer of a write, under its Idempotency-Key (``IDEM#...``), its natural id (order,
refund, bonus, adjustment), or, for a write that has neither, the implicit record of the HTTP request itself
(``REQ#<digest of its nonce>``, kept a day). Written with the write's own transaction under
``attribute_not_exists``: the effect and its record land together, and only once.

An error answer is recorded too (``status_code`` >= 400, a problem+json body, no state): under an Idempotency-Key
it binds the key; under a natural id it binds only the body that was refused, in a record of its own beside the id
(:func:`refused_sk`), so a corrected body can still succeed. :func:`without_errors` hides error records from the
decisions, for which they are no order, refund or hold."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from pynamodb.expressions.condition import Condition

from chalicelib.db.codec import RawUpdate, typed
from chalicelib.db.expressions import fixed
from chalicelib.db.models import ReplayItem
from chalicelib.db.new_items import writer
from chalicelib.db.reads import Found, ReadKey
from chalicelib.db.tx import Transaction

__all__ = [
    "IMPLICIT_RECORD_SECONDS",
    "NewRecord",
    "Recorded",
    "check_free",
    "load",
    "put",
    "read_key",
    "refused_sk",
    "without_errors",
]

IMPLICIT_RECORD_SECONDS = 86_400  # the implicit record only has to outlive its own request's retries


class Recorded(NamedTuple):  # tuples: made per request, where a frozen dataclass's __init__ is slow
    """A replay record as found: what it binds and the answer it replays."""

    fingerprint: str
    status_code: int
    body: str
    origin: str | None  # keys.request_digest of the request that wrote it

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400


class NewRecord(NamedTuple):
    """A replay record to write with the transaction it records."""

    fingerprint: str
    status_code: int
    body: str
    created_at: str
    origin: str
    customer_id: str | None = None
    state: Mapping[str, Any] = MappingProxyType({})  # what later requests under a natural id need
    implicit: bool = False  # the request's own record: expires after IMPLICIT_RECORD_SECONDS


def refused_sk(sk: str, body_fingerprint: str) -> str:
    """Where a refused attempt under the natural id (pk, sk) is recorded: one item per refused body (each bounded
    by its own answer), in the id's partition."""
    return f"{sk}#REFUSED#{body_fingerprint[:32]}"


def read_key(pk: str, sk: str) -> ReadKey:
    return (ReplayItem, pk, sk)


def load(found: Found, pk: str, sk: str) -> Recorded | None:
    """The record at (pk, sk) from a batch read that asked for :func:`read_key`."""
    item = found.get((pk, sk))
    if item is None:
        return None
    return Recorded(str(item.fingerprint), int(item.status_code), str(item.body), item.origin)


def without_errors(found: Found) -> Found:
    """What a decision sees: error records bind their id but are no order, refund or hold. Without any (nearly
    always), ``found`` itself: nothing reads it after the decision but the decision."""
    for v in found.values():
        if isinstance(v, ReplayItem) and v.is_error:
            return {k: v for k, v in found.items() if not (isinstance(v, ReplayItem) and v.is_error)}
    return found


def _free_raw(over_errors: bool) -> RawUpdate:
    """No record there; with ``over_errors``, or only an error one (an error recorded under a natural id before
    refusals had records of their own: it binds its body alone and a success may take its place). Written directly
    (``codec.RawUpdate``): the ConditionExpression and placeholders of pynamodb's :func:`_free`."""
    free = RawUpdate()
    if over_errors:
        free.guard("(attribute_not_exists ({0}) OR {1} >= {2})", ("pk",), ("status_code",), typed(400))
    else:
        free.guard("attribute_not_exists ({0})", ("pk",))
    return free


def _free(over_errors: bool) -> Condition:
    """:func:`_free_raw` as pynamodb's condition: what the guard rendered once is held to (tests)."""
    free = ReplayItem.pk.does_not_exist()
    return free | (ReplayItem.status_code >= 400) if over_errors else free


# Rendered once: the guard names no value that changes, and each send gets maps of its own (``expressions.fixed``).
# tests/test_front_fast_paths.py holds them to pynamodb's condition (:func:`_free`) for a check and a put.
_FREE_RAW = {over_errors: fixed(_free_raw(over_errors)) for over_errors in (False, True)}


def check_free(tx: Transaction, pk: str, sk: str, *, tag: str, over_errors: bool = False) -> None:
    """Cancel ``tx`` if a record exists at (pk, sk) (with ``over_errors``, a success record)."""
    tx.check(ReplayItem, pk, sk, _FREE_RAW[over_errors], tag=tag)


_WRITE = writer(ReplayItem)  # straight-line code made once from the model (``new_items.writer``)


def put(tx: Transaction, pk: str, sk: str, record: NewRecord, *, tag: str, over_errors: bool = False) -> None:
    """Add the record to ``tx``; the transaction is cancelled if a record exists there already (with
    ``over_errors``, a success record: an error one is replaced)."""
    item = _WRITE(
        pk,
        sk,
        fingerprint=record.fingerprint,
        status_code=record.status_code,
        body=record.body,
        created_at=record.created_at,
        customer_id=record.customer_id,
        state=record.state if type(record.state) is dict else dict(record.state),
        origin=record.origin,
        ttl=_expiry() if record.implicit else None,
    )
    tx.put_raw(ReplayItem, item, condition=_FREE_RAW[over_errors], tag=tag)


def _expiry() -> int:
    return time.time_ns() // 1_000_000_000 + IMPLICIT_RECORD_SECONDS
