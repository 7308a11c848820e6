"""The customer's wallet on the customer item: loading it as a domain ``Wallet``, and the one way to change it.

Balances are never read-modified-written: a change is DynamoDB arithmetic (``available = available - :p``)
guarded by conditions (``available >= :p``, ``lots.k >= :n``, a hold still present). If a concurrent write makes
a guard fail, the transaction is cancelled and the caller decides again on fresh data.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.codec import keyed
from chalicelib.db.maps import as_dict, ints
from chalicelib.db.models import CustomerItem, ExpiryIndexItem
from chalicelib.db.store import Found, ReadKey, get_one
from chalicelib.db.tx import Transaction
from chalicelib.domain.wallet import Change, Hold, Wallet, credited_months

__all__ = ["WALLET_TAG", "apply", "load", "read", "read_key", "update_for", "wallet_of"]

WALLET_TAG = "wallet"  # the tag a failed wallet guard reports in TxCancelled.failed


def read_key(customer_id: str) -> ReadKey:
    return (CustomerItem, *keys.customer(customer_id))


def load(found: Found, customer_id: str) -> Wallet | None:
    """The customer's wallet from a batch read that asked for :func:`read_key`; None if there is no customer."""
    item = found.get(keys.customer(customer_id))
    return None if item is None else wallet_of(item)


def read(customer_id: str) -> Wallet | None:
    """The customer's wallet as stored now (one strongly consistent GetItem)."""
    item = get_one(CustomerItem, *keys.customer(customer_id))
    return None if item is None else wallet_of(item)


def wallet_of(item: CustomerItem) -> Wallet:
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


class StoredHold(TypedDict):
    """A hold as the customer item's ``holds`` map stores it."""

    points: int
    expires_at: str
    lots: dict[str, int]
    partner_id: str
    order_id: str


def _stored(hold: Hold) -> StoredHold:
    return {
        "points": hold.points,
        "expires_at": hold.expires_at,
        "lots": dict(hold.lots),
        "partner_id": hold.partner_id,
        "order_id": hold.order_id,
    }


@dataclass
class _Update:
    """The update actions on the customer item and the condition that guards them, built part by part."""

    actions: list[Action] = field(default_factory=list)
    condition: Condition = field(default_factory=CustomerItem.pk.exists)


def _balances(u: _Update, change: Change) -> None:
    for attr, delta in (
        (CustomerItem.available, change.available),
        (CustomerItem.pending, change.pending),
        (CustomerItem.held, change.held),
    ):
        if delta > 0:
            u.actions.append(attr.set(attr + delta))
        elif delta < 0:
            u.actions.append(attr.set(attr - (-delta)))
            u.condition &= attr >= -delta


def _lots(u: _Update, change: Change) -> None:
    for key, delta in sorted(change.lots.items()):
        if key in change.drop_lots:
            continue
        lot = CustomerItem.lots[key]
        if delta > 0:
            u.actions.append(lot.set((lot | 0) + delta))
        elif delta < 0:
            u.actions.append(lot.set(lot - (-delta)))
            u.condition &= lot >= -delta
    for key, as_read in sorted(change.drop_lots.items()):
        lot = CustomerItem.lots[key]
        u.actions.append(lot.remove())
        # An emptied lot leaves only if it still holds exactly what the decision read (at least as strict as
        # ``lot >= n``); a lot found at 0 only if it is still 0 (or already gone): a concurrent credit to it cancels
        # this write instead of being removed with it.
        if as_read:
            u.condition &= lot == as_read
        else:
            u.condition &= lot.does_not_exist() | (lot == 0)


def _spend(u: _Update, change: Change) -> None:
    for period, delta in sorted(change.spend.items()):
        if delta and period not in change.drop_spend:
            month = CustomerItem.spend[period]
            u.actions.append(month.set((month | 0) + delta))
    # Months before the tier window: nothing reads or writes them again (refunds take spend off the current month).
    for period in sorted(change.drop_spend):
        u.actions.append(CustomerItem.spend[period].remove())


