"""Calls the coalition makes to addresses a partner gave (webhook endpoints, a Bitrix24 portal, an amoCRM account):
where such a URL may point, and a connection that goes exactly where the check said.

In production (AWS) a URL is ``https`` on a public address: no loopback, private, link-local (the cloud's metadata
service), multicast or reserved address, checked when the partner gives it and again before every call (a name may
resolve elsewhere later). The call connects to the very address that check vetted, never resolving the name a
second time: a name that answered a public address to the check could answer a private one to the connection (DNS
rebinding). The request still names the host (``Host``) and TLS checks the certificate against the host's name (SNI
too), not the address. ``make run`` and tests also allow ``http`` to localhost, and connect by name.

I/O below the layers that call out (``notify``, ``integrations``), which are independent siblings: both use this one
guard, no twins."""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
from urllib.parse import urlsplit

__all__ = ["MAX_URL", "Refused", "connection", "production", "refusal", "vetted"]

MAX_URL = 2048
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Refused(OSError):
    """The URL may not be called (its host resolves to a private address now, or it is not https): an
    ``OSError``, so a caller's "the network failed" handling covers it; its text names no secret of the URL."""


def production() -> bool:
    """Whether this runs in AWS: only public https then (``make run`` and tests speak to local stand-ins)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def refusal(url: str, production: bool) -> str | None:
    """Why ``url`` may not be called, or None when it may."""
    return vetted(url, production)[0]


def vetted(url: str, production: bool) -> tuple[str | None, str | None]:
    """Why ``url`` may not be called (or None), and in production the address its host resolved to: the one a call
    connects to."""
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

    def __init__(self, host: str, port: int | None, address: str | None, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def _socket(self) -> socket.socket:
        return socket.create_connection((self.address or self.host, self.port), self.timeout)

    def connect(self) -> None:
        self.sock = self._socket()


class _PinnedHTTPS(_PinnedHTTP):
    """The same over TLS: the certificate is checked against the host's name (SNI too), not the address."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int | None, address: str | None, timeout: float) -> None:
        super().__init__(host, port, address, timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._socket(), server_hostname=self.host)


def connection(url: str, production: bool, timeout: float) -> http.client.HTTPConnection:
    """A connection (not yet open) for ``url``, after the check: in production to the address the check vetted.
    Raises :class:`Refused` when the URL may not be called (checked here, again, right before the call)."""
    reason, address = vetted(url, production)
    if reason is not None:
        raise Refused(f"refused: {reason}")
    parts = urlsplit(url)
    pinned = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    return pinned(parts.hostname or "", parts.port, address, timeout)
