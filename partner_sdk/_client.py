"""The requestor: one place that sends requests, adds idempotency keys and retries safely."""

from __future__ import annotations

import email.utils
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from partner_sdk._version import __version__
from partner_sdk.errors import NOT_RETRIED, APIConnectionError, APITimeoutError, LoyaltyError, from_response

RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


class Requestor:
    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        transport: httpx.BaseTransport | None,
        sleep: Any = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": f"coalition-loyalty-python/{__version__} httpx/{httpx.__version__}",
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        raw: bool = False,
        language: str | None = None,
    ) -> Any:
        """Send, retrying connection errors, timeouts, 429 and 5xx with exponential backoff and full jitter.

        A write gets one Idempotency-Key (yours, or a fresh UUID) that every retry reuses, so a retry after a lost
        response returns the first response instead of doing the work twice."""
        headers = {"Accept-Language": language} if language else {}
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, json=json, params=clean_params, headers=headers)
            except httpx.TimeoutException as exc:
                if attempt >= self.max_retries:
                    raise APITimeoutError(f"No response from the loyalty API within the timeout: {exc}") from exc
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise APIConnectionError(f"Could not reach the loyalty API: {exc}") from exc
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries and not _final(response):
                delay = self._delay(attempt, response.headers.get("Retry-After"))
                if delay is not None:
                    self._sleep(delay)
                    attempt += 1
                    continue
            return self._result(response, raw)

    def _delay(self, attempt: int, retry_after: str | None) -> float | None:
        """How long to wait before the next attempt: ``Retry-After`` when the server sends it, or None (do not
        retry, raise now) when that is longer than ``backoff_max``: waiting less would only be refused again."""
        if retry_after:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return seconds if seconds <= self.backoff_max else None
        return random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))  # noqa: S311

    @staticmethod
    def _result(response: httpx.Response, raw: bool) -> Any:
        request_id = response.headers.get("X-Request-Id")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:500]}
            if not isinstance(body, dict):
                body = {"detail": str(body)}
            raise from_response(response.status_code, body, request_id)
        if raw:
            return response.text
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise LoyaltyError(
                "The loyalty API answered with something that is not JSON.",
                status=response.status_code,
                request_id=request_id,
            ) from exc


def _final(response: httpx.Response) -> bool:
    """A 429 that waiting does not cure (a locked customer code): answer at once."""
    if response.status_code != 429:
        return False
    try:
        return response.json().get("code") in NOT_RETRIED
    except (ValueError, AttributeError):
        return False


def _retry_after_seconds(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
