"""A partner's API keys as its owner sees them: ``PKEYS#<partner>`` / ``<key id>`` with the key's label, when it was
made and whether it was revoked (the key itself, by its hash, is ``db/api_keys.py``'s). One query lists them. Keys
made before labels existed have no such item: the portal lists the keys made since."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import UnicodeAttribute

from chalicelib.db import keys
from chalicelib.db.models import _Item
from chalicelib.db.reads import get_one
from chalicelib.db.tx import Transaction

__all__ = ["ListedKey", "add", "list_keys", "load", "mark_revoked"]


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


def add(tx: Transaction, partner_id: str, key_id: str, label: str | None, now_iso: str, created_by: str) -> None:
    item = PartnerKeyItem(
        _pk(partner_id), key_id, key_id=key_id, label=label, status="active", created_at=now_iso, created_by=created_by
    )
    tx.put(item, condition=PartnerKeyItem.pk.does_not_exist(), tag="partner_key")


def mark_revoked(tx: Transaction, partner_id: str, key_id: str, now_iso: str) -> None:
    """In the revocation's transaction: the listed key shows as revoked (it must be listed)."""
    item = PartnerKeyItem(_pk(partner_id), key_id)
    actions = [PartnerKeyItem.status.set("revoked"), PartnerKeyItem.revoked_at.set(now_iso)]
    tx.update(item, actions, condition=PartnerKeyItem.pk.exists(), tag="partner_key")


def load(partner_id: str, key_id: str) -> ListedKey | None:
    item = get_one(PartnerKeyItem, _pk(partner_id), key_id)
    return None if item is None else _listed(item)


def list_keys(partner_id: str) -> list[ListedKey]:
    """The partner's listed keys, newest first: one query."""
    return sorted((_listed(i) for i in PartnerKeyItem.query(_pk(partner_id))), key=lambda k: k.created_at, reverse=True)
