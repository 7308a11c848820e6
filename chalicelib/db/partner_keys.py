"""A partner's API keys as its owner sees them: ``PKEYS#<partner>`` / ``<key id>`` with the key's label, when it was
made and whether it was revoked (the key itself, by its hash, is ``db/api_keys.py``'s). One query lists them. Keys
made before labels existed have no such item: the portal lists the keys made since."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db import keys
from chalicelib.db.models import _Item
from chalicelib.db.reads import Found, ReadKey, get_one
from chalicelib.db.tx import Transaction

__all__ = ["ListedKey", "add", "count_key", "list_keys", "live_count", "load", "mark_revoked", "uncount"]


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


def count_key(partner_id: str) -> ReadKey:
    return (PartnerKeyCountItem, *keys.partner_key_count(partner_id))


def live_count(found: Found, partner_id: str) -> tuple[int, bool]:
    """How many listed keys of the partner are active, and whether that number is stored (:func:`count_key` read in
    ``found``; a partner whose keys predate the count has them counted here)."""
    item = found.get(keys.partner_key_count(partner_id))
    if isinstance(item, PartnerKeyCountItem):
        return int(item.active), True
    return len([k for k in list_keys(partner_id) if k.status == "active"]), False


def _count(tx: Transaction, partner_id: str, live: int, stored: bool, delta: int, cap: int | None) -> None:
    pk, sk = keys.partner_key_count(partner_id)
    if not stored:
        item = PartnerKeyCountItem(pk, sk, active=live + delta)
        tx.put(item, condition=PartnerKeyCountItem.pk.does_not_exist(), tag="key_count")
        return
    guard = PartnerKeyCountItem.active < cap if cap is not None else PartnerKeyCountItem.pk.exists()
    tx.update(PartnerKeyCountItem(pk, sk), [PartnerKeyCountItem.active.add(delta)], condition=guard, tag="key_count")


def add(
    tx: Transaction,
    partner_id: str,
    key_id: str,
    label: str | None,
    now_iso: str,
    created_by: str,
    counted: tuple[int, bool, int] | None,
) -> None:
    """List a new key for the owner. ``counted``: (active keys, stored, cap) from :func:`live_count`, the count
    moved up in this write under the cap; None: a rotation, one key for another (the count stays)."""
    item = PartnerKeyItem(
        _pk(partner_id), key_id, key_id=key_id, label=label, status="active", created_at=now_iso, created_by=created_by
    )
    tx.put(item, condition=PartnerKeyItem.pk.does_not_exist(), tag="partner_key")
    if counted is not None:
        live, stored, cap = counted
        _count(tx, partner_id, live, stored, 1, cap)


def uncount(tx: Transaction, partner_id: str, found: Found) -> None:
    """A listed active key revoked alone (not rotated): one key fewer, in the revocation's transaction."""
    live, stored = live_count(found, partner_id)
    _count(tx, partner_id, live, stored, -1, None)


def mark_revoked(tx: Transaction, partner_id: str, key_id: str, now_iso: str) -> None:
    """In the revocation's transaction: the listed key shows as revoked. Only while it is listed active: of two
    revocations at once, one is cancelled (tag ``partner_key``), so the key is counted out once."""
    item = PartnerKeyItem(_pk(partner_id), key_id)
    actions = [PartnerKeyItem.status.set("revoked"), PartnerKeyItem.revoked_at.set(now_iso)]
    tx.update(item, actions, condition=PartnerKeyItem.status == "active", tag="partner_key")


def load(partner_id: str, key_id: str) -> ListedKey | None:
    item = get_one(PartnerKeyItem, _pk(partner_id), key_id)
    return None if item is None else _listed(item)


def list_keys(partner_id: str) -> list[ListedKey]:
    """The partner's listed keys, newest first: one query."""
    return sorted((_listed(i) for i in PartnerKeyItem.query(_pk(partner_id))), key=lambda k: k.created_at, reverse=True)
