"""The customer links the Telegram bot from their page.

1. The signed-in customer presses "Connect Telegram": :func:`start_link` makes a single-use token (32 random bytes,
   base64url, 43 characters), stores only its HMAC with the key pepper (``TGLINK#...``, valid ``LINK_MINUTES``,
   DynamoDB's TTL removes it later) and answers the deep link ``https://t.me/<bot>?start=<token>``.
2. The customer presses Start; Telegram posts the update to ``POST /telegram/webhook`` with the ``secret_token``
   given to setWebhook in ``X-Telegram-Bot-Api-Secret-Token`` (:func:`authenticate`: constant-time, else 401).
3. :func:`handle_update`: a ``/start <token>`` in a private chat (``notify.telegram.parse_start``) whose token is
   known, unexpired and unused links the chat in one transaction (token used, chat claimed, ``telegram_chat_id``
   set) and the bot says so in the customer's language. An invalid token, or a chat linked to someone else, gets a
   short explanation and changes nothing; anything else is ignored. The same update delivered again (Telegram
   re-delivers when it misses our answer) finds the token used by this very chat: "linked" again, nothing written.

The token is never logged: it appears only in the deep link, in Telegram's update, and as an HMAC in the table.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from chalicelib import runtime
from chalicelib.config import read_secret
from chalicelib.db import customers as customers_db
from chalicelib.db import telegram_links as telegram_links_db
from chalicelib.db.tx import TxCancelled
from chalicelib.domain import signing
from chalicelib.errors import Conflict, Unauthorized, Unavailable
from chalicelib.notify import NotificationError
from chalicelib.notify.settings import StoredSecrets
from chalicelib.notify.telegram import StartCommand, deep_link, parse_start
from chalicelib.services import customer_messages, customers

LINK_MINUTES = 15
TTL_GRACE_SECONDS = 3600  # DynamoDB deletes expired items within about a day; validity is checked on every read
WEBHOOK_SECRET = "LOYALTY_TELEGRAM_WEBHOOK_SECRET"  # noqa: S105 - the name of the secret, not a secret
PURPOSE = "telegram_link"
TRIES = 3

Outcome = Literal["linked", "invalid", "taken", "ignored"]
_stored = StoredSecrets()


def bot_username() -> str | None:
    """The bot to link, if the program has Telegram: its settings, and the channel on (or the development inbox)."""
    config = customer_messages.settings()
    if config.telegram is None or (config.channels and "telegram" not in config.channels):
        return None
    return config.telegram.bot_username


def digest(token: str) -> str:
    return signing.sign_hex(runtime.get().settings.key_pepper, "telegram-link", token)


@dataclass(frozen=True)
class LinkOffer:
    url: str  # the deep link: https://t.me/<bot>?start=<token>
    expires_at: datetime


def start_link(customer_id: str, now: datetime) -> LinkOffer:
    bot = bot_username()
    if bot is None:
        raise Conflict("This program has no Telegram bot.")
    customers.load(customer_id)  # 404 for a deleted account
    token = secrets.token_urlsafe(32)
    expires_at = (now + timedelta(minutes=LINK_MINUTES)).replace(microsecond=0)
    telegram_links_db.put(
        digest(token),
        customer_id,
        now_iso=now.isoformat(),
        expires_at=expires_at.isoformat(),
        ttl=int(expires_at.timestamp()) + TTL_GRACE_SECONDS,
    )
    return LinkOffer(deep_link(bot, token), expires_at)


def disconnect(customer_id: str) -> None:
    """Unlink the chat; if Telegram was the customer's channel, messages go by the program's order (SMS, e-mail)."""
    customer = customers.load(customer_id)
    if not customer.telegram_chat_id:
        return  # already disconnected (a second press)
    try:
        telegram_links_db.unlink(customer_id, customer.telegram_chat_id, customer.channel == "telegram")
    except TxCancelled:
        return  # changed meanwhile: the page shows what is


# --- the webhook ------------------------------------------------------------------------------------------------


def _webhook_secret() -> str | None:
    """From the secret store: SSM (``<NAME>_PARAM``, read once per instance) or the environment (local runs)."""
    try:
        if os.environ.get(f"{WEBHOOK_SECRET}_PARAM"):
            return _stored.get(WEBHOOK_SECRET)
        return read_secret(WEBHOOK_SECRET)
    except NotificationError as exc:
        raise Unavailable("The webhook's secret could not be read.") from exc


def authenticate(header: str | None) -> None:
    """Telegram's ``X-Telegram-Bot-Api-Secret-Token`` must equal the secret (compared in constant time)."""
    expected = _webhook_secret()
    if not expected or not signing.verify(header or "", expected):
        raise Unauthorized("This is not Telegram's webhook call.")


def handle_update(update: Mapping[str, Any], now: datetime) -> Outcome:
    """What the update did: ``linked``, ``invalid``, ``taken`` (the chat is someone else's) or ``ignored``."""
    bot = bot_username()
    start = parse_start(update, bot) if bot is not None else None
    if start is None:
        return "ignored"
    outcome, customer_id = _link(start, now)
    lang = _update_language(update)
    if customer_id is not None:
        customer = customers_db.load(customer_id)
        lang = customer_messages.language(customer) if customer is not None else lang
    customer_messages.send_to_chat(start.chat_id, PURPOSE, lang, f"telegram_{outcome}")
    return outcome


def _link(start: StartCommand, now: datetime) -> tuple[Outcome, str | None]:
    key = digest(start.token)
    for _ in range(TRIES):
        link, owner = telegram_links_db.read(key, start.chat_id)
        if link is None:
            return "invalid", None
        if link.used_at is not None:  # used: by this chat (a re-delivered update) or by another (a replay)
            return ("linked", link.customer_id) if link.used_chat_id == start.chat_id else ("invalid", None)
        if datetime.fromisoformat(link.expires_at) <= now:
            return "invalid", None
        if owner is not None and owner != link.customer_id:
            return "taken", None
        customer = customers_db.load(link.customer_id)
        if customer is None or customer.deleted_at or customer.telegram_link != key:
            return "invalid", None  # deleted, or a newer token was made since (or this one's chat was unlinked)
        try:
            telegram_links_db.bind(key, start.chat_id, link.customer_id, customer.telegram_chat_id, now.isoformat())
        except TxCancelled:
            continue  # used, claimed or relinked meanwhile: read again and judge again
        return "linked", link.customer_id
    raise Unavailable("The link kept changing; Telegram will deliver the update again.")


def _update_language(update: Mapping[str, Any]) -> str:
    message = update.get("message")
    sender = message.get("from") if isinstance(message, Mapping) else None
    code = sender.get("language_code") if isinstance(sender, Mapping) else None
    return "en" if isinstance(code, str) and code.startswith("en") else "ru"
