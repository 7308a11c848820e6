"""A partner's amoCRM connection: the OAuth 2 client, its tokens and the secret of its webhook URL.

- ``CRM#amocrm`` / ``<partner id>``: one per partner, in one partition so a dispatcher pass reads them all with one
  Query. ``client_secret``, ``access_token``, ``refresh_token`` and ``webhook_secret`` are secrets: stored because
  every call needs them, never returned by any route. amoCRM rotates the refresh token on every refresh (the old one
  stops working), so the new pair is written only if ``version`` is still the one read: of two instances refreshing
  at once, one wins and the other reads the winner's tokens instead of overwriting them with a pair already dead.
- The queue of changes, sent marks and contacts are Bitrix24's (chalicelib/db/crm.py) under the CRM name ``amocrm``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.models import _Item
from chalicelib.db.reads import connection, get_one
from chalicelib.db.tx import Transaction, TxCancelled

__all__ = [
    "AMOCRM",
    "AmoConnection",
    "break_off",
    "connect",
    "connections",
    "disconnect",
    "get",
    "stage_connect",
    "store_tokens",
]

AMOCRM = "amocrm"


class AmoConnectionItem(_Item):
    partner_id = UnicodeAttribute()
    subdomain = UnicodeAttribute()
    client_id = UnicodeAttribute()
    client_secret = UnicodeAttribute()  # secret
    redirect_uri = UnicodeAttribute()
    access_token = UnicodeAttribute()  # secret
    refresh_token = UnicodeAttribute()  # secret, rotated by amoCRM on each refresh
    expires_at = NumberAttribute()  # epoch seconds
    version = NumberAttribute(default=0)  # bumped by each token write: the condition of the next
    webhook_secret = UnicodeAttribute()  # secret: the last segment of the webhook URL
    fields = UnicodeAttribute(default="{}")  # JSON: {"balance": <field id>, ...}; absent ones go by field_code
    created_at = UnicodeAttribute()
    language = UnicodeAttribute(default="ru")  # of the notes on the contacts: the partner's, chosen when connecting
    # Set when amoCRM refused the refresh token (revoked, or the integration deleted): nothing is called until the
    # partner connects again, which writes the item whole (without these).
    broken_reason = UnicodeAttribute(null=True)
    broken_at = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class AmoConnection:
    partner_id: str
    subdomain: str
    client_id: str
    client_secret: str
    redirect_uri: str
    access_token: str
    refresh_token: str
    expires_at: int
    version: int
    webhook_secret: str
    fields: dict[str, int]
    created_at: str
    language: str = "ru"
    broken_reason: str | None = None
    broken_at: str | None = None


def _key(partner_id: str) -> tuple[str, str]:
    return f"CRM#{AMOCRM}", partner_id


def _conn(item: AmoConnectionItem) -> AmoConnection:
    return AmoConnection(
        item.partner_id,
        item.subdomain,
        item.client_id,
        item.client_secret,
        item.redirect_uri,
        item.access_token,
        item.refresh_token,
        int(item.expires_at),
        int(item.version),
        item.webhook_secret,
        {str(k): int(v) for k, v in json.loads(item.fields).items()},
        item.created_at,
        item.language,
        item.broken_reason,
        item.broken_at,
    )


def _item(conn: AmoConnection) -> AmoConnectionItem:
    return AmoConnectionItem(
        *_key(conn.partner_id),
        partner_id=conn.partner_id,
        subdomain=conn.subdomain,
        client_id=conn.client_id,
        client_secret=conn.client_secret,
        redirect_uri=conn.redirect_uri,
        access_token=conn.access_token,
        refresh_token=conn.refresh_token,
        expires_at=conn.expires_at,
        version=conn.version,
        webhook_secret=conn.webhook_secret,
        fields=json.dumps(conn.fields, sort_keys=True),
        created_at=conn.created_at,
        language=conn.language,
        broken_reason=conn.broken_reason,
        broken_at=conn.broken_at,
    )


def connect(conn: AmoConnection) -> None:
    """Connect (or connect again, replacing every secret): the partner's own item only."""
    _item(conn).save()


def stage_connect(tx: Transaction, conn: AmoConnection) -> None:
    """:func:`connect` inside a write's own transaction (with its replay record)."""
    tx.put(_item(conn), tag="amocrm")


def get(partner_id: str) -> AmoConnection | None:
    item = get_one(AmoConnectionItem, *_key(partner_id))
    return _conn(item) if item is not None else None


def disconnect(partner_id: str) -> None:
    AmoConnectionItem(*_key(partner_id)).delete()


def connections() -> list[AmoConnection]:
    pk, _ = _key("")
    return [_conn(i) for i in AmoConnectionItem.query(pk, consistent_read=True)]


def store_tokens(conn: AmoConnection, access_token: str, refresh_token: str, expires_at: int) -> AmoConnection | None:
    """The refreshed pair, written only over the version ``conn`` was read at; None when another instance rotated
    (or the partner reconnected) first."""
    new = replace(
        conn, access_token=access_token, refresh_token=refresh_token, expires_at=expires_at, version=conn.version + 1
    )
    tx = Transaction()
    tx.put(_item(new), condition=AmoConnectionItem.version == conn.version, tag="tokens")
    try:
        tx.commit(connection())
    except TxCancelled as cancelled:
        if "tokens" in cancelled.failed:
            return None
        raise
    return new


def break_off(conn: AmoConnection, reason: str, now_iso: str) -> bool:
    """Mark the connection broken, over the version ``conn`` was read at (a partner who reconnected meanwhile keeps
    the new connection); True if this call marked it (the owners are told once)."""
    tx = Transaction()
    broken = replace(conn, broken_reason=reason, broken_at=now_iso)
    condition = (AmoConnectionItem.version == conn.version) & (AmoConnectionItem.created_at == conn.created_at)
    condition &= AmoConnectionItem.broken_reason.does_not_exist()
    tx.put(_item(broken), condition=condition, tag="broken")
    try:
        tx.commit(connection())
    except TxCancelled as cancelled:
        if "broken" in cancelled.failed:
            return False
        raise
    return True
