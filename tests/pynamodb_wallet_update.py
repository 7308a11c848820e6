"""The customer item's update as pynamodb's expression objects build it: what ``db.wallets`` built before it wrote the
expressions directly; kept as the reference tests/test_wallet_expressions.py holds it against.

Balances are never read-modified-written: a change is DynamoDB arithmetic (``available = available - :p``)
guarded by conditions (``available >= :p``, ``lots.k >= :n``, a hold still present). If a concurrent write makes
a guard fail, the transaction is cancelled and the caller decides again on fresh data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from chalicelib.db.models import CustomerItem
from chalicelib.db.wallet_keys import Layout, Spelling
from chalicelib.db.wallets import MOVES_PER_WRITE
from chalicelib.domain.wallet import Change, Hold, hold_id


class StoredHold(TypedDict, total=False):
    """A hold as the customer item's ``holds`` map stores it: its lots spelled like the item's, partner and order
    only where its key does not say them (it always does since the compact spelling)."""

    points: int
    expires_at: str
    lots: dict[str, int]
    partner_id: str
    order_id: str


def _stored(hid: str, hold: Hold, spelling: Spelling) -> StoredHold:
    stored: StoredHold = {
        "points": hold.points,
        "expires_at": hold.expires_at,
        "lots": {spelling.stored_key(k): v for k, v in hold.lots.items()},
    }
    if hid != hold_id(hold.partner_id, hold.order_id):
        stored |= {"partner_id": hold.partner_id, "order_id": hold.order_id}
    return stored


@dataclass
class _Update:
    """The update actions on the customer item and the condition that guards them, built part by part."""

    spelling: Spelling
    moved: int = 0  # lots this write moves from an older spelling
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
        parts = u.spelling.layout.parts.get(key, ())
        if len(parts) == 1 and u.moved >= MOVES_PER_WRITE:
            target = parts[0][0]  # stays where it is this time: the update expression stays small
        else:
            target = u.spelling.stored_key(key)
        # A lot still held under another spelling moves to the compact key with this write: its old key leaves only
        # if it still holds exactly what was read, and those points travel with this write's own delta.
        carried = 0
        for stored, points in parts:
            if stored != target:
                u.actions.append(CustomerItem.lots[stored].remove())
                u.condition &= CustomerItem.lots[stored] == points
                carried += points
                u.moved += 1
        lot = CustomerItem.lots[target]
        delta += carried
        if delta > 0:
            u.actions.append(lot.set((lot | 0) + delta))
        elif delta < 0:
            u.actions.append(lot.set(lot - (-delta)))
            u.condition &= lot >= -delta
    for key, total in sorted(change.drop_lots.items()):
        # Every key the lot was read under leaves; the decision read ``total`` points in them together.
        for stored, as_read in u.spelling.layout.parts.get(key) or ((u.spelling.stored_key(key), total),):
            lot = CustomerItem.lots[stored]
            u.actions.append(lot.remove())
            # An emptied lot leaves only if it still holds exactly what the decision read (at least as strict as
            # ``lot >= n``); a lot found at 0 only if it is still 0 (or already gone): a concurrent credit to it
            # cancels this write instead of being removed with it.
            if as_read:
                u.condition &= lot == as_read
            else:
                u.condition &= lot.does_not_exist() | (lot == 0)


def _partners(u: _Update, change: Change) -> None:
    """Partners named by a compact key for the first time join the list, at the positions their keys used: only if
    the list is still as long as read (it only grows, so then it is the list read)."""
    if not u.spelling.added:
        return
    partners = CustomerItem.partners
    u.actions.append(partners.set((partners | []).append(u.spelling.added)))
    length = len(u.spelling.layout.partners)
    u.condition &= size(partners) == length if length else partners.does_not_exist() | (size(partners) == 0)


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
        u.actions.append(CustomerItem.holds[hid].set(_stored(hid, hold, u.spelling)))
        u.condition &= CustomerItem.holds[hid].does_not_exist()
    for hid, hold in sorted(change.replace_holds.items()):
        if hid in change.remove_holds:
            continue
        u.actions.append(CustomerItem.holds[hid].set(_stored(hid, hold, u.spelling)))
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
        u.actions.append(CustomerItem.last_purchase[str(u.spelling.position(partner_id))].set(when))
        if partner_id in u.spelling.layout.purchases_by_id:  # the spelling of items written before leaves
            u.actions.append(CustomerItem.last_purchase[partner_id].remove())


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
    _partners,  # last: it appends what the parts before named for the first time
)


def update_for(change: Change, layout: Layout | None = None) -> tuple[list[Action], Condition]:
    """Update actions and the guard condition for the customer item, spelled against ``layout`` (the item as the
    change's decision read it; none: an item holding no lots)."""
    update = _Update(Spelling(layout or Layout()))
    for part in _PARTS:
        part(update, change)
    return update.actions, update.condition
