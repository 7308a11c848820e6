"""Messages to a customer: which channel reaches them, the texts, and sending through the notifications
port (``chalicelib/notify``). Under ``make run`` (and in tests, with no channel configured) they land in the
development inbox.

The channel: the one the flow prefers (the identifier the customer just typed to sign in), else the customer's own
choice, else the program's channels in their order of preference, the first for which the customer has a
destination (phone for SMS, e-mail, a linked Telegram chat). The texts are short, in the customer's language, and
name who asks, so that a code asked for by someone else looks wrong to the customer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.db.customers import Customer
from chalicelib.domain.plurals import plural_category
from chalicelib.errors import ApiError, CustomerUnreachable, RateLimited, Unavailable
from chalicelib.notify import (
    CHANNELS,
    Channel,
    InvalidDestination,
    Message,
    NotificationError,
    Notifier,
    RecipientUnreachable,
    Throttled,
    mask,
)
from chalicelib.services import program

if TYPE_CHECKING:
    from chalicelib.notify.settings import NotificationSettings

# {placeholders} are filled in by send(); a code's text must contain it (the port checks).
TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "sign_in": "{code} — код для входа в личный кабинет программы «{sender}». Никому его не сообщайте.",
        "staff_sign_in": "{code} — код для входа сотрудника в программу «{sender}». Никому его не сообщайте.",
        "spend": "{code} — код для списания до {points} в «{partner}». Назовите его кассиру, только если вы "
        "сейчас на кассе. Действует до {until}.",
        "bind": "{code} — код, чтобы привязать {what} к вашему счёту в «{partner}». Если вы этого не просили, "
        "никому не сообщайте код.",
        "portal_link": "Ваши баллы в программе «{sender}»: {url}",
        "phone": "телефон",
        "card": "карту",
        "email": "e-mail",
        "telegram_linked": "Готово: Telegram подключён к программе «{sender}». Чтобы коды и ссылки приходили сюда, "
        "выберите Telegram в настройках на своей странице.",
        "telegram_invalid": "Ссылка не подошла: она устарела или уже использована. Нажмите «Подключить Telegram» "
        "на своей странице ещё раз.",
        "telegram_taken": "Этот Telegram уже подключён к другому счёту в программе «{sender}». Сначала отключите "
        "его там.",
        # a spend or hold without the customer's code (policies "above" and "never"): told at once, every time
        "spent_without_code": "«{partner}» списал без кода подтверждения: {points} б. Доступно: {balance} б. "
        "Если это были не вы, заморозки и списания видны на вашей странице программы «{sender}».",
        "held_without_code": "«{partner}» заморозил без кода подтверждения: {points} б. до {until}. Доступно: "
        "{balance} б. Если это были не вы, снимите заморозку на вашей странице программы «{sender}».",
        "channel_changed": "Коды и ссылки программы «{sender}» теперь приходят в {channel}, а не сюда. Если это "
        "сделали не вы, войдите на свою страницу по коду, верните прежний канал и нажмите «Выйти везде».",
        "channel_sms": "SMS",
        "channel_email": "e-mail",
        "channel_telegram": "Telegram",
    },
    "en": {
        "sign_in": "{code} is your code to sign in to {sender}. Do not share it with anyone.",
        "staff_sign_in": "{code} is your staff sign-in code for {sender}. Do not share it with anyone.",
        "spend": "{code} is your code to spend up to {points} at {partner}. Tell it to the cashier only if you "
        "are at the till now. Valid until {until}.",
        "bind": "{code} is your code to add {what} to your account at {partner}. If you did not ask for this, "
        "do not share the code.",
        "portal_link": "Your points at {sender}: {url}",
        "phone": "a phone",
        "card": "a card",
        "email": "an e-mail address",
        "telegram_linked": "Done: Telegram is connected to {sender}. To get codes and links here, choose Telegram "
        "in the settings on your page.",
        "telegram_invalid": "This link did not work: it has expired or was already used. Press "
        '"Connect Telegram" on your page again.',
        "telegram_taken": "This Telegram account is already connected to another account at {sender}. "
        "Disconnect it there first.",
        "spent_without_code": "{partner} spent {points} of your points without your code. Available: {balance}. "
        "If this was not you, see your page at {sender}.",
        "held_without_code": "{partner} held {points} of your points without your code, until {until}. "
        "Available: {balance}. If this was not you, release the hold on your page at {sender}.",
        "channel_changed": "Codes and links from {sender} now go to {channel}, no longer here. If this was not "
        'you, sign in to your page with a code, choose the old channel again and press "Sign out everywhere".',
        "channel_sms": "SMS",
        "channel_email": "e-mail",
        "channel_telegram": "Telegram",
    },
}


@dataclass(frozen=True)
class Sent:
    channel: Channel
    destination: str  # masked


def destinations(customer: Customer) -> dict[Channel, str]:
    found: dict[Channel, str | None] = {
        "sms": customer.phone,
        "email": customer.email,
        "telegram": customer.telegram_chat_id,
    }
    return {channel: to for channel, to in found.items() if to}


def settings() -> NotificationSettings:
    from chalicelib.notify.settings import NotificationSettings  # the adapters' settings: loaded when first needed

    return NotificationSettings.model_validate(program.load().notifications)


def choose(customer: Customer, prefer: Channel | None = None) -> tuple[Channel, str]:
    """The channel and the destination a message to this customer goes to; CustomerUnreachable if none."""
    config = settings()
    enabled = config.channels or CHANNELS  # the development inbox takes every channel
    reachable = destinations(customer)
    chosen = customer.channel if customer.channel in CHANNELS else None
    for channel in (prefer, chosen, *enabled):
        if channel is not None and channel in enabled and channel in reachable:
            return channel, reachable[channel]
    raise CustomerUnreachable(
        "This customer has no phone, e-mail or linked chat that the program's channels can reach.",
    )


def reachable(customer: Customer) -> bool:
    try:
        choose(customer)
    except CustomerUnreachable:
        return False
    return True


_lock = threading.Lock()
_notifier: tuple[str, Notifier] | None = None


def notifier() -> Notifier:
    """One notifier per channel settings (secrets are read once per instance, on first use)."""
    global _notifier
    config = settings()
    key = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    with _lock:
        if _notifier is None or _notifier[0] != key:
            from chalicelib.notify.factory import notifier_for

            _notifier = (key, notifier_for(config))
        return _notifier[1]


def language(customer: Customer) -> str:
    return "en" if customer.locale == "en" else "ru"


def text(customer: Customer, name: str, **values: Any) -> str:
    texts = TEXTS[language(customer)]
    return texts[name].format(sender=settings().sender_name, **values)


def points(customer: Customer, n: int) -> str:
    """A number of points as the texts use it, after "до" / "up to": "120 баллов", "21 балла", "1 point"."""
    if language(customer) == "en":
        return f"{n} point" if plural_category(n, "one_other") == "one" else f"{n} points"
    # the genitive after "до": one -> "балла" (до 21 балла), few and many -> "баллов" (до 3 баллов, до 5 баллов)
    return f"{n} балла" if plural_category(n, "east_slavic") == "one" else f"{n} баллов"


def channel_name(customer: Customer, channel: str) -> str:
    return TEXTS[language(customer)].get(f"channel_{channel}", channel)


def what(customer: Customer, kinds: list[str]) -> str:
    texts = TEXTS[language(customer)]
    return ", ".join(texts[k] for k in kinds)


def send(
    customer: Customer, purpose: str, body: str, *, code: str | None = None, prefer: Channel | None = None
) -> Sent:
    """Send one message; the port's errors become API errors (the port already logged them, without the text)."""
    channel, to = choose(customer, prefer)
    try:
        delivery = notifier().send(Message(channel=channel, to=to, text=body, code=code, purpose=purpose))
    except Throttled as exc:
        raise RateLimited(
            "The message provider asks us to wait.", retry_after=max(1, exc.retry_after or 60), limit="message_provider"
        ) from exc
    except (InvalidDestination, RecipientUnreachable) as exc:
        raise CustomerUnreachable(f"The {channel} channel cannot reach {mask(to, channel)}.") from exc
    except NotificationError as exc:
        raise Unavailable("The message could not be sent; nothing was shown to anyone. Retry shortly.") from exc
    return Sent(channel, delivery.destination)


