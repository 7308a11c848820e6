"""POSTing a webhook delivery to a partner's endpoint.

Where such a URL may point is ``chalicelib/outbound.py``'s guard (:func:`refusal`, here for the callers that
register an endpoint): public https in production, checked when the endpoint is registered and again before every
send, and the send connects to the very address that check vetted (DNS rebinding). No redirect is followed, the
timeout is bounded, and of the answer only a short excerpt is kept."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib import outbound
from chalicelib.outbound import refusal

__all__ = ["EXCERPT_CHARS", "TIMEOUT_SECONDS", "Sent", "post", "refusal"]

TIMEOUT_SECONDS = 5.0
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Sent:
    status: int | None  # None: no answer (refused, timed out, guard)
    latency_ms: int
    excerpt: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: dict[str, str], production: bool) -> Sent:
    """One attempt: the status and an excerpt of the answer, or why there was none. Never raises for the network."""
    started = time.monotonic()
    try:
        connection = outbound.connection(url, production, TIMEOUT_SECONDS)
    except outbound.Refused as exc:
        return Sent(None, 0, error=str(exc))
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={**headers, "User-Agent": "coalition-loyalty-webhooks"})
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
        return Sent(response.status, _ms(started), excerpt=excerpt)
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, DNS, TLS, timeout, garbled answer
        return Sent(None, _ms(started), error=type(exc).__name__)
    finally:
        connection.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
