"""One way to sign a message with a shared secret: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

Webhook deliveries carry it in ``Loyalty-Signature`` (one ``v1`` per secret valid at the time: during a rotation the
old and the new). The partner SDK verifies the same way (partner_sdk/webhooks.py)."""

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


def parse(value: str) -> tuple[int | None, list[str]]:
    """The timestamp and the ``v1`` signatures of a header; (None, []) parts for what is missing or malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        name, _, text = part.strip().partition("=")
        if name == "t" and text.isdigit():
            timestamp = int(text)
        elif name == SCHEME and text:
            signatures.append(text)
    return timestamp, signatures


def matches(secret: str, value: str, body: bytes, now: int, tolerance: int) -> bool:
    """True when one of the header's signatures is ``secret``'s over ``body`` and its time is within ``tolerance``
    seconds of ``now`` (either side: a replayed old delivery is refused). Compared in constant time."""
    timestamp, signatures = parse(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)


def derive(key: str, purpose: str, text: str) -> str:
    """A value derived from ``key`` for one purpose (a webhook's secret from its salt): the hex HMAC-SHA256 of
    ``"<purpose>\\n<text>"``, so values for different purposes never coincide."""
    return hmac.new(key.encode(), f"{purpose}\n{text}".encode(), hashlib.sha256).hexdigest()
