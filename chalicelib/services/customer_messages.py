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
from datetime import date
from typing import TYPE_CHECKING, Any

from chalicelib.db.customers import Customer
from chalicelib.domain.plurals import plural_category
from chalicelib.errors import ApiError, CustomerUnreachable, RateLimited, Unavailable
from chalicelib.machinery import program
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
from chalicelib.services.message_texts import EDITABLE, MONTHS_EN, MONTHS_RU, TEXTS

if TYPE_CHECKING:
    from chalicelib.notify.settings import NotificationSettings


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


def text(customer: Customer, name: str, /, **values: Any) -> str:
    lang = language(customer)
    template = TEXTS[lang][name]
    if name in EDITABLE:  # the operator's text for this language, if any (checked when it was saved)
        template = program.load().messages.get("templates", {}).get(lang, {}).get(name) or template
    return template.format(sender=settings().sender_name, **values)


def points_count(customer: Customer, n: int) -> str:
    """A number of points as a count: "1 балл", "3 балла", "5 баллов"; "1 point", "5 points"."""
    if language(customer) == "en":
        return f"{n} point" if plural_category(n, "one_other") == "one" else f"{n} points"
    form = {"one": "балл", "few": "балла"}.get(plural_category(n, "east_slavic"), "баллов")
    return f"{n} {form}"


def day_month(customer: Customer, day: date) -> str:
    """ "31 декабря" / "31 December"."""
    if language(customer) == "en":
        return f"{day.day} {MONTHS_EN[day.month - 1]}"
    return f"{day.day} {MONTHS_RU[day.month - 1]}"


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
    customer: Customer,
    purpose: str,
    body: str,
    *,
    code: str | None = None,
    prefer: Channel | None = None,
    unsubscribe_url: str | None = None,
) -> Sent:
    """Send one message; the port's errors become API errors (the port already logged them, without the text).
    A marketing message gives its ``unsubscribe_url`` (e-mail carries it as a header too)."""
    channel, to = choose(customer, prefer)
    message = Message(channel=channel, to=to, text=body, code=code, purpose=purpose, unsubscribe_url=unsubscribe_url)
    try:
        delivery = notifier().send(message)
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


def tell(channel: Channel, to: str, purpose: str, lang: str, name: str, **values: str) -> bool:
    """A notice without a code to someone who is not a customer (a partner's owner): True if it went out. A failure
    is logged by the port and otherwise ignored: what the notice says is also recorded where it is shown."""
    body = TEXTS["en" if lang == "en" else "ru"][name].format(sender=settings().sender_name, **values)
    try:
        notifier().send(Message(channel=channel, to=to, text=body, purpose=purpose))
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
