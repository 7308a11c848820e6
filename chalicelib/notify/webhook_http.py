"""POSTing a webhook delivery to a partner's endpoint, and the guard on where such a URL may point.

In production an endpoint is ``https`` on a public address: no loopback, private, link-local (the cloud's metadata
service), multicast or reserved address, checked when it is registered and again before every send (a name may
resolve elsewhere later), and the send connects to the very address that check vetted (never resolving the name a
second time: DNS rebinding). ``make run`` and tests also allow ``http`` to localhost. No redirect is followed, the
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
    return _vetted(url, production)[0]


def _vetted(url: str, production: bool) -> tuple[str | None, str | None]:
    """Why ``url`` may not receive deliveries (or None), and in production the address its host resolved to: the
    one a delivery connects to. Connecting by name would resolve it again, and a name that answered a public
    address to this check could answer a private one to the connection (DNS rebinding)."""
    if len(url) > MAX_URL:
        return "the URL is too long", None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.fragment:
        return "the URL needs a host, and no user, password or fragment", None
    if parts.scheme == "http" and not production and host in _LOCAL_HOSTS:
        return None, None
    if parts.scheme != "https":
        return "the URL must use https", None
    if not production:
        return None, None
    try:
        found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        addresses = [str(info[4][0]) for info in found]
    except (OSError, UnicodeError):
        return "the host does not resolve", None
    if not addresses or not all(_public(text) for text in addresses):
        return "the host resolves to a private, loopback or link-local address", None
    return None, addresses[0]


def _public(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    return address.is_global and not address.is_multicast


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to ``address`` (vetted), while the request still names the host (``Host``)."""

    def __init__(self, host: str, port: int | None, address: str | None) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)
        self.address = address

    def _socket(self) -> socket.socket:
        return socket.create_connection((self.address or self.host, self.port), self.timeout)

    def connect(self) -> None:
        self.sock = self._socket()


class _PinnedHTTPS(_PinnedHTTP):
    """The same over TLS: the certificate is checked against the host's name (SNI too), not the address."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int | None, address: str | None) -> None:
        super().__init__(host, port, address)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._socket(), server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], production: bool) -> Sent:
    """One attempt: the status and an excerpt of the answer, or why there was none. Never raises for the network."""
    started = time.monotonic()
    reason, address = _vetted(url, production)
    if reason is not None:
        return Sent(None, 0, error=f"refused: {reason}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pinned = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = pinned(parts.hostname or "", parts.port, address)
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
