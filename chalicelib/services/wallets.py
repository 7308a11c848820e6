"""The customer's wallet in DynamoDB: reading it, and the one way to change it.

Balances are never read-modified-written: a change is DynamoDB arithmetic (``available = available - :p``)
guarded by conditions (``available >= :p``, ``lots.k >= :n``, a hold still present). If a concurrent write makes
a guard fail, the transaction is cancelled and the caller decides again on fresh data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import db, ids
from chalicelib.db import keys
from chalicelib.domain import period_of, spend_12m, split_lot_key, tier_status
from chalicelib.domain.periods import last_day
from chalicelib.domain.settlement import COALITION, entry_deltas
from chalicelib.domain.wallet import (
    Change,
    Event,
    Hold,
    Wallet,
    fits_one_write,
    settle,
    settled,
    split_pending_key,
)
from chalicelib.errors import Unavailable
from chalicelib.schemas import Balance, BalanceSummary, ExpiringPoints, TierOut
from chalicelib.services.idempotency import backoff
from chalicelib.services.program import Program

C = db.CustomerItem
SYSTEM_PARTNER = COALITION  # entries nobody's till made: expiry, operator adjustments

__all__ = ["SYSTEM_PARTNER", "Change", "Wallet", "apply", "balance", "of_item", "post", "settle_into", "summary"]


def as_dict(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    return dict(raw.as_dict() if hasattr(raw, "as_dict") else raw)


def ints(raw: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in as_dict(raw).items()}


def of_item(item: db.CustomerItem) -> Wallet:
    holds = {
        hid: Hold(
            points=int(h["points"]),
            expires_at=str(h["expires_at"]),
            lots=ints(h.get("lots")),
            partner_id=str(h["partner_id"]),
            order_id=str(h["order_id"]),
        )
        for hid, h in as_dict(item.holds).items()
    }
    return Wallet(
        available=int(item.available),
        pending=int(item.pending),
        held=int(item.held),
        lots=ints(item.lots),
        spend=ints(item.spend),
        holds=holds,
        pending_lots=ints(item.pending_lots),
        bonus_days=ints(item.bonus_days),
        last_purchase={str(k): str(v) for k, v in as_dict(item.last_purchase).items()},
        campaign_awards=ints(item.campaign_awards),
    )


def summary(wallet: Wallet) -> BalanceSummary:
    return BalanceSummary(available=wallet.available, pending=wallet.pending, held=wallet.held)


def _hold_value(hold: Hold) -> dict[str, Any]:
    return {
        "points": hold.points,
        "expires_at": hold.expires_at,
        "lots": dict(hold.lots),
        "partner_id": hold.partner_id,
        "order_id": hold.order_id,
    }


def _update(change: Change) -> tuple[list[Action], Condition]:
    """Update actions and the guard condition for the customer item."""
    actions: list[Action] = []
    condition: Condition = C.pk.exists()
    for attr, delta in ((C.available, change.available), (C.pending, change.pending), (C.held, change.held)):
        if delta > 0:
            actions.append(attr.set(attr + delta))
        elif delta < 0:
            actions.append(attr.set(attr - (-delta)))
            condition &= attr >= -delta
    for key, delta in sorted(change.lots.items()):
        if delta > 0:
            actions.append(C.lots[key].set((C.lots[key] | 0) + delta))
        elif delta < 0:
            actions.append(C.lots[key].set(C.lots[key] - (-delta)))
            condition &= C.lots[key] >= -delta
    for period, delta in sorted(change.spend.items()):
        if delta:
            actions.append(C.spend[period].set((C.spend[period] | 0) + delta))
    for key, delta in sorted(change.pending_lots.items()):
        if key in change.remove_pending or not delta:
            continue
        if delta > 0:
            actions.append(C.pending_lots[key].set((C.pending_lots[key] | 0) + delta))
        else:
            actions.append(C.pending_lots[key].set(C.pending_lots[key] - (-delta)))
            condition &= C.pending_lots[key] >= -delta
    for key, expected in sorted(change.remove_pending.items()):
        actions.append(C.pending_lots[key].remove())
        condition &= C.pending_lots[key] == expected
    for hid in sorted(change.remove_holds):
        actions.append(C.holds[hid].remove())
        condition &= C.holds[hid].exists()
    for hid, hold in sorted(change.add_holds.items()):
        actions.append(C.holds[hid].set(_hold_value(hold)))
        condition &= C.holds[hid].does_not_exist()
    for hid, hold in sorted(change.replace_holds.items()):
        if hid in change.remove_holds:
            continue
        actions.append(C.holds[hid].set(_hold_value(hold)))
        condition &= C.holds[hid].exists()
    for key, delta in sorted(change.bonus_days.items()):
        actions.append(C.bonus_days[key].set((C.bonus_days[key] | 0) + delta))
        limit = change.bonus_limits.get(key)
        if limit is not None:
            condition &= C.bonus_days[key].does_not_exist() | (C.bonus_days[key] <= limit - delta)
    for partner_id, when in sorted(change.last_purchase.items()):
        actions.append(C.last_purchase[partner_id].set(when))
    for campaign_id, delta in sorted(change.campaign_awards.items()):
        actions.append(C.campaign_awards[campaign_id].set((C.campaign_awards[campaign_id] | 0) + delta))
        limit = change.campaign_limits.get(campaign_id)
        if limit is not None:
            path = C.campaign_awards[campaign_id]
            condition &= path.does_not_exist() | (path <= limit - delta)
    return actions, condition


def apply(tx: db.Transaction, customer_id: str, change: Change, now_iso: str) -> None:
    """Add the customer update to ``tx``, plus an expiry-index entry for every month that received points."""
    actions, condition = _update(change)
    if actions:
        tx.update(db.CustomerItem(*keys.customer(customer_id)), actions, condition=condition, tag="wallet")
    credited = {split_lot_key(k)[0] for k, d in change.lots.items() if d > 0}
    credited |= {split_lot_key(split_pending_key(k)[1])[0] for k, d in change.pending_lots.items() if d > 0}
    for expiry in sorted(credited):
        tx.put(db.ExpiryIndexItem(*keys.expiry_index(expiry, customer_id), created_at=now_iso))


def post(
    tx: db.Transaction,
    customer_id: str,
    partner_id: str,
    entry_type: str,
    now: datetime,
    program: Program,
    change: Change,
    *,
    amount_minor: int | None = None,
    order_id: str | None = None,
    ref_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> db.EntryItem:
    """Add an immutable ledger entry recording exactly the wallet change it travels with to ``tx``, and add what
    it means for settlement to the partners' period counters in the same transaction.

    The entry records the money settings it was made at (``point_value_minor``, ``operator_fee_bps`` in its
    details; ``program`` must be the program in force at ``now``). A caller may record other values in ``details``
    (an operation settled at the values of the one it reverses); settlement values the entry at what it records."""
    recorded = {
        "point_value_minor": program.point_value_minor,
        "operator_fee_bps": program.operator_fee_bps,
        **(details or {}),
    }
    entry_id = ids.sortable_id("ent", now)
    pk, sk = keys.entry(customer_id, entry_id)
    period = period_of(now, program.timezone)
    item = db.EntryItem(
        pk,
        sk,
        gsi1pk=keys.customer_at_partner(partner_id, customer_id),
        gsi1sk=sk,
        gsi2pk=keys.partner_period(partner_id, period, entry_id),
        gsi2sk=sk,
        entry_id=entry_id,
        customer_id=customer_id,
        partner_id=partner_id,
        type=entry_type,
        period=period,
        created_at=now.isoformat(),
        available_delta=change.available,
        pending_delta=change.pending,
        held_delta=change.held,
        amount_minor=amount_minor,
        order_id=order_id,
        ref_id=ref_id,
        lots={k: v for k, v in change.lots.items() if v},
        details=recorded,
    )
    tx.put(item)
    total = change.available + change.pending + change.held
    for partner, figures in entry_deltas(entry_type, partner_id, total, change.lots, recorded).items():
        amounts = {name: n for name, n in figures.counts.items() if n}
        amounts |= {f"flow_{issuer}": n for issuer, n in figures.flows.items() if n}
        amounts |= {f"exp_{issuer}": n for issuer, n in figures.expired_by_issuer.items() if n}
        tx.add_to_counter(*keys.counter(partner, period, tx.counter_shard), amounts)
    return item


MAX_SETTLE_EVENTS = 10  # released holds and matured buckets one write posts besides its own change


def settle_into(
    tx: db.Transaction, customer_id: str, wallet: Wallet, now: datetime, program: Program
) -> tuple[Wallet, Change]:
    """Record in ``tx`` what time has done to the wallet (one entry per event) and return the settled wallet and
    the change that gets there; the caller merges its own change into it and applies the sum once."""
    events: list[Event] = settle(wallet, now, program.timezone, max_events=MAX_SETTLE_EVENTS)
    total = Change()
    for event in events:
        total = total.merge(event.change)
        entry_partner = SYSTEM_PARTNER if event.type == "expiry" else event.partner_id
        # A released hold leaves its redemption record at status "held"; capture and void tell it apart by the
        # hold being gone from the wallet, so settling never has to touch (and conflict on) that record.
        order_id = wallet.holds[event.ref].order_id if event.type == "hold_expired" else None
        post(
            tx, customer_id, entry_partner, event.type, now, program, event.change, order_id=order_id, ref_id=event.ref
        )
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
        _, change = settle_into(tx, customer_id, wallet, now, program)
        apply(tx, customer_id, change, now.isoformat())
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            backoff(attempt)
        item = db.get_one(db.CustomerItem, *keys.customer(customer_id))
        if item is None:
            raise LookupError(customer_id)
        wallet = of_item(item)
    raise Unavailable("The customer's wallet is catching up with expired holds; nothing was written. Retry shortly.")


def balance(customer_id: str, wallet: Wallet, program: Program, now: datetime) -> Balance:
    """The balance as of ``now``: expired holds released, due points matured, ended months expired."""
    current, _, _ = settled(wallet, now, program.timezone)
    expiring: dict[str, int] = {}
    for key, points in current.lots.items():
        if points > 0:
            expiry = split_lot_key(key)[0]
            expiring[expiry] = expiring.get(expiry, 0) + points
    status = tier_status(spend_12m(current.spend, period_of(now, program.timezone)), program.tiers)
    return Balance(
        customer_id=customer_id,
        available=current.available,
        pending=current.pending,
        held=current.held,
        expiring=[ExpiringPoints(points=p, expires_on=last_day(e)) for e, p in sorted(expiring.items())],
        tier=TierOut(**status.__dict__),
        currency=program.currency,
        point_value_minor=program.point_value_minor,
    )
