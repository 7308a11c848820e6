"""amoCRM's REST API v4 and its OAuth 2 (``https://<subdomain>.amocrm.ru``).

JSON in and out, ``Authorization: Bearer <access token>``. An expired or revoked access token answers 401
(:class:`Expired`: the caller refreshes once and tries again once); 429 (more than 7 requests a second), 5xx and a
silent account are :class:`Retryable` (the caller tries again on a later pass); anything else is :class:`AmoError`.
Tokens appear in no error and no log line.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib import outbound
from chalicelib.integrations.bitrix24 import MAX_ANSWER, TIMEOUT_SECONDS

__all__ = ["MAX_BATCH", "Amo", "AmoError", "Expired", "Retryable", "Revoked", "Tokens", "exchange", "http_transport"]

MAX_BATCH = 50  # amoCRM takes up to 50 entities in one add or update
# (method, url, headers, body) -> (status, body)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


class AmoError(Exception):
    """amoCRM refused the call: trying again will not help."""


class Retryable(AmoError):
    """Throttled (429), failing (5xx) or silent: try again later."""


class Expired(AmoError):
    """401: the access token expired or was revoked."""


class Revoked(AmoError):
    """OAuth 400/401 (``invalid_grant``, ``invalid_client``): the code or refresh token is dead, or the integration
    deleted; only the partner connecting again helps."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


def http_transport(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
    """One request with the standard library: no redirects, no proxies, a timeout; failures are :class:`Retryable`.
    In production it connects to the address the guard vetted just now (``chalicelib/outbound.py``: an account's
    name that answers a private address to a second lookup is never called)."""
    parts = urlsplit(url)
    try:
        conn = outbound.connection(url, outbound.production(), TIMEOUT_SECONDS)
    except outbound.Refused:  # the services check first (amo_sync): only a name that changed since lands here
        raise Retryable("amoCRM unreachable: Refused") from None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:
        raise Retryable(f"amoCRM unreachable: {type(exc).__name__}") from None
    finally:
        conn.close()


def _answer(status: int, raw: bytes) -> Any:
    if status == 401:
        raise Expired("HTTP 401")
    if status == 429 or status >= 500:
        raise Retryable(f"HTTP {status}")
    if status == 204:
        return None
    if status >= 400:
        raise AmoError(f"HTTP {status}")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise Retryable(f"HTTP {status}: not JSON") from None


def exchange(
    base_url: str, client_id: str, client_secret: str, redirect_uri: str, grant: str, value: str, transport: Transport
) -> Tokens:
    """``grant`` is ``authorization_code`` (``value`` the code, usable once) or ``refresh_token`` (amoCRM answers
    with a new refresh token and the old one stops working)."""
    body: dict[str, str] = {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": grant,
        "redirect_uri": redirect_uri,
        "code" if grant == "authorization_code" else "refresh_token": value,
    }
    status, raw = transport(
        "POST", f"{base_url}/oauth2/access_token", {"Content-Type": "application/json"}, json.dumps(body).encode()
    )
    if status in (400, 401):  # a wrong, used or revoked code / refresh token: the partner must connect again
        raise Revoked(f"OAuth HTTP {status}")
    answer = _answer(status, raw)
    if not isinstance(answer, dict) or not answer.get("access_token") or not answer.get("refresh_token"):
        raise Retryable("OAuth answer without tokens")
    return Tokens(str(answer["access_token"]), str(answer["refresh_token"]), int(answer.get("expires_in") or 0))


class Amo:
    def __init__(self, base_url: str, access_token: str, transport: Transport = http_transport) -> None:
        self._base = base_url.rstrip("/")
        self._token = access_token
        self._transport = transport

    def call(self, method: str, path: str, body: object = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        raw = None if body is None else json.dumps(body).encode()
        return _answer(*self._transport(method, f"{self._base}{path}", headers, raw))
