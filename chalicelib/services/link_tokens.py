"""Links to the customer's page (``v2`` tokens): ``v2.<signed token of customer:issued:expires>``, keyed from the
portal secret, which the table never holds (``domain/signing``). Made again from the same instants, a link is the
same link: the outbox keeps the instants of a link waiting to be sent, never the link
(chalicelib/services/message_outbox.py). Verified in ``customer_auth``."""

from __future__ import annotations

from datetime import datetime

from chalicelib import runtime
from chalicelib.domain import signing

__all__ = ["LINK_VERSION", "key", "sign_link"]

LINK_VERSION = "v2"


def key() -> bytes:
    return signing.derive_key(runtime.get().settings.portal_secret, "customer-link-v2")


def sign_link(customer_id: str, issued_at: datetime, expires_at: datetime) -> str:
    payload = f"{customer_id}:{int(issued_at.timestamp())}:{int(expires_at.timestamp())}".encode()
    return f"{LINK_VERSION}.{signing.token(key(), payload)}"
