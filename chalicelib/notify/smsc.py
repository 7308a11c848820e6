"""SMS through SMSC (smsc.ru), its HTTP API: ``POST <base_url>/sys/send.php``.

Request (form-encoded, UTF-8): ``apikey`` (the LOYALTY_SMS_API_KEY), ``phones`` (E.164 with its ``+``, which turns
off SMSC's number "correction"), ``mes`` (the text), ``fmt=3`` (answer in JSON), ``charset=utf-8``, ``sender`` when
a Sender ID is configured. POST keeps the key and the text out of URLs and access logs.

Answer (HTTP 200 either way): ``{"id": <message id>, "cnt": <SMS parts>}`` or ``{"error": "...", "error_code": N}``
(``"id"`` too for some codes). The codes, and what the caller should do:

    1 parameters wrong            MessageRejected        (our request: a bug or a bad setting)
    2 bad login/password/API key  ProviderAccountError
    3 not enough money            ProviderAccountError
    4 IP blocked for a while      Throttled (60 s)       (too many erroneous requests)
    5 bad date format             MessageRejected
    6 message forbidden           MessageRejected        (by text or by Sender ID)
    7 bad phone number format     InvalidDestination
    8 cannot deliver to the number RecipientUnreachable
    9 duplicate / too frequent    Throttled (60 s)       (same SMS again, or too many identical requests a minute)
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from chalicelib.notify import _http
from chalicelib.notify.port import (
    Delivery,
    InvalidDestination,
    Message,
    MessageRejected,
    NotificationError,
    ProviderAccountError,
    ProviderUnavailable,
    RecipientUnreachable,
    Throttled,
    mask,
    scrub,
)
from chalicelib.notify.settings import SMS_API_KEY, SecretSource, SmsSettings, require

PROVIDER = "smsc"
RETRY_AFTER_BLOCK = 60  # SMSC counts duplicates and errors per minute

_PERMANENT: dict[int, type[NotificationError]] = {
    1: MessageRejected,
    2: ProviderAccountError,
    3: ProviderAccountError,
    5: MessageRejected,
    6: MessageRejected,
    7: InvalidDestination,
    8: RecipientUnreachable,
}
_THROTTLED = {4, 9}


class SmscNotifier:
    def __init__(self, settings: SmsSettings, secrets: SecretSource) -> None:
        self._settings = settings
        self._secrets = secrets

    def send(self, message: Message) -> Delivery:
        if message.channel != "sms":
            raise MessageRejected(f"{PROVIDER} sends sms, not {message.channel}", provider=PROVIDER)
        fields = {
            "apikey": require(self._secrets, SMS_API_KEY, "sms"),
            "phones": message.to,
            "mes": message.text,
            "fmt": "3",
            "charset": "utf-8",
        }
        if self._settings.sender:
            fields["sender"] = self._settings.sender
        answer = _http.post(
            f"{self._settings.base_url}/sys/send.php",
            urlencode(fields).encode("ascii"),
            "application/x-www-form-urlencoded; charset=utf-8",
            self._settings.timeout_seconds,
            PROVIDER,
            "sms",
        )
        if answer.status == 429:
            raise Throttled(
                f"{PROVIDER} http 429", retry_after=answer.retry_after(RETRY_AFTER_BLOCK), provider=PROVIDER
            )
        if answer.status != 200:
            raise ProviderUnavailable(f"{PROVIDER} http {answer.status}", provider=PROVIDER)
        data = _json(answer.body)
        if data is None:
            raise ProviderUnavailable(f"{PROVIDER} answered something that is not JSON", provider=PROVIDER)
        if "error_code" in data or "error" in data:
            raise _error(data, message)
        message_id = data.get("id")
        if message_id is None or isinstance(message_id, bool):
            raise ProviderUnavailable(f"{PROVIDER} answered without a message id", provider=PROVIDER)
        return Delivery("sms", PROVIDER, str(message_id), mask(message.to, "sms"))


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _error(data: dict[str, Any], message: Message) -> NotificationError:
    raw = data.get("error_code")
    code = raw if isinstance(raw, int) and not isinstance(raw, bool) else -1
    reason = f"{PROVIDER} error {code}: {scrub(str(data.get('error', '')), message)}"
    if code in _THROTTLED:
        return Throttled(reason, retry_after=RETRY_AFTER_BLOCK, provider=PROVIDER)
    error_class = _PERMANENT.get(code)
    if error_class is None:  # a code this adapter does not know: let the caller retry a bounded number of times
        return ProviderUnavailable(reason, provider=PROVIDER)
    return error_class(reason, provider=PROVIDER)