def _pending(u: _Update, change: Change) -> None:
    for key, delta in sorted(change.pending_lots.items()):
        if key in change.remove_pending or not delta:
            continue
        bucket = CustomerItem.pending_lots[key]
        if delta > 0:
            u.actions.append(bucket.set((bucket | 0) + delta))
        else:
            u.actions.append(bucket.set(bucket - (-delta)))
            u.condition &= bucket >= -delta
    for key, expected in sorted(change.remove_pending.items()):
        u.actions.append(CustomerItem.pending_lots[key].remove())
        u.condition &= CustomerItem.pending_lots[key] == expected


def _holds(u: _Update, change: Change) -> None:
    for hid in sorted(change.remove_holds):
        u.actions.append(CustomerItem.holds[hid].remove())
        u.condition &= CustomerItem.holds[hid].exists()
    for hid, hold in sorted(change.add_holds.items()):
        u.actions.append(CustomerItem.holds[hid].set(_stored(hold)))
        u.condition &= CustomerItem.holds[hid].does_not_exist()
    for hid, hold in sorted(change.replace_holds.items()):
        if hid in change.remove_holds:
            continue
        u.actions.append(CustomerItem.holds[hid].set(_stored(hold)))
        u.condition &= CustomerItem.holds[hid].exists()


def _capped_counts(
    u: _Update, counts: MapAttribute[str, Any], deltas: Mapping[str, int], limits: Mapping[str, int]
) -> None:
    """Add to counters kept in one map attribute, each guarded by its limit where it has one (``count <= limit -
    delta`` before the write): the bonus caps per day and the campaign awards per customer."""
    for key, delta in sorted(deltas.items()):
        count = counts[key]
        u.actions.append(count.set((count | 0) + delta))
        limit = limits.get(key)
        if limit is not None:
            u.condition &= count.does_not_exist() | (count <= limit - delta)


def _bonus_days(u: _Update, change: Change) -> None:
    _capped_counts(u, CustomerItem.bonus_days, change.bonus_days, change.bonus_limits)
    # Counters of days before yesterday: the cap counts today only, and no write adds to a past day.
    for day in sorted(change.drop_bonus_days - change.bonus_days.keys()):
        u.actions.append(CustomerItem.bonus_days[day].remove())


def _last_purchase(u: _Update, change: Change) -> None:
    for partner_id, when in sorted(change.last_purchase.items()):
        u.actions.append(CustomerItem.last_purchase[partner_id].set(when))


def _campaign_awards(u: _Update, change: Change) -> None:
    _capped_counts(u, CustomerItem.campaign_awards, change.campaign_awards, change.campaign_limits)


_PARTS: tuple[Callable[[_Update, Change], None], ...] = (
    _balances,
    _lots,
    _spend,
    _pending,
    _holds,
    _bonus_days,
    _last_purchase,
    _campaign_awards,
)


def update_for(change: Change) -> tuple[list[Action], Condition]:
    """Update actions and the guard condition for the customer item."""
    update = _Update()
    for part in _PARTS:
        part(update, change)
    return update.actions, update.condition


def apply(tx: Transaction, customer_id: str, change: Change, now_iso: str, marked: Collection[str] = ()) -> None:
    """Add the customer update to ``tx``, plus an expiry-index entry for every month that received points, unless
    that month is ``marked`` already (the caller read the item and saw its marker's lot: see
    ``services.wallets.marked_months``); rewriting an existing marker would cost a write unit for nothing."""
    actions, condition = update_for(change)
    if actions:
        tx.update(keyed(CustomerItem, *keys.customer(customer_id)), actions, condition=condition, tag=WALLET_TAG)
    for expiry in sorted(credited_months(change) - set(marked)):
        tx.put(ExpiryIndexItem(*keys.expiry_index(expiry, customer_id), created_at=now_iso))
