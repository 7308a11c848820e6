"""One way to sign a message with a shared secret: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

Webhook deliveries carry it in ``Loyalty-Signature`` (one ``v1`` per secret valid at the time: during a rotation the
old and the new). The partner SDK verifies it (partner_sdk/webhooks.py: the SDK ships alone, so it has its own copy
of these few lines, checked against this one by tests/test_webhooks.py)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SCHEME = "v1"


def mac(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The signature header: the timestamp, then one ``v1`` per secret."""
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={mac(s, timestamp, body)}" for s in secrets)])


def derive(key: str, purpose: str, text: str) -> str:
    """A value derived from ``key`` for one purpose (a webhook's secret from its salt): the hex HMAC-SHA256 of
    ``"<purpose>\\n<text>"``, so values for different purposes never coincide."""
    return hmac.new(key.encode(), f"{purpose}\n{text}".encode(), hashlib.sha256).hexdigest()
