"""One HTTP POST with the standard library, for the SMS gateway and Telegram adapters.

http.client rather than urllib.request: no redirects (a key or token in the URL must not follow one to another
host), no proxy variables, and every status comes back as data. Connection errors and timeouts become
``ProviderUnavailable``; the URL (which may carry a bot token) appears in no error.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.notify.port import Channel, ProviderUnavailable

MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    retry_after_header: str | None

    def retry_after(self, default: int) -> int:
        value = (self.retry_after_header or "").strip()
        return int(value) if value.isdigit() else default


def post(url: str, body: bytes, content_type: str, timeout: float, provider: str, channel: Channel) -> Answer:
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": content_type, "Accept": "application/json", "User-Agent": "coalition-loyalty"},
        )
        response = connection.getresponse()
        return Answer(response.status, response.read(MAX_ANSWER), response.getheader("Retry-After"))
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, DNS, TLS, timeout, garbled answer
        raise ProviderUnavailable(
            f"{provider} unreachable ({type(exc).__name__})", provider=provider, channel=channel
        ) from None
    finally:
        connection.close()
