"""One-time codes (issue 17): the customer's proof of presence for signing in, spending and binding an identifier.

- Six random digits (``secrets``), so a cashier types one in a couple of seconds.
- Stored only as ``HMAC-SHA256(key pepper, customer | purpose | slot | code)`` (``chalicelib/db/codes.py``): a copy
  of the table does not reveal a live code, and a code made for one purpose or partner is no good for another.
- Short-lived (``expires_at``, and DynamoDB's TTL removes the item), single-use (deleted in the transaction of what
  it confirms), attempt-limited (``MAX_ATTEMPTS`` wrong tries, counted under a condition, then locked: 429).
- Never logged: the code exists in clear only in the message sent to the customer or on the customer's own page.

A *slot* says who may use a code: the customer's page code (``page``) any till; a code a till asked to send
(``till#<partner>``) or a binding (``<partner>``) only that partner; a sign-in code the sign-in form (``web``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from chalicelib import db, runtime
from chalicelib.db import codes as store
from chalicelib.db.codes import StoredCode
from chalicelib.errors import CodeLocked, CustomerCodeInvalid

DIGITS = 6
MAX_ATTEMPTS = 5
TTL_GRACE_SECONDS = 3600  # DynamoDB deletes expired items within about a day; validity is checked on every read

Purpose = str  # sign_in | spend | bind


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def derived_code(seed: str, customer_id: str, purpose: Purpose, slot: str) -> str:
    """A code the same request derives again from its seed (``WriteRequest.secret_seed``: the Idempotency-Key), so
    a retry delivers the code it first made rather than a new one that voids it. Only a holder of the pepper can
    derive it: for anyone else it is as random as :func:`new_code`'s."""
    pepper = runtime.get().settings.key_pepper.encode()
    mac = hmac.new(pepper, f"code-seed\n{seed}\n{customer_id}\n{purpose}\n{slot}".encode(), hashlib.sha256)
    return f"{int.from_bytes(mac.digest()[:8], 'big') % 10**DIGITS:0{DIGITS}d}"


def looks_like_code(text: str) -> bool:
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def digest(customer_id: str, purpose: Purpose, slot: str, code: str) -> str:
    pepper = runtime.get().settings.key_pepper.encode()
    message = f"one-time-code\n{customer_id}\n{purpose}\n{slot}\n{code}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    code: str  # in clear: for the message or the page, and nowhere else
    expires_at: datetime


def issue(
    customer_id: str,
    purpose: Purpose,
    slot: str,
    now: datetime,
    *,
    minutes: int,
    partner_id: str | None = None,
    payload: dict[str, Any] | None = None,
    tx: db.Transaction | None = None,
    code: str | None = None,
) -> Issued:
    """A new code for ``purpose`` and ``slot``, replacing the previous one. Written in ``tx`` if given (committed
    with the caller's other writes), else at once."""
    code = code or new_code()
    expires_at = (now + timedelta(minutes=minutes)).replace(microsecond=0)
    store.put(
        customer_id,
        purpose,
        slot,
        code_hash=digest(customer_id, purpose, slot, code),
        expires_at=expires_at.isoformat(),
        ttl=int(expires_at.timestamp()) + TTL_GRACE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
        now_iso=now.isoformat(),
        partner_id=partner_id,
        payload=payload,
        tx=tx,
    )
    return Issued(code, expires_at)


class Verdict(Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    MISSING = "missing"


def judge(item: StoredCode | None, customer_id: str, slot: str, code: str, now: datetime) -> Verdict:
    if item is None:
        return Verdict.MISSING
    if now >= datetime.fromisoformat(item.expires_at):
        return Verdict.EXPIRED
    if item.attempts >= item.max_attempts:
        return Verdict.LOCKED
    expected = digest(customer_id, item.purpose, slot, code)
    return Verdict.OK if hmac.compare_digest(expected, item.code_hash) else Verdict.WRONG


@dataclass(frozen=True)
class Candidate:
    slot: str
    item: StoredCode | None


@dataclass(frozen=True)
class Outcome:
    """What a presented code did: the candidate it matched (to consume in the caller's transaction), or the error
    to answer with and the wrong tries to count (in a transaction of their own)."""

    matched: StoredCode | None
    error: Exception | None
    failures: tuple[StoredCode, ...] = ()


def check(customer_id: str, code: str, candidates: Sequence[Candidate], now: datetime) -> Outcome:
    """Match ``code`` against the live codes that could confirm this request. A match is used; a miss counts as a
    wrong try against every live candidate (so guessing gets at most MAX_ATTEMPTS tries per code issued)."""
    verdicts = [
        (c, judge(c.item, customer_id, c.slot, code, now) if looks_like_code(code) else None) for c in candidates
    ]
    for c, verdict in verdicts:
        if verdict is Verdict.OK:
            return Outcome(matched=c.item, error=None)
    live = tuple(c.item for c, _ in verdicts if c.item is not None and _is_live(c.item, now))
    if live:
        left = min(i.max_attempts - i.attempts - 1 for i in live)
        detail = "The code is not right." if left else "The code is not right, and it is now locked."
        if left:
            detail += f" {left} more {'try' if left == 1 else 'tries'} before it locks."
        return Outcome(None, CustomerCodeInvalid(detail, attempts_left=max(left, 0)), live)
    locked = [c.item for c, v in verdicts if v is Verdict.LOCKED and c.item is not None]
    if locked:
        retry = max(int((datetime.fromisoformat(i.expires_at) - now).total_seconds()) for i in locked)
        return Outcome(
            None, CodeLocked("Too many wrong codes: ask the customer for a new code.", retry_after=max(retry, 1))
        )
    return Outcome(
        None,
        CustomerCodeInvalid("No valid code: it was used, has expired, or was never issued.", attempts_left=0),
    )


def _is_live(item: StoredCode, now: datetime) -> bool:
    return now < datetime.fromisoformat(item.expires_at) and item.attempts < item.max_attempts


def count_failures(tx: db.Transaction, failures: Sequence[StoredCode]) -> None:
    for item in failures:
        store.add_failure(tx, item)


def record_failures(failures: Sequence[StoredCode]) -> None:
    """Count wrong tries at once (flows without a transaction of their own). ``db.TxCancelled`` if the code was
    tried, used or replaced meanwhile: the caller reads it again and judges the try again."""
    if not failures:
        return
    tx = db.Transaction()
    count_failures(tx, failures)
    tx.commit(db.connection())


def consume(tx: db.Transaction, item: StoredCode) -> None:
    store.consume(tx, item)
