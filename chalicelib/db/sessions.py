"""Partner portal sessions: one item each, deleted on sign-out; the key's and partner's state read with it. The
program-wide cutoff of older customer links. (The customer's sessions: ``chalicelib/db/codes.py``.)"""

from __future__ import annotations

from chalicelib.db import keys
from chalicelib.db.models import KeyIdItem, LinkCutoffItem, PartnerItem, PortalSessionItem
from chalicelib.db.reads import connection, get_many, get_one
from chalicelib.db.tx import Transaction, TxCancelled

SESSION_TTL_MARGIN_S = 3600  # DynamoDB deletes an expired session item some time after; reads check expiry anyway


def put_portal_session(digest: str, key_id: str, partner_id: str, created_at: str, expires_at: int) -> None:
    PortalSessionItem(
        *keys.portal_session(digest),
        key_id=key_id,
        partner_id=partner_id,
        created_at=created_at,
        expires_at=expires_at,
        ttl=expires_at + SESSION_TTL_MARGIN_S,
    ).save(condition=PortalSessionItem.pk.does_not_exist())


def portal_session_active(digest: str, key_id: str, partner_id: str) -> bool:
    """The session exists for this key, and the key and its partner are active: one batch read, never cached."""
    record_key = keys.portal_session(digest)
    found = get_many(
        [(KeyIdItem, *keys.key_id(key_id)), (PartnerItem, *keys.partner(partner_id)), (PortalSessionItem, *record_key)]
    )
    key, partner, record = found.get(keys.key_id(key_id)), found.get(keys.partner(partner_id)), found.get(record_key)
    return (
        key is not None
        and key.status == "active"
        and partner is not None
        and partner.status == "active"
        and record is not None
        and record.key_id == key_id
    )


def delete_portal_session(digest: str) -> None:
    PortalSessionItem(*keys.portal_session(digest)).delete()


# --- the program-wide end of older customer links ------------------------------------------------------------------


def link_cutoff() -> int | None:
    """Links issued before this instant (epoch seconds) are dead; None: no cutoff was ever set. Read fresh (never
    cached): ending links is a security measure and takes effect on every instance at once."""
    item = get_one(LinkCutoffItem, *keys.link_cutoff())
    return None if item is None else int(item.issued_before)


def move_link_cutoff(issued_before: int, now_iso: str) -> int:
    """Set the cutoff to ``issued_before`` unless it is already as late or later (it never moves back: that would
    bring ended links back to life). Returns the cutoff in force afterwards."""
    tx = Transaction()
    tx.put(
        LinkCutoffItem(*keys.link_cutoff(), issued_before=issued_before, set_at=now_iso),
        condition=LinkCutoffItem.pk.does_not_exist() | (LinkCutoffItem.issued_before < issued_before),
        tag="link_cutoff",
    )
    try:
        tx.commit(connection())
    except TxCancelled:
        current = link_cutoff()
        return issued_before if current is None else max(current, issued_before)
    return issued_before
