"""A partner's API keys as its owner sees them: ``PKEYS#<partner>`` / ``<key id>`` with the key's label, when it was
made and whether it was revoked (the key itself, by its hash, is ``db/api_keys.py``'s). One query lists them. Keys
made before labels existed have no such item: the portal lists the keys made since."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db import keys
from chalicelib.db.capped_counts import CappedCount, Counted
from chalicelib.db.models import _Item
from chalicelib.db.reads import Found, ReadKey, get_one
from chalicelib.db.tx import Transaction

__all__ = ["ListedKey", "add", "count", "list_keys", "listed", "load", "mark_revoked", "read_key"]


class PartnerKeyItem(_Item):
    """``PKEYS#<partner>`` / ``<key id>``: one of a partner's API keys, for its owner's list."""

    key_id = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")  # active | revoked
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class ListedKey:
    key_id: str
    label: str | None
    status: str
    created_at: str
    revoked_at: str | None


_pk = keys.partner_keys


def _listed(item: PartnerKeyItem) -> ListedKey:
    return ListedKey(item.key_id, item.label, str(item.status), item.created_at, item.revoked_at)


class PartnerKeyCountItem(_Item):
    """``PKEYCOUNT#<partner>`` / ``COUNT``: how many of the partner's listed keys are active. A new key adds one under
    ``active < cap`` and a revocation takes one, each in the transaction of its change, so two new keys at once
    cannot pass the cap together. Absent for a partner whose keys predate it: the first change counts them and puts
    it under ``attribute_not_exists``."""

    active = NumberAttribute(default=0)


def _active(partner_id: str) -> int:
    return len([k for k in list_keys(partner_id) if k.status == "active"])


# A new key (not a rotation, one for one) and a revocation alone move this count, in their own transaction.
count = CappedCount(PartnerKeyCountItem, "active", keys.partner_key_count, _active, "key_count")


def add(
    tx: Transaction,
    partner_id: str,
    key_id: str,
    label: str | None,
    now_iso: str,
    created_by: str,
    counted: tuple[Counted, int] | None,
) -> None:
    """List a new key for the owner. ``counted``: the partner's active keys (:data:`count`) and the cap, the count
    moved up in this write under the cap; None: a rotation, one key for another (the count stays)."""
    item = PartnerKeyItem(
        _pk(partner_id), key_id, key_id=key_id, label=label, status="active", created_at=now_iso, created_by=created_by
    )
    tx.put(item, condition=PartnerKeyItem.pk.does_not_exist(), tag="partner_key")
    if counted is not None:
        held, cap = counted
        count.move(tx, partner_id, held, 1, cap)


def mark_revoked(tx: Transaction, partner_id: str, key_id: str, now_iso: str, counted: Counted | None = None) -> None:
    """In the revocation's transaction: the listed key shows as revoked. Only while it is listed active: of two
    revocations at once, one is cancelled (tag ``partner_key``), so the key is counted out once. ``counted``: the
    partner's active keys (:data:`count`), one fewer in this write; None: a rotation, whose new key takes its place."""
    item = PartnerKeyItem(_pk(partner_id), key_id)
    actions = [PartnerKeyItem.status.set("revoked"), PartnerKeyItem.revoked_at.set(now_iso)]
    tx.update(item, actions, condition=PartnerKeyItem.status == "active", tag="partner_key")
    if counted is not None:
        count.move(tx, partner_id, counted, -1)


def read_key(partner_id: str, key_id: str) -> ReadKey:
    return (PartnerKeyItem, _pk(partner_id), key_id)


def listed(found: Found, partner_id: str, key_id: str) -> ListedKey | None:
    """The listed key, :func:`read_key` having been read in ``found`` (None: made before keys were listed)."""
    item = found.get((_pk(partner_id), key_id))
    return _listed(item) if isinstance(item, PartnerKeyItem) else None


def load(partner_id: str, key_id: str) -> ListedKey | None:
    item = get_one(PartnerKeyItem, _pk(partner_id), key_id)
    return None if item is None else _listed(item)


def list_keys(partner_id: str) -> list[ListedKey]:
    """The partner's listed keys, newest first: one query."""
    return sorted((_listed(i) for i in PartnerKeyItem.query(_pk(partner_id))), key=lambda k: k.created_at, reverse=True)
