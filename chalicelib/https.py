"""Whether a request came over HTTPS, and what every HTTPS answer carries because of it.

One test for both HTML UIs' ``Secure`` cookies (``web/render.py``) and for ``Strict-Transport-Security`` on every
answer, pages and API alike (``chalicelib/http.py``): a browser that saw the header once over HTTPS never tries plain
http on this host for a year, so a network that strips TLS cannot downgrade it. Plain http on this machine
(``make run`` on 127.0.0.1) gets neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HSTS = "max-age=31536000; includeSubDomains"


_LOOPBACK = ("127.0.0.1", "localhost")


def _https(host: str | None, proto: str | None) -> bool:
    """API Gateway always (it says so in ``X-Forwarded-Proto``), and any host but loopback is taken to be."""
    return proto == "https" or (host or "").partition(":")[0] not in _LOOPBACK


def is_https(header: Callable[[str], str | None]) -> bool:
    """:func:`_https` of a request read through ``header``."""
    return _https(header("host"), header("x-forwarded-proto"))


def with_hsts(response: Any, header: Callable[[str], str | None]) -> Any:
    """The answer, with ``Strict-Transport-Security`` if the request came over HTTPS."""
    if is_https(header):
        response.headers = {**(response.headers or {}), "Strict-Transport-Security": HSTS}
    return response


def over_https(headers: dict[str, Any]) -> bool:
    """:func:`is_https` of a request's headers by lower-case name (``chalicelib/http.py``'s copy of them), a value
    that is not text read as its ``str`` (as ``http._header`` reads it), without a reader made per request."""
    host, proto = headers.get("host"), headers.get("x-forwarded-proto")
    return _https(
        host if host is None or type(host) is str else str(host),
        proto if proto is None or type(proto) is str else str(proto),
    )
