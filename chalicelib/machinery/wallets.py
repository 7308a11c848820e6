"""The customer's wallet in use: posting a change with its ledger entry, settling what time did, the balance.

How a change is stored and guarded (DynamoDB arithmetic under conditions, never read-modified-written) is
``chalicelib/db/wallets.py``; the entry and its settlement counters are ``chalicelib/db/entries.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, TypedDict, Unpack

from chalicelib import db, ids
from chalicelib.db import entries as entries_db
from chalicelib.db import wallets as wallets_db
from chalicelib.db.maps import as_dict, ints
from chalicelib.db.wallets import apply
from chalicelib.domain import period_of, split_lot_key
from chalicelib.domain.balance import balance_fields
from chalicelib.domain.periods import iso_instant
from chalicelib.domain.settlement import COALITION, entry_deltas
from chalicelib.domain.wallet import Change, Event, Wallet, fits_one_write, settle, split_pending_key, tidy
from chalicelib.errors import Unavailable
from chalicelib.machinery import events
from chalicelib.machinery.built import built
from chalicelib.machinery.idempotency import backoff
from chalicelib.machinery.program import Program
from chalicelib.schemas import Balance, BalanceSummary, ExpiringPoints, TierOut

SYSTEM_PARTNER = COALITION  # entries nobody's till made: expiry, operator adjustments

# ``of_item`` is for callers that hold a customer item already (a page, a profile read); ``as_dict`` and ``ints``
# read map attributes: all three live in chalicelib/db and are named here for those callers.
of_item = wallets_db.wallet_of

__all__ = [
    "SYSTEM_PARTNER",
    "Change",
    "EntryFields",
    "Wallet",
    "apply",
    "as_dict",
    "balance",
    "ints",
    "marked_months",
    "of_item",
    "post",
    "settle_into",
    "summary",
    "write",
]


def marked_months(stored: Wallet) -> set[str]:
    """The expiry months whose expiry-index marker exists for this wallet as read: a lot (or a pending bucket) of
    that month is on the item, and the marker was written in the very transaction that first credited it. It is
    deleted only by the expiry job once that month has ended, and no write credits an ended month's lot again that
    the job would still look at (its cursor has passed). A lot removed from the item only costs a marker rewrite."""
    months = {split_lot_key(k)[0] for k in stored.lots}
    months |= {split_lot_key(split_pending_key(k)[1])[0] for k in stored.pending_lots}
    return months


def summary(wallet: Wallet) -> BalanceSummary:
    # A wallet's balances are ints (read with ``int``, changed by ints): built without validation.
    return built(BalanceSummary, available=wallet.available, pending=wallet.pending, held=wallet.held)


class EntryFields(TypedDict, total=False):
    """What a ledger entry says about its operation besides the wallet change."""

    amount_minor: int | None
    order_id: str | None
    ref_id: str | None
    details: Mapping[str, Any] | None


def post(
    tx: db.Transaction,
    customer_id: str,
    partner_id: str,
    entry_type: str,
    now: datetime,
    program: Program,
    change: Change,
    **fields: Unpack[EntryFields],
) -> str:
    """Add an immutable ledger entry recording exactly the wallet change it travels with to ``tx``, and add what
    it means for settlement to the partners' period counters in the same transaction; returns the entry's id.

    The entry records the money settings it was made at (``point_value_minor``, ``operator_fee_bps`` in its
    details; ``program`` must be the program in force at ``now``). A caller may record other values in ``details``
    (an operation settled at the values of the one it reverses); settlement values the entry at what it records."""
    recorded = {
        "point_value_minor": program.point_value_minor,
        "operator_fee_bps": program.operator_fee_bps,
        **(fields.get("details") or {}),
    }
    entry_id, period = ids.sortable_id("ent", now), period_of(now, program.timezone)
    # ``NewEntry(...)`` of every field in order, without the frozen ``__init__``'s ``object.__setattr__`` per field
    # (one or more per write): the same fields stored. tests/test_rules_fast_paths.py holds the two equal.
    entry: entries_db.NewEntry = object.__new__(entries_db.NewEntry)
    entry.__dict__.update(
        entry_id=entry_id,
        customer_id=customer_id,
        partner_id=partner_id,
        entry_type=entry_type,
        period=period,
        created_at=iso_instant(now),
        change=change,
        details=recorded,
        amount_minor=fields.get("amount_minor"),
        order_id=fields.get("order_id"),
        ref_id=fields.get("ref_id"),
    )
    entries_db.put(tx, entry)
    total = change.available + change.pending + change.held
    entries_db.add_figures(tx, period, entry_deltas(entry_type, partner_id, total, change.lots, recorded))
    return entry_id


def write(
    tx: db.Transaction,
    customer_id: str,
    after: Wallet,
    change: Change,
    now: datetime,
    program: Program,
    marked: Collection[str] = (),
) -> None:
    """Add the customer item's update to ``tx``: ``change``, which takes the wallet as read to ``after``, plus what
    leaves the item with it (emptied lots, counters out of every window: ``domain.wallet.tidy``), so the item and
    each write's units stay the same size however long the customer stays. ``marked``: the months whose expiry
    marker the item as read shows to exist (``marked_months``), not written again."""
    apply(tx, customer_id, tidy(after, change, now, program.timezone), iso_instant(now), marked, after)


MAX_SETTLE_EVENTS = 10  # released holds and matured buckets one write posts besides its own change


def settle_into(
    tx: db.Transaction, customer_id: str, wallet: Wallet, now: datetime, program: Program
) -> tuple[Wallet, Change]:
    """Record in ``tx`` what time has done to the wallet (one entry per event) and return the settled wallet and
    the change that gets there; the caller merges its own change into it and applies the sum once. When time did
    nothing, the settled wallet is ``wallet`` itself (wallets are never changed in place)."""
    settled_events: list[Event] = settle(wallet, now, program.timezone, max_events=MAX_SETTLE_EVENTS)
    if not settled_events:
        return wallet, Change()
    total = Change()
    for event in settled_events:
        total = total.merge(event.change)
        entry_partner = SYSTEM_PARTNER if event.type == "expiry" else event.partner_id
        # A released hold leaves its redemption record at status "held"; capture and void tell it apart by the
        # hold being gone from the wallet, so settling never has to touch (and conflict on) that record.
        order_id = wallet.holds[event.ref].order_id if event.type == "hold_expired" else None
        post(
            tx, customer_id, entry_partner, event.type, now, program, event.change, order_id=order_id, ref_id=event.ref
        )
        if event.type == "expiry":  # told to each partner whose points expired, in this same transaction
            events.stage(tx, events.expired(customer_id, dict(event.change.lots), now))
        elif event.type == "hold_expired":  # the till that held them learns the points are back
            released = events.hold_released(customer_id, event.partner_id, order_id, -event.change.held, now)
            events.stage(tx, released)
    return total.applied_to(wallet), total


def catch_up(customer_id: str, wallet: Wallet, now: datetime, program: Program) -> Wallet:
    """Post what time did to a wallet until the rest fits into one write, each part in a transaction of its own,
    and return the wallet as stored after it. A write must decide on the fully settled wallet (a hold past its
    deadline is expired whatever was posted; a quote and the redemption see the same points), yet one transaction
    holds only so many entries. Every part is guarded like any wallet change: if another write settled the same
    events first, the part is cancelled and the wallet is read again."""
    for attempt in range(12):
        if fits_one_write(wallet, now, program.timezone, MAX_SETTLE_EVENTS):
            return wallet
        tx = db.Transaction()
        after, change = settle_into(tx, customer_id, wallet, now, program)
        write(tx, customer_id, after, change, now, program)
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            backoff(attempt)
        stored = wallets_db.read(customer_id)
        if stored is None:
            raise LookupError(customer_id)
        wallet = stored
    raise Unavailable("The customer's wallet is catching up with expired holds; nothing was written. Retry shortly.")


def balance(customer_id: str, wallet: Wallet, program: Program, now: datetime) -> Balance:
    """The balance as of ``now``: expired holds released, due points matured, ended months expired."""
    fields = balance_fields(
        customer_id,
        wallet,
        now,
        timezone=program.timezone,
        tiers=program.tiers,
        currency=program.currency,
        point_value_minor=program.point_value_minor,
    )
    # Built without validation: every value is already of its field's type (ints of the wallet, the program's str
    # and int, dates); tests/test_hot_path_copies.py holds its JSON equal to the validated model's.
    fields["expiring"] = [ExpiringPoints.model_construct(**e) for e in fields["expiring"]]
    fields["tier"] = TierOut.model_construct(**fields["tier"])
    return Balance.model_construct(**fields)
