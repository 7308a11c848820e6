"""Notices to a partner's owners (not to its customers): something the partner set up stopped working and needs
them (a webhook endpoint switched off, a CRM connection whose authorisation the CRM refused). Each owner is told at
their sign-in contact through the notifications port; what the notice says is also shown where the partner sees the
thing itself, so a notice that fails to go out is logged by the port and otherwise ignored."""

from __future__ import annotations

from chalicelib.db import staff as staff_db
from chalicelib.notify.port import Channel
from chalicelib.services import customer_messages

__all__ = ["tell_owners"]


def tell_owners(partner_id: str, name: str, lang: str = "ru", **values: str) -> int:
    """Text ``name`` of the catalogue (services/message_texts.py) to each owner; returns how many were told."""
    told = 0
    for member in staff_db.list_members(partner_id):
        if member.role == "owner" and member.contact_kind in ("phone", "email"):
            channel: Channel = "sms" if member.contact_kind == "phone" else "email"
            told += customer_messages.tell(channel, member.contact, name, lang, name, **values)
    return told
