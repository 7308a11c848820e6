"""One-time codes: the customer's proof of presence for signing in, spending and binding an identifier.

- Six random digits (``secrets``), so a cashier types one in a couple of seconds.
- Stored only as ``HMAC-SHA256(key pepper, customer | purpose | slot | code)`` (``chalicelib/db/codes.py``): a copy
  of the table does not reveal a live code, and a code made for one purpose or partner is no good for another.
- Short-lived (``expires_at``, and DynamoDB's TTL removes the item), single-use (deleted in the transaction of what
  it confirms), attempt-limited (``MAX_ATTEMPTS`` wrong tries, counted under a condition, then locked: 429).
- A code shown again on a replay is derived (with the pepper) from a random seed drawn once per execution and kept in
  the replay record, never from anything the client sends: a new execution, whatever key asks, gets a new code.
- Never logged: the code exists in clear only in the message sent to the customer or on the customer's own page.

A *slot* says who may use a code: the customer's page code (``page``) any till; a code a till asked to send
(``till#<partner>``) or a binding (``<partner>``) only that partner; a sign-in code the sign-in form (``web``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from chalicelib import db, runtime
from chalicelib.db import codes as codes_db
from chalicelib.db.codes import StoredCode
from chalicelib.domain import signing
from chalicelib.errors import CodeLocked, CustomerCodeInvalid

DIGITS = 6
MAX_ATTEMPTS = 5
TTL_GRACE_SECONDS = 3600  # DynamoDB deletes expired items within about a day; validity is checked on every read

Purpose = str  # sign_in | spend | bind


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def new_seed() -> str:
    """A per-execution random value a code is derived from (:func:`derived_code`); kept in the execution's replay
    record, so a replay of that very request can deliver its code again. Useless without the pepper."""
    return secrets.token_hex(16)


def derived_code(seed: str, customer_id: str, purpose: Purpose, slot: str) -> str:
    """The code of ``seed`` (:func:`new_seed`), so a replay of the request that drew the seed delivers the code it
    first made rather than a new one that voids it. Only a holder of the pepper can derive it: for anyone else it is
    as random as :func:`new_code`'s. Never seed it with what a client sends (an Idempotency-Key): another key
    sending the same value would get the same, already used, code again."""
    mac = signing.sign(runtime.get().settings.key_pepper, "code-seed", seed, customer_id, purpose, slot)
    return f"{int.from_bytes(mac[:8], 'big') % 10**DIGITS:0{DIGITS}d}"


def looks_like_code(text: str) -> bool:
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def digest(customer_id: str, purpose: Purpose, slot: str, code: str) -> str:
    return signing.sign_hex(runtime.get().settings.key_pepper, "one-time-code", customer_id, purpose, slot, code)


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
    codes_db.put(
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
    return Verdict.OK if signing.verify(expected, item.code_hash) else Verdict.WRONG


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


# A partner's till gets one answer for every wrong code, whether or not a live code exists (no count either): the
# answer must not tell a partner whether the customer holds a code.
WRONG_AT_TILL = (
    "The code is not right, or it was used, has expired or was never issued; ask the customer for a new one."
)
LOCKED_AT_TILL = "Too many wrong codes: ask the customer for a new code."


def locked(retry_after: int) -> CodeLocked:
    return CodeLocked(LOCKED_AT_TILL, retry_after=max(retry_after, 1))


def seconds_until(moment: str, now: datetime) -> int:
    """Whole seconds from ``now`` to ``moment``, rounded up (a Retry-After never sends a client back too early)."""
    return -(-int((datetime.fromisoformat(moment) - now).total_seconds() * 1000) // 1000)


def check(
    customer_id: str, code: str, candidates: Sequence[Candidate], now: datetime, *, at_till: bool = False
) -> Outcome:
    """Match ``code`` against the live codes that could confirm this request. A match is used; a miss counts as a
    wrong try against every live candidate (so guessing gets at most MAX_ATTEMPTS tries per code issued).

    ``at_till``: a partner typed it. Every miss answers :data:`WRONG_AT_TILL`, without a count, and the miss that
    uses the last try answers ``429 customer_code_locked`` at once (the customer sees their code locked)."""
    verdicts = [
        (c, judge(c.item, customer_id, c.slot, code, now) if looks_like_code(code) else None) for c in candidates
    ]
    for c, verdict in verdicts:
        if verdict is Verdict.OK:
            return Outcome(matched=c.item, error=None)
    live = tuple(c.item for c, _ in verdicts if c.item is not None and _is_live(c.item, now))
    if live and at_till:
        left = min(i.max_attempts - i.attempts - 1 for i in live)
        if left > 0:
            return Outcome(None, CustomerCodeInvalid(WRONG_AT_TILL), live)
        return Outcome(None, locked(max(seconds_until(i.expires_at, now) for i in live)), live)
    if live:
        left = min(i.max_attempts - i.attempts - 1 for i in live)
        detail = "The code is not right." if left else "The code is not right, and it is now locked."
        if left:
            detail += f" {left} more {'try' if left == 1 else 'tries'} before it locks."
        return Outcome(None, CustomerCodeInvalid(detail, attempts_left=max(left, 0)), live)
    spent = [c.item for c, v in verdicts if v is Verdict.LOCKED and c.item is not None]
    if spent:
        return Outcome(None, locked(max(seconds_until(i.expires_at, now) for i in spent)))
    if at_till:
        return Outcome(None, CustomerCodeInvalid(WRONG_AT_TILL))
    return Outcome(
        None,
        CustomerCodeInvalid("No valid code: it was used, has expired, or was never issued.", attempts_left=0),
    )


def _is_live(item: StoredCode, now: datetime) -> bool:
    return now < datetime.fromisoformat(item.expires_at) and item.attempts < item.max_attempts


def count_failures(tx: db.Transaction, failures: Sequence[StoredCode]) -> None:
    for item in failures:
        codes_db.add_failure(tx, item)


def record_failures(failures: Sequence[StoredCode]) -> None:
    """Count wrong tries at once (flows without a transaction of their own). ``db.TxCancelled`` if the code was
    tried, used or replaced meanwhile: the caller reads it again and judges the try again."""
    if not failures:
        return
    tx = db.Transaction()
    count_failures(tx, failures)
    tx.commit(db.connection())


def consume(tx: db.Transaction, item: StoredCode) -> None:
    codes_db.consume(tx, item)
