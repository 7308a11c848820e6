"""The notifications port: one way to send a short message to a customer, one error tree, one masking rule.

Everything that sends (SMTP, the SMS gateway, Telegram, the development inbox) is a :class:`Notifier`. Callers build
a :class:`Message`, call ``send`` and get a :class:`Delivery` back, or a :class:`NotificationError`:

    NotificationError                       nothing was sent
    ├── PermanentNotificationError          do not retry this message
    │   ├── InvalidDestination              malformed number or address, unknown Telegram chat
    │   ├── RecipientUnreachable            blocked the bot, mailbox unavailable, number cannot receive SMS
    │   ├── MessageRejected                 the provider refuses this content, sender or request
    │   ├── ProviderAccountError            bad API key / token / SMTP login, no money on the SMS account
    │   └── ChannelNotConfigured            the channel is off, its settings or its secret are missing
    └── TransientNotificationError          retry later (``retry_after`` seconds when the provider said so)
        ├── Throttled                       rate limited; ``retry_after`` is always set
        └── ProviderUnavailable             connection refused, timeout, 5xx, SMTP 4xx

Message text and one-time codes are never logged and never part of an error's text or a ``repr``: log lines carry
the channel, the masked destination, the purpose, the provider's message id and the outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Channel = Literal["sms", "email", "telegram"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)

E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Deliberately plain: one @, no spaces or control characters (no header injection), a dot in the domain.
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,252}\.[^@\s\x00-\x1f\x7f.]{1,63}")
TELEGRAM_CHAT = re.compile(r"-?[1-9][0-9]{0,19}")
PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LINK = re.compile(r"https?://[!#-;=?-~]+")  # printable ASCII without spaces, quotes or angle brackets
MAX_TEXT = 4096  # Telegram's limit for one message; far beyond any SMS or code mail


class Message(BaseModel):
    """One short message to one customer. ``text`` and ``code`` stay out of ``repr`` (and so out of tracebacks)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    channel: Channel
    to: str = Field(description="E.164 phone (sms), e-mail address (email) or Telegram chat id (telegram)")
    text: str = Field(min_length=1, max_length=MAX_TEXT, repr=False)
    purpose: str = Field(description="why it is sent, e.g. sign_in, spend_code, portal_link (logged)")
    code: str | None = Field(default=None, repr=False, description="the one-time code the text carries, if any")
    subject: str | None = Field(default=None, max_length=200, description="e-mail only; a default per purpose")
    unsubscribe_url: str | None = Field(
        default=None,
        max_length=500,
        repr=False,
        description="marketing only: the one-click unsubscribe link (e-mail carries it as List-Unsubscribe)",
    )

    @model_validator(mode="after")
    def _check(self) -> Message:
        pattern = {"sms": E164, "email": EMAIL, "telegram": TELEGRAM_CHAT}[self.channel]
        if not pattern.fullmatch(self.to):
            raise ValueError(f"to is not a valid {self.channel} destination")
        if not PURPOSE.fullmatch(self.purpose):
            raise ValueError("purpose must be a short snake_case word")
        if self.code is not None and (not self.code or self.code not in self.text):
            raise ValueError("code must appear in text")
        if self.subject is not None and any(c in self.subject for c in "\r\n"):
            raise ValueError("subject must be one line")
        if self.unsubscribe_url is not None and not _LINK.fullmatch(self.unsubscribe_url):
            raise ValueError("unsubscribe_url must be one https or http link")  # it becomes a mail header
        return self


@dataclass(frozen=True)
class Delivery:
    """What the provider accepted: its message id (for support and delivery reports) and where it went, masked."""

    channel: Channel
    provider: str
    message_id: str
    destination: str  # masked: safe to show to a partner or to log


class Notifier(Protocol):
    def send(self, message: Message) -> Delivery:
        """Send ``message`` now (no retries here: the caller decides), or raise a :class:`NotificationError`."""
        ...


# --- errors ---------------------------------------------------------------------------------------------------


class NotificationError(Exception):
    """Nothing was sent. ``reason`` is short and safe to log: never the text, the code or a full destination."""

    kind = "error"

    def __init__(self, reason: str, *, provider: str = "", channel: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.channel = channel

    @property
    def retryable(self) -> bool:
        return isinstance(self, TransientNotificationError)


class PermanentNotificationError(NotificationError):
    """Retrying the same message will fail the same way."""


class InvalidDestination(PermanentNotificationError):
    kind = "invalid_destination"


class RecipientUnreachable(PermanentNotificationError):
    kind = "recipient_unreachable"


class MessageRejected(PermanentNotificationError):
    kind = "message_rejected"


class ProviderAccountError(PermanentNotificationError):
    """The operator must act (key, token, login, balance): no message on this channel goes until then."""

    kind = "provider_account"


class ChannelNotConfigured(PermanentNotificationError):
    kind = "channel_not_configured"


class TransientNotificationError(NotificationError):
    """May succeed later; ``retry_after`` is the provider's hint in seconds, when it gave one."""

    def __init__(self, reason: str, *, retry_after: int | None = None, provider: str = "", channel: str = "") -> None:
        super().__init__(reason, provider=provider, channel=channel)
        self.retry_after = retry_after


class Throttled(TransientNotificationError):
    kind = "throttled"

    def __init__(self, reason: str, *, retry_after: int, provider: str = "", channel: str = "") -> None:
        super().__init__(reason, retry_after=max(1, retry_after), provider=provider, channel=channel)
        self.retry_after: int = max(1, retry_after)


class ProviderUnavailable(TransientNotificationError):
    kind = "provider_unavailable"


# --- masking ----------------------------------------------------------------------------------------------------


def mask(destination: str, channel: Channel | None = None) -> str:
    """A destination as it may be logged or shown to a partner.

    ``+79161234567`` -> ``+7 916 ***-**-67``; ``anna@example.com`` -> ``a***@example.com``; Telegram chat
    ``5123451234`` -> ``chat …1234``. Anything unrecognised -> ``***``.
    """
    value = destination.strip()
    if channel in (None, "sms") and E164.fullmatch(value):
        digits = value[1:]
        if digits.startswith("7") and len(digits) == 11:
            return f"+7 {digits[1:4]} ***-**-{digits[-2:]}"
        return f"+{digits[:3]} {'*' * (len(digits) - 5)}{digits[-2:]}"
    if channel in (None, "email") and EMAIL.fullmatch(value):
        local, domain = value.rsplit("@", 1)
        return f"{local[0]}***@{domain}"
    if channel in (None, "telegram") and TELEGRAM_CHAT.fullmatch(value):
        return f"chat …{value.lstrip('-')[-4:]}"
    return "***"


def scrub(text: str, message: Message) -> str:
    """A provider's answer made safe to log: no text, no code, no full destination, one short line."""
    out = text
    for private in (message.text, message.code, message.to):
        if private:
            out = out.replace(private, mask(message.to) if private is message.to else "[redacted]")
    return " ".join(out.split())[:200]
