"""Storage of one-time codes and customer sessions: the items, their keys and their guards.

A code item holds the HMAC of the code, never the code. Its guards make a code single-use and its attempts exact:
using it deletes it only if nobody used or tried it since it was read; a wrong try adds one to ``attempts`` under
the same condition. Both go into a transaction (the caller's, so a redemption and the use of its code commit
together), and a cancelled transaction is read again and judged again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.db import keys
from chalicelib.db.maps import as_dict
from chalicelib.db.models import CodeItem, CustomerItem, CustomerSessionItem
from chalicelib.db.reads import Found, ReadKey, connection, get_one
from chalicelib.db.tx import Transaction
from chalicelib.domain import signing

CODE_TAG = "one_time_code"


@dataclass(frozen=True)
class StoredCode:
    """A live one-time code as stored: its HMAC (never the code), validity, tries, and what it was made for."""

    customer_id: str
    purpose: str
    slot: str
    code_hash: str
    expires_at: str
    attempts: int
    max_attempts: int
    partner_id: str | None = None
    payload: dict[str, str] = field(default_factory=dict)  # a binding's identifiers {kind: value}


def _stored(item: CodeItem, customer_id: str) -> StoredCode:
    return StoredCode(
        customer_id=customer_id,
        purpose=item.purpose,
        slot=item.sk.split("#", 1)[1],
        code_hash=item.code_hash,
        expires_at=item.expires_at,
        attempts=int(item.attempts),
        max_attempts=int(item.max_attempts),
        partner_id=item.partner_id,
        payload={str(k): str(v) for k, v in as_dict(item.payload).items()},
    )


def read_key(customer_id: str, purpose: str, slot: str) -> ReadKey:
    """The key to add to a write's batch read (no extra round trip)."""
    return (CodeItem, *keys.one_time_code(customer_id, purpose, slot))


def get(customer_id: str, purpose: str, slot: str) -> StoredCode | None:
    item = get_one(CodeItem, *keys.one_time_code(customer_id, purpose, slot))
    return None if item is None else _stored(item, customer_id)


def from_found(found: Found, customer_id: str, purpose: str, slot: str) -> StoredCode | None:
    """The code from a batch read that asked for :func:`read_key`; None if there is none."""
    item = found.get(keys.one_time_code(customer_id, purpose, slot))
    return _stored(item, customer_id) if isinstance(item, CodeItem) else None


def put(
    customer_id: str,
    purpose: str,
    slot: str,
    *,
    code_hash: str,
    expires_at: str,
    ttl: int,
    max_attempts: int,
    now_iso: str,
    partner_id: str | None = None,
    payload: dict[str, Any] | None = None,
    tx: Transaction | None = None,
) -> None:
    """Store a new code for this purpose and slot; it replaces the previous one (and its attempts)."""
    item = CodeItem(
        *keys.one_time_code(customer_id, purpose, slot),
        code_hash=code_hash,
        purpose=purpose,
        expires_at=expires_at,
        attempts=0,
        max_attempts=max_attempts,
        created_at=now_iso,
        partner_id=partner_id,
        payload=payload or {},
        ttl=ttl,
    )
    if tx is not None:
        tx.put(item, tag=CODE_TAG)
        return
    own = Transaction()
    own.put(item, tag=CODE_TAG)
    own.commit(connection())


def _unchanged(code: StoredCode) -> Any:
    return (CodeItem.code_hash == code.code_hash) & (CodeItem.attempts == code.attempts)


def _item(code: StoredCode) -> CodeItem:
    return CodeItem(*keys.one_time_code(code.customer_id, code.purpose, code.slot))


def consume(tx: Transaction, code: StoredCode) -> None:
    """Use the code: it is deleted in ``tx``, which fails if it was used, replaced or tried since it was read."""
    tx.delete(_item(code), condition=_unchanged(code), tag=CODE_TAG)


