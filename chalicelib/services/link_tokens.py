"""Links to the customer's page (``v2`` tokens): ``v2.<base64url(customer:issued:expires)>.<base64url(MAC)>``, the
MAC keyed from the portal secret, which the table never holds. Made again from the same instants, a link is the
same link: the outbox keeps the instants of a link waiting to be sent, never the link
(chalicelib/services/message_outbox.py). Verified in ``customer_auth``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from chalicelib import runtime
from chalicelib.ids import b64url

__all__ = ["LINK_VERSION", "mac", "sign_link"]

LINK_VERSION = "v2"


def mac(payload: bytes) -> bytes:
    key = hmac.new(runtime.get().settings.portal_secret.encode(), b"customer-link-v2", hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign_link(customer_id: str, issued_at: datetime, expires_at: datetime) -> str:
    payload = f"{customer_id}:{int(issued_at.timestamp())}:{int(expires_at.timestamp())}".encode()
    return f"{LINK_VERSION}.{b64url(payload)}.{b64url(mac(payload))}"
