"""The customer's wallet on the customer item: loading it as a domain ``Wallet``, and the one way to change it.

Balances are never read-modified-written: a change is DynamoDB arithmetic (``available = available - :p``)
guarded by conditions (``available >= :p``, ``lots.k >= :n``, a hold still present). If a concurrent write makes
a guard fail, the transaction is cancelled and the caller decides again on fresh data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypedDict

from chalicelib.db import keys
from chalicelib.db.codec import keyed
from chalicelib.db.expressions import RawUpdate, ShapedUpdate, typed
from chalicelib.db.models import CustomerItem, ExpiryIndexItem
from chalicelib.db.new_items import writer
from chalicelib.db.tx import Transaction
from chalicelib.db.wallet_keys import Layout, Spelling
from chalicelib.db.wallet_reads import customer_values, load, read, read_key, wallet_in, wallet_of, wallet_of_raw
from chalicelib.domain.wallet import Change, Hold, Wallet, credited_months, hold_id

__all__ = [
    "MOVES_PER_WRITE",
    "WALLET_TAG",
    "apply",
    "customer_values",
    "load",
    "read",
    "read_key",
    "update_for",
    "wallet_in",
    "wallet_of",
    "wallet_of_raw",
]

WALLET_TAG = "wallet"  # the tag a failed wallet guard reports in TxCancelled.failed
# Lots one write moves from an older spelling (each names two keys and a guard): a spend touching more leaves the
# rest where they are, so its update expression stays inside DynamoDB's 4 KB; later writes move them.
MOVES_PER_WRITE = 20


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


# Conditions and actions, as pynamodb spells them (``codec.RawUpdate``: the same request it would build).
_AT_LEAST = "{0} >= {1}"
_EQUAL = "{0} = {1}"
_PRESENT = "attribute_exists ({0})"
_ABSENT = "attribute_not_exists ({0})"
_ABSENT_OR_EQUAL = "(attribute_not_exists ({0}) OR {0} = {1})"
_ABSENT_OR_AT_MOST = "(attribute_not_exists ({0}) OR {0} <= {1})"
_SIZE = "size ({0}) = {1}"
_ABSENT_OR_SIZE = "(attribute_not_exists ({0}) OR size ({0}) = {1})"
_TO = "{0} = {1}"
_PLUS = "{0} = {0} + {1}"
_MINUS = "{0} = {0} - {1}"
_PLUS_FROM_ZERO = "{0} = if_not_exists ({0}, {1}) + {2}"
_APPEND = "{0} = list_append (if_not_exists ({0}, {1}), {2})"
_ZERO = typed(0)


class _Update:
    """The update of the customer item and the condition that guards it (``pk`` exists), built part by part."""

    __slots__ = ("moved", "spelling", "x")

    def __init__(self, spelling: Spelling) -> None:
        self.spelling = spelling
        self.moved = 0  # lots this write moves from an older spelling
        self.x = ShapedUpdate(("pk",))


def _balances(u: _Update, change: Change) -> None:
    for path, delta in ((("available",), change.available), (("pending",), change.pending), (("held",), change.held)):
        if delta > 0:
            u.x.set(_PLUS, path, typed(delta))
        elif delta < 0:
            u.x.set(_MINUS, path, typed(-delta))
            u.x.guard(_AT_LEAST, path, typed(-delta))


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
                u.x.remove(("lots", stored))
                u.x.guard(_EQUAL, ("lots", stored), typed(points))
                carried += points
                u.moved += 1
        lot = ("lots", target)
        delta += carried
        if delta > 0:
            u.x.set(_PLUS_FROM_ZERO, lot, _ZERO, typed(delta))
        elif delta < 0:
            u.x.set(_MINUS, lot, typed(-delta))
            u.x.guard(_AT_LEAST, lot, typed(-delta))
    for key, total in sorted(change.drop_lots.items()):
        # Every key the lot was read under leaves; the decision read ``total`` points in them together.
        for stored, as_read in u.spelling.layout.parts.get(key) or ((u.spelling.stored_key(key), total),):
            lot = ("lots", stored)
            u.x.remove(lot)
            # An emptied lot leaves only if it still holds exactly what the decision read (at least as strict as
            # ``lot >= n``); a lot found at 0 only if it is still 0 (or already gone): a concurrent credit to it
            # cancels this write instead of being removed with it.
            if as_read:
                u.x.guard(_EQUAL, lot, typed(as_read))
            else:
                u.x.guard(_ABSENT_OR_EQUAL, lot, _ZERO)


def _partners(u: _Update, change: Change) -> None:
    """Partners named by a compact key for the first time join the list, at the positions their keys used: only if
    the list is still as long as read (it only grows, so then it is the list read)."""
    if not u.spelling.added:
        return
    partners = ("partners",)
    u.x.set(_APPEND, partners, typed([]), typed(list(u.spelling.added)))
    length = len(u.spelling.layout.partners)
    u.x.guard(_SIZE if length else _ABSENT_OR_SIZE, partners, typed(length))


def _spend(u: _Update, change: Change) -> None:
    for period, delta in sorted(change.spend.items()):
        if delta and period not in change.drop_spend:
            u.x.set(_PLUS_FROM_ZERO, ("spend", period), _ZERO, typed(delta))
    # Months before the tier window: nothing reads or writes them again (refunds take spend off the current month).
    for period in sorted(change.drop_spend):
        u.x.remove(("spend", period))


def _pending(u: _Update, change: Change) -> None:
    for key, delta in sorted(change.pending_lots.items()):
        if key in change.remove_pending or not delta:
            continue
        bucket = ("pending_lots", key)
        if delta > 0:
            u.x.set(_PLUS_FROM_ZERO, bucket, _ZERO, typed(delta))
        else:
            u.x.set(_MINUS, bucket, typed(-delta))
            u.x.guard(_AT_LEAST, bucket, typed(-delta))
    for key, expected in sorted(change.remove_pending.items()):
        u.x.remove(("pending_lots", key))
        u.x.guard(_EQUAL, ("pending_lots", key), typed(expected))


def _holds(u: _Update, change: Change) -> None:
    for hid in sorted(change.remove_holds):
        u.x.remove(("holds", hid))
        u.x.guard(_PRESENT, ("holds", hid))
    for hid, hold in sorted(change.add_holds.items()):
        u.x.set(_TO, ("holds", hid), typed(_stored(hid, hold, u.spelling)))
        u.x.guard(_ABSENT, ("holds", hid))
    for hid, hold in sorted(change.replace_holds.items()):
        if hid in change.remove_holds:
            continue
        u.x.set(_TO, ("holds", hid), typed(_stored(hid, hold, u.spelling)))
        u.x.guard(_PRESENT, ("holds", hid))


def _capped_counts(u: _Update, counts: str, deltas: Mapping[str, int], limits: Mapping[str, int]) -> None:
    """Add to counters kept in one map attribute, each guarded by its limit where it has one (``count <= limit -
    delta`` before the write): the bonus caps per day and the campaign awards per customer."""
    for key, delta in sorted(deltas.items()):
        count = (counts, key)
        u.x.set(_PLUS_FROM_ZERO, count, _ZERO, typed(delta))
        limit = limits.get(key)
        if limit is not None:
            u.x.guard(_ABSENT_OR_AT_MOST, count, typed(limit - delta))


def _bonus_days(u: _Update, change: Change) -> None:
    _capped_counts(u, "bonus_days", change.bonus_days, change.bonus_limits)
    # Counters of days before yesterday: the cap counts today only, and no write adds to a past day.
    for day in sorted(change.drop_bonus_days - change.bonus_days.keys()):
        u.x.remove(("bonus_days", day))


def _last_purchase(u: _Update, change: Change) -> None:
    for partner_id, when in sorted(change.last_purchase.items()):
        u.x.set(_TO, ("last_purchase", str(u.spelling.position(partner_id))), typed(when))
        if partner_id in u.spelling.layout.purchases_by_id:  # the spelling of items written before leaves
            u.x.remove(("last_purchase", partner_id))


def _campaign_awards(u: _Update, change: Change) -> None:
    _capped_counts(u, "campaign_awards", change.campaign_awards, change.campaign_limits)


_MARKER = writer(ExpiryIndexItem)  # a month's expiry marker as ``tx.put`` of the model's item sends it
_NO_LAYOUT = Layout()  # an item holding no lots (read only: a layout is never changed)


def update_for(change: Change, layout: Layout | None = None) -> RawUpdate:
    """The update of the customer item and its guard, spelled against ``layout`` (the item as the change's decision
    read it; none: an item holding no lots). Each part only where the change has something for it (most changes
    touch three or four of the nine)."""
    u = _Update(Spelling(layout or _NO_LAYOUT))
    c = change
    if c.available or c.pending or c.held:
        _balances(u, c)
    if c.lots or c.drop_lots:
        _lots(u, c)
    if c.spend or c.drop_spend:
        _spend(u, c)
    if c.pending_lots or c.remove_pending:
        _pending(u, c)
    if c.remove_holds or c.add_holds or c.replace_holds:
        _holds(u, c)
    if c.bonus_days or c.drop_bonus_days:
        _bonus_days(u, c)
    if c.last_purchase:
        _last_purchase(u, c)
    if c.campaign_awards:
        _campaign_awards(u, c)
    _partners(u, c)  # last: it appends what the parts before named for the first time
    return u.x


def apply(
    tx: Transaction,
    customer_id: str,
    change: Change,
    now_iso: str,
    marked: Collection[str] = (),
    decided_on: Wallet | None = None,
) -> None:
    """Add the customer update to ``tx``, plus an expiry-index entry for every month that received points, unless
    that month is ``marked`` already (the caller read the item and saw its marker's lot: see
    ``machinery.wallets.marked_months``); rewriting an existing marker would cost a write unit for nothing.
    ``decided_on``: a wallet derived from the item as read (its lots' stored keys; none: an item without lots)."""
    layout = decided_on.stored_as if decided_on is not None else None
    update = update_for(change, layout if isinstance(layout, Layout) else None)
    if update:
        tx.update_raw(keyed(CustomerItem, *keys.customer(customer_id)), update, tag=WALLET_TAG)
    months = credited_months(change).difference(marked)
    for expiry in sorted(months) if months else ():
        tx.put_raw(ExpiryIndexItem, _MARKER(*keys.expiry_index(expiry, customer_id), created_at=now_iso))
