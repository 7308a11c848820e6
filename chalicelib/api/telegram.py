"""Telegram's webhook: the bot receives ``/start <token>`` when a customer links it from their page.

``POST /telegram/webhook`` is called by Telegram, not by a partner: it carries no API key but the ``secret_token``
given to setWebhook, in ``X-Telegram-Bot-Api-Secret-Token`` (checked in constant time before anything is read or
written, before the body is parsed: else 401 and nothing else is told; with the secret, a body that is not an
update at all is 400 or 422).
Every well-formed update is answered 200, acted on or not, so Telegram does not deliver it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.schemas import TelegramAck, TelegramUpdate

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import telegram_link
else:
    telegram_link = lazy_module("chalicelib.services.telegram_link")

api = RouteTable(tag="telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - the header's name


@api.route(
    "POST",
    "/telegram/webhook",
    "public",
    f"Telegram's webhook: /start <token> links the customer's chat ({SECRET_HEADER} must be the webhook's secret)",
    body=TelegramUpdate,
    response=TelegramAck,
    errors=(401,),
    guard=lambda header: telegram_link.authenticate(header(SECRET_HEADER)),  # before the body is even parsed
)
def telegram_webhook(call: Call[TelegramUpdate, None]) -> TelegramAck:
    outcome = telegram_link.handle_update(call.body.model_dump(), call.now)
    return TelegramAck(outcome=outcome)
