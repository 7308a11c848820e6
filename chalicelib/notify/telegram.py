"""Telegram through the Bot API's ``sendMessage``, and the two pure helpers of the bot linking flow.

``POST <base_url>/bot<token>/sendMessage`` with JSON ``{"chat_id", "text", "link_preview_options":
{"is_disabled": true}}`` (no preview: Telegram's servers must not open a portal link before the customer does) and
``"protect_content": true`` when the message carries a code (no forwarding or saving). The answer is always
``{"ok": true, "result": {"message_id": N, ...}}`` or ``{"ok": false, "error_code": N, "description": "...",
"parameters": {"retry_after": S, "migrate_to_chat_id": ID}}``; the HTTP status mirrors ``error_code``:

    400 chat not found / group migrated  InvalidDestination
    400 anything else                    MessageRejected
    401, 404 (bad token)                 ProviderAccountError
    403 blocked / deactivated / kicked   RecipientUnreachable
    429                                  Throttled (parameters.retry_after)
    5xx, not JSON                        ProviderUnavailable

The token lives in the URL path, so it never appears in an error or a log line.

Linking (later work builds the flow): the customer's page links ``https://t.me/<bot>?start=<token>``; Telegram opens
the bot and, when the customer presses Start, the bot receives ``/start <token>`` in a private chat.
:func:`deep_link` builds the link, :func:`parse_start` reads that update into (chat id, token).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

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
from chalicelib.notify.settings import TELEGRAM_BOT_TOKEN, SecretSource, TelegramSettings, require

PROVIDER = "telegram"
CHAT_ID_LIMIT = 2**52  # "at most 52 significant bits" (Bot API, Chat.id)
START_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Telegram carries in ?start=
BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_BOT_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,}")
_START = re.compile(r"/start(?:@(?P<bot>[A-Za-z0-9_]{1,32}))?(?:[ \t]+(?P<token>\S+))?[ \t]*")


class TelegramNotifier:
    def __init__(self, settings: TelegramSettings, secrets: SecretSource) -> None:
        self._settings = settings
        self._secrets = secrets

    def send(self, message: Message) -> Delivery:
        if message.channel != "telegram":
            raise MessageRejected(f"{PROVIDER} sends telegram, not {message.channel}", provider=PROVIDER)
        token = require(self._secrets, TELEGRAM_BOT_TOKEN, "telegram")
        if not _BOT_TOKEN.fullmatch(token):  # also keeps a stray "/" or "?" from reshaping the URL
            raise ProviderAccountError(f"{TELEGRAM_BOT_TOKEN} is not a bot token", provider=PROVIDER)
        payload: dict[str, Any] = {
            "chat_id": int(message.to),
            "text": message.text,
            "link_preview_options": {"is_disabled": True},
        }
        if message.code is not None:
            payload["protect_content"] = True
        answer = _http.post(
            f"{self._settings.base_url}/bot{token}/sendMessage",
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            "application/json; charset=utf-8",
            self._settings.timeout_seconds,
            PROVIDER,
            "telegram",
        )
        data = _json(answer.body)
        if data is None:
            if answer.status == 429:
                raise Throttled(f"{PROVIDER} http 429", retry_after=answer.retry_after(1), provider=PROVIDER)
            raise ProviderUnavailable(f"{PROVIDER} http {answer.status}, not JSON", provider=PROVIDER)
        if data.get("ok") is True and answer.status == 200:
            result = data.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if not isinstance(message_id, int) or isinstance(message_id, bool):
                raise ProviderUnavailable(f"{PROVIDER} answered ok without a message_id", provider=PROVIDER)
            return Delivery("telegram", PROVIDER, str(message_id), mask(message.to, "telegram"))
        raise _error(answer, data, message)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _error(answer: _http.Answer, data: dict[str, Any], message: Message) -> NotificationError:
    raw = data.get("error_code")
    code = raw if isinstance(raw, int) and not isinstance(raw, bool) else answer.status
    description = str(data.get("description") or "")
    given = data.get("parameters")
    parameters: dict[str, Any] = given if isinstance(given, dict) else {}
    reason = f"{PROVIDER} {code}: {scrub(description, message)}"
    if code == 429:
        retry_after = parameters.get("retry_after")
        seconds = retry_after if isinstance(retry_after, int) else answer.retry_after(1)
        return Throttled(reason, retry_after=seconds, provider=PROVIDER)
    if code == 403:
        return RecipientUnreachable(reason, provider=PROVIDER)
    if code in (401, 404):
        return ProviderAccountError(reason, provider=PROVIDER)
    if code == 400:
        if "migrate_to_chat_id" in parameters or "chat not found" in description.lower():
            return InvalidDestination(reason, provider=PROVIDER)
        return MessageRejected(reason, provider=PROVIDER)
    return ProviderUnavailable(reason, provider=PROVIDER)


# --- linking the bot ----------------------------------------------------------------------------------------------


class StartCommand(NamedTuple):
    chat_id: str
    token: str


def deep_link(bot_username: str, token: str) -> str:
    """``https://t.me/<bot>?start=<token>``: opens the bot, which then receives ``/start <token>``."""
    username = bot_username.removeprefix("@")
    if not BOT_USERNAME.fullmatch(username):
        raise ValueError("bot_username must be 5-32 latin letters, digits or underscores")
    if not START_TOKEN.fullmatch(token):
        raise ValueError("a start token is 1-64 characters A-Z a-z 0-9 _ -")
    return f"https://t.me/{username}?start={token}"


def parse_start(update: Mapping[str, Any], bot_username: str | None = None) -> StartCommand | None:
    """The (chat id, token) of a ``/start <token>`` message in a private chat, else None.

    Only new messages count (not edits), only private chats (a token opened in a group must not link the group),
    and ``/start@OtherBot`` is for another bot. The token is returned as sent; whether it is valid, unexpired and
    unused is the caller's business.
    """
    message = update.get("message")
    if not isinstance(message, Mapping):
        return None
    chat = message.get("chat")
    text = message.get("text")
    if not isinstance(chat, Mapping) or chat.get("type") != "private" or not isinstance(text, str):
        return None
    chat_id = chat.get("id")
    # Telegram's ids have at most 52 significant bits: anything longer is not Telegram's and must not reach a key
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or not -CHAT_ID_LIMIT < chat_id < CHAT_ID_LIMIT:
        return None
    match = _START.fullmatch(text)
    if match is None or match["token"] is None or not START_TOKEN.fullmatch(match["token"]):
        return None
    addressed = match["bot"]
    if addressed is not None and bot_username is not None and addressed.lower() != bot_username.lower().lstrip("@"):
        return None
    return StartCommand(str(chat_id), match["token"])
