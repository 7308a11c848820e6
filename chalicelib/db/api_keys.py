"""API keys in the table: ``APIKEY#<sha256(pepper : key)>`` (looked up on every call; the key itself is never
stored) and ``KEYID#<key id>`` -> that hash (so an operator can revoke a key by its public id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.db import keys
from chalicelib.db.models import ApiKeyItem, KeyIdItem, PartnerItem
from chalicelib.db.reads import Found, ReadKey, connection, get_many, get_one
from chalicelib.db.tx import Transaction

__all__ = [
    "ApiKey",
    "KeyIndex",
    "add_key",
    "from_found",
    "key_and_partner_active",
    "load",
    "load_index",
    "read_key",
    "revoke",
]


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: str  # partner | operator
    partner_id: str | None
    status: str  # active | revoked


@dataclass(frozen=True)
class KeyIndex:
    key_id: str
    key_hash: str
    partner_id: str | None
    status: str


def read_key(key_hash: str) -> ReadKey:
    return (ApiKeyItem, *keys.api_key(key_hash))


def from_found(found: Found, key_hash: str) -> ApiKey | None:
    item = found.get(keys.api_key(key_hash))
    return None if item is None else ApiKey(item.key_id, item.role, item.partner_id, str(item.status))


def load(key_hash: str) -> ApiKey | None:
    item = get_one(ApiKeyItem, *keys.api_key(key_hash))
    return None if item is None else ApiKey(item.key_id, item.role, item.partner_id, str(item.status))


def load_index(key_id: str) -> KeyIndex | None:
    item = get_one(KeyIdItem, *keys.key_id(key_id))
    return None if item is None else KeyIndex(key_id, item.key_hash, item.partner_id, str(item.status))


def add_key(
    tx: Transaction, key_hash: str, key_id: str, role: str, partner_id: str | None, now_iso: str, *, new_only: bool
) -> None:
    """Store an active key under its hash and its id; ``new_only``: neither may exist yet."""
    api = ApiKeyItem(
        *keys.api_key(key_hash), key_id=key_id, role=role, partner_id=partner_id, status="active", created_at=now_iso
    )
    index = KeyIdItem(
        *keys.key_id(key_id), key_hash=key_hash, partner_id=partner_id, role=role, status="active", created_at=now_iso
    )
    tx.put(api, condition=ApiKeyItem.pk.does_not_exist() if new_only else None)
    tx.put(index, condition=KeyIdItem.pk.does_not_exist() if new_only else None)


def revoke(
    index: KeyIndex, now_iso: str, tx: Transaction | None = None, also: Callable[[Transaction], None] | None = None
) -> None:
    """Revoke the key (both items, in one transaction: ``tx`` if given, with the caller's other writes; ``also``
    adds to it: the audit record)."""
    own = tx is None
    tx = Transaction() if tx is None else tx
    tx.update(
        ApiKeyItem(*keys.api_key(index.key_hash)),
        actions=[ApiKeyItem.status.set("revoked"), ApiKeyItem.revoked_at.set(now_iso)],
        condition=ApiKeyItem.pk.exists(),
    )
    tx.update(KeyIdItem(*keys.key_id(index.key_id)), actions=[KeyIdItem.status.set("revoked")])
    if also is not None:
        also(tx)
    if own:
        tx.commit(connection())


def key_and_partner_active(key_id: str, partner_id: str) -> bool:
    """Whether the key (by id) and its partner both exist and are active, read fresh in one batch."""
    found = get_many([(KeyIdItem, *keys.key_id(key_id)), (PartnerItem, *keys.partner(partner_id))])
    key, partner = found.get(keys.key_id(key_id)), found.get(keys.partner(partner_id))
    return key is not None and key.status == "active" and partner is not None and partner.status == "active"
