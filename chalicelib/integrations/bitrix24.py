"""Bitrix24's REST API through a portal's inbound webhook (``https://<portal>.bitrix24.ru/rest/<user>/<token>/``).

Parameters go as PHP-style form fields (``filter[PHONE]=...``, ``fields[UF_CRM_X]=...``), answers come as JSON
``{"result": ...}`` or ``{"error": ..., "error_description": ...}``. ``batch`` runs up to 50 commands in one request
(one request of the portal's leaky bucket of 2 a second); ``QUERY_LIMIT_EXCEEDED`` (HTTP 503) and a portal that does
not answer are :class:`Retryable`: the caller tries again on a later pass. The webhook URL carries the portal's token,
so it appears in no error and no log line.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from chalicelib import outbound

__all__ = ["MAX_BATCH", "Bitrix24", "Bitrix24Error", "Retryable", "encode", "valid_webhook_url"]

MAX_BATCH = 50  # Bitrix24's limit of commands in one batch
TIMEOUT_SECONDS = 10.0
MAX_ANSWER = 1024 * 1024
THROTTLED = "QUERY_LIMIT_EXCEEDED"

Params = Mapping[str, Any]
Transport = Callable[[str, bytes], tuple[int, bytes]]


class Bitrix24Error(Exception):
    """The portal refused a call (a wrong field, a method the webhook may not use): trying again will not help."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"Bitrix24 {code}: {description}"[:300])
        self.code = code


class Retryable(Bitrix24Error):
    """Throttled (``QUERY_LIMIT_EXCEEDED``), unreachable or timed out: try again later."""


def valid_webhook_url(url: str, allow_http: bool) -> bool:
    """``https://<host>/rest/<user id>/<token>/``: the shape Bitrix24 gives an inbound webhook."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        return False
    segments = [s for s in parts.path.split("/") if s]
    return (
        bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and len(segments) == 3
        and segments[0] == "rest"
        and segments[1].isdigit()
        and bool(segments[2])
    )


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), inner, out)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}[{index}]", inner, out)
    else:
        out.append((prefix, "" if value is None else str(value)))


def encode(params: Params) -> str:
    """PHP-style form fields, as Bitrix24 reads them."""
    pairs: list[tuple[str, str]] = []
    _flatten("", params, pairs)
    return urlencode(pairs, quote_via=quote)


def http_transport(url: str, body: bytes) -> tuple[int, bytes]:
    """One POST with the standard library: no redirects, no proxies, a timeout; failures are :class:`Retryable`.
    In production it connects to the address the guard vetted just now (``chalicelib/outbound.py``: a portal's name
    that turned private, or answers a private address to a second lookup, is never called)."""
    parts = urlsplit(url)
    try:
        conn = outbound.connection(url, outbound.production(), TIMEOUT_SECONDS)
    except outbound.Refused:  # the services check first (crm_sync): only a name that changed since lands here
        raise Retryable("UNREACHABLE", "Refused") from None
    try:
        conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        return response.status, response.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, DNS, TLS, timeout: the URL stays out
        raise Retryable("UNREACHABLE", type(exc).__name__) from None
    finally:
        conn.close()


@dataclass(frozen=True)
class BatchResult:
    results: dict[str, Any]
    errors: dict[str, Any]


class Bitrix24:
    def __init__(self, webhook_url: str, transport: Transport = http_transport) -> None:
        self._base = webhook_url.rstrip("/") + "/"
        self._transport = transport

    def call(self, method: str, params: Params) -> Any:
        status, raw = self._transport(f"{self._base}{method}.json", encode(params).encode())
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise Retryable("BAD_ANSWER", f"HTTP {status}") from None
        if not isinstance(answer, dict):
            raise Retryable("BAD_ANSWER", f"HTTP {status}")
        if "error" in answer:
            error = str(answer.get("error"))
            description = str(answer.get("error_description", ""))
            if error == THROTTLED or status >= 500:
                raise Retryable(error, description)
            raise Bitrix24Error(error, description)
        if status >= 400:
            raise (Retryable if status >= 500 or status == 429 else Bitrix24Error)("HTTP", str(status))
        return answer.get("result")

    def batch(self, commands: Mapping[str, tuple[str, Params]]) -> BatchResult:
        """Up to :data:`MAX_BATCH` commands in one request (``halt=0``: one failing command stops no other)."""
        if len(commands) > MAX_BATCH:
            raise ValueError(f"{len(commands)} commands in one batch; Bitrix24 takes {MAX_BATCH}")
        cmd = {name: f"{method}?{encode(params)}" for name, (method, params) in commands.items()}
        result = self.call("batch", {"halt": 0, "cmd": cmd}) or {}
        if not isinstance(result, dict):  # the portal's address is the partner's: any JSON may come back
            raise Retryable("BAD_ANSWER", "batch result is not an object")
        results = result.get("result") or {}
        errors = result.get("result_error") or {}
        for error in errors.values() if isinstance(errors, dict) else []:
            if isinstance(error, dict) and error.get("error") == THROTTLED:
                raise Retryable(THROTTLED, "inside a batch")
        return BatchResult(results if isinstance(results, dict) else {}, errors if isinstance(errors, dict) else {})
