"""POSTing a webhook delivery to a partner's endpoint, and the guard on where such a URL may point.

In production an endpoint is ``https`` on a public address: no loopback, private, link-local (the cloud's metadata
service), multicast or reserved address, checked when it is registered and again before every send (a name may
resolve elsewhere later). ``make run`` and tests also allow ``http`` to localhost. No redirect is followed, the
timeout is bounded, and of the answer only a short excerpt is kept."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 5.0
EXCERPT_CHARS = 200
MAX_URL = 2048
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Sent:
    status: int | None  # None: no answer (refused, timed out, guard)
    latency_ms: int
    excerpt: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def refusal(url: str, production: bool) -> str | None:
    """Why ``url`` may not receive deliveries, or None when it may."""
    if len(url) > MAX_URL:
        return "the URL is too long"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.fragment:
        return "the URL needs a host, and no user, password or fragment"
    if parts.scheme == "http" and not production and host in _LOCAL_HOSTS:
        return None
    if parts.scheme != "https":
        return "the URL must use https"
    if not production:
        return None
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return "the host does not resolve"
    for text in addresses:
        if not _public(text):
            return "the host resolves to a private, loopback or link-local address"
    return None


def _public(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    return address.is_global and not address.is_multicast


def post(url: str, body: bytes, headers: dict[str, str], production: bool) -> Sent:
    """One attempt: the status and an excerpt of the answer, or why there was none. Never raises for the network."""
    started = time.monotonic()
    reason = refusal(url, production)
    if reason is not None:
        return Sent(None, 0, error=f"refused: {reason}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS)
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
