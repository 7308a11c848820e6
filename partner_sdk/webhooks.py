"""Verifying the webhook deliveries the loyalty network sends you.

::

    from partner_sdk import webhooks
    from partner_sdk.errors import SignatureVerificationError

    try:
        event = webhooks.verify(request.body, request.headers["Loyalty-Signature"], secret)
    except SignatureVerificationError:
        return 400
    if already_handled(event["id"]):  # deliveries are at least once: dedupe by the event id
        return 200

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``; while a secret is being rotated it
carries one ``v1`` per valid secret, and a delivery verifies if any of them matches. Verify the raw bytes as
received, before parsing: re-serialised JSON would not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from partner_sdk.errors import SignatureVerificationError

DEFAULT_TOLERANCE = 300  # seconds either side of your clock
HEADER = "Loyalty-Signature"

__all__ = ["DEFAULT_TOLERANCE", "HEADER", "sign", "verify"]


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The header value a delivery of ``payload`` signed with ``secret`` at ``timestamp`` carries (for your tests)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    payload: bytes | str,
    header: str,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivered event ({id, type, created_at, data}) once its signature is ``secret``'s and its time is within
    ``tolerance`` seconds of ``now`` (default: this machine's clock); else :class:`SignatureVerificationError`."""
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    timestamp, signatures = _parse(header or "")
    if timestamp is None or not signatures:
        raise SignatureVerificationError("The Loyalty-Signature header is missing its t= or v1= part.")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureVerificationError(
            "The delivery's timestamp is outside the tolerance (a replay, or a clock off)."
        )
    expected = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256).hexdigest()
    matched = False
    for candidate in signatures:  # every one compared in constant time, none short-circuits the loop
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureVerificationError("No signature in the header matches this payload and secret.")
    try:
        event: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise SignatureVerificationError("The signed payload is not JSON.") from exc
    return event


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    return timestamp, signatures