def add_failure(tx: Transaction, code: StoredCode) -> None:
    """Count one wrong try, under the same guard: tries are judged one after another, so however many arrive at
    once, at most ``max_attempts`` of them are ever answered "wrong" before the code locks (the others are judged
    again on the new count)."""
    tx.update(_item(code), [CodeItem.attempts.add(1)], condition=_unchanged(code), tag=CODE_TAG)


def count_try(
    tx: Transaction,
    counter: StoredCode | None,
    customer_id: str,
    purpose: str,
    slot: str,
    *,
    generation: str,
    expires_at: str,
    ttl: int,
    max_attempts: int,
    now_iso: str,
    partner_id: str,
) -> None:
    """One wrong try on a per-caller counter (an item of its own, beside the codes it counts against). The counter
    belongs to one *generation* of codes (``code_hash`` holds a digest of the codes it counts against): a counter
    of this generation gains one under the guard that nobody counted since it was read; any other (absent, of
    older codes, or expired) is replaced by a fresh one with one try, under the guard that it is still as read."""
    if counter is not None and signing.verify(counter.code_hash, generation) and counter.expires_at == expires_at:
        add_failure(tx, counter)
        return
    item = CodeItem(
        *keys.one_time_code(customer_id, purpose, slot),
        code_hash=generation,
        purpose=purpose,
        expires_at=expires_at,
        attempts=1,
        max_attempts=max_attempts,
        created_at=now_iso,
        partner_id=partner_id,
        payload={},
        ttl=ttl,
    )
    tx.put(item, condition=_as_read(counter), tag=CODE_TAG)


def guard_tries(tx: Transaction, counter: StoredCode | None, customer_id: str, purpose: str, slot: str) -> None:
    """In the transaction that uses a code: the caller's counter of wrong tries is still as read (a wrong try
    judged meanwhile cancels it, and the use is judged again on the new count)."""
    tx.check(CodeItem, *keys.one_time_code(customer_id, purpose, slot), condition=_as_read(counter), tag=CODE_TAG)


def _as_read(counter: StoredCode | None) -> Any:
    return CodeItem.pk.does_not_exist() if counter is None else _unchanged(counter)


# --- customer sessions ------------------------------------------------------------------------------------------


def put_session(
    tx: Transaction,
    customer_id: str,
    secret_hash: str,
    *,
    now_iso: str,
    expires_at: str,
    ttl: int,
    via: str,
    link_issued_at: str | None = None,
) -> None:
    tx.put(
        CustomerSessionItem(
            *keys.customer_session(customer_id, secret_hash),
            created_at=now_iso,
            expires_at=expires_at,
            ttl=ttl,
            via=via,
            link_issued_at=link_issued_at,
        ),
        condition=CustomerSessionItem.pk.does_not_exist(),
    )


def get_session(customer_id: str, secret_hash: str) -> CustomerSessionItem | None:
    return get_one(CustomerSessionItem, *keys.customer_session(customer_id, secret_hash))


def session_read_key(customer_id: str, secret_hash: str) -> ReadKey:
    return (CustomerSessionItem, *keys.customer_session(customer_id, secret_hash))


def delete_session(customer_id: str, secret_hash: str) -> None:
    CustomerSessionItem(*keys.customer_session(customer_id, secret_hash)).delete()


def end_every_session(customer_id: str, now_iso: str) -> int:
    """Sign out everywhere: every session item goes, and links made before ``now_iso`` stop working
    (``signed_out_at`` on the customer). Returns how many sessions there were."""
    CustomerItem(*keys.customer(customer_id)).update(
        actions=[CustomerItem.signed_out_at.set(now_iso)], condition=CustomerItem.pk.exists()
    )
    ended = 0
    with CustomerSessionItem.batch_write() as batch:
        for item in CustomerSessionItem.query(keys.customer_sessions(customer_id), consistent_read=True):
            batch.delete(item)
            ended += 1
    return ended