def send_to_chat(chat_id: str, purpose: str, lang: str, name: str) -> bool:
    """The bot's answer in a chat that may be nobody's yet (linking Telegram): True if it went out. A failure is
    logged by the port and otherwise ignored: the webhook answers Telegram 200 either way."""
    body = TEXTS["en" if lang == "en" else "ru"][name].format(sender=settings().sender_name)
    try:
        notifier().send(Message(channel="telegram", to=chat_id, text=body, purpose=purpose))
    except NotificationError:
        return False
    return True


def send_to(channel: Channel, to: str, purpose: str, lang: str, name: str, code: str) -> bool:
    """A code to someone who is not a customer (a staff member signing in): True if it went out. A failure is
    logged by the port and otherwise ignored: the sign-in answers the same whether or not anyone got a code."""
    body = TEXTS["en" if lang == "en" else "ru"][name].format(sender=settings().sender_name, code=code)
    try:
        notifier().send(Message(channel=channel, to=to, text=body, code=code, purpose=purpose))
    except NotificationError:
        return False
    return True


def safe_send(customer: Customer, purpose: str, body: str, **kw: Any) -> Sent | None:
    """For flows that must not tell whether a customer exists (sign-in): a failure is logged by the port, and
    the caller answers the same either way."""
    try:
        return send(customer, purpose, body, **kw)
    except ApiError:
        return None
