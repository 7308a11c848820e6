"""Channel settings (program data) and the notification secrets (the same store as the other secrets).

Settings say which channels are on and how to reach each provider; they hold no secret. Secrets are read on first
use by the adapter that needs them, never at import or cold start: ``LOYALTY_SMTP_PASSWORD``,
``LOYALTY_SMS_API_KEY``, ``LOYALTY_TELEGRAM_BOT_TOKEN`` (an environment variable locally; in AWS the SSM parameter
named by ``<NAME>_PARAM``). Nothing configured means the development inbox.
"""

from __future__ import annotations

import re
import threading
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.notify.port import EMAIL, Channel, ChannelNotConfigured, ProviderUnavailable

SMTP_PASSWORD = "LOYALTY_SMTP_PASSWORD"  # noqa: S105 - the name of the secret, not a secret
SMS_API_KEY = "LOYALTY_SMS_API_KEY"
TELEGRAM_BOT_TOKEN = "LOYALTY_TELEGRAM_BOT_TOKEN"  # noqa: S105 - the name of the secret, not a secret
SECRET_NAMES = (SMTP_PASSWORD, SMS_API_KEY, TELEGRAM_BOT_TOKEN)

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_SENDER_ID = re.compile(r"[A-Za-z0-9 ._-]{1,11}")


def _base_url(value: str) -> str:
    """https, or plain http to this machine only (the tests' fake servers): an API key never travels in clear."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value.rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return value.rstrip("/")
    raise ValueError("must be an https:// URL (http:// only for 127.0.0.1 or localhost)")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class EmailSettings(_Model):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (port 587), tls (implicit, port 465) or none (local relays only)"
    )
    from_address: str
    username: str | None = Field(default=None, description="SMTP login; its password is the LOYALTY_SMTP_PASSWORD")
    timeout_seconds: float = Field(default=10.0, gt=0, le=25)

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not EMAIL.fullmatch(value):
            raise ValueError("from_address is not an e-mail address")
        return value


class SmsSettings(_Model):
    provider: Literal["smsc"] = "smsc"
    base_url: str = "https://smsc.ru"
    sender: str | None = Field(default=None, description="a Sender ID registered with the provider (else its default)")
    timeout_seconds: float = Field(default=5.0, gt=0, le=25)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _base_url(value)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and not _SENDER_ID.fullmatch(value):
            raise ValueError("sender must be 1-11 latin letters, digits, spaces, dots, dashes or underscores")
        return value


class TelegramSettings(_Model):
    bot_username: str = Field(description="the bot's @username without the @ (for t.me deep links)")
    base_url: str = "https://api.telegram.org"
    timeout_seconds: float = Field(default=5.0, gt=0, le=25)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _base_url(value)

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.removeprefix("@")
        if not _BOT_USERNAME.fullmatch(value):
            raise ValueError("bot_username must be 5-32 latin letters, digits or underscores")
        return value


class NotificationSettings(_Model):
    """Which channels are on and how to reach them. The default (no channel) is the development inbox."""

    channels: tuple[Channel, ...] = Field(default=(), description="enabled channels, in order of preference")
    sender_name: str = Field(default="Программа лояльности", min_length=1, max_length=64)
    email: EmailSettings | None = None
    sms: SmsSettings = SmsSettings()
    telegram: TelegramSettings | None = None

    @model_validator(mode="after")
    def _complete(self) -> NotificationSettings:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels must not repeat")
        if "email" in self.channels and self.email is None:
            raise ValueError("the email channel needs email settings (host, from_address)")
        if "telegram" in self.channels and self.telegram is None:
            raise ValueError("the telegram channel needs telegram settings (bot_username)")
        if any(c in self.sender_name for c in "\r\n"):
            raise ValueError("sender_name must be one line")
        return self

    @property
    def dev_inbox(self) -> bool:
        return not self.channels


# --- secrets ----------------------------------------------------------------------------------------------------


class SecretSource(Protocol):
    def get(self, name: str) -> str | None:
        """The secret's value, or None if it is not set."""
        ...


class StoredSecrets:
    """The project's secret store (``chalicelib.config.read_secret``): read on first use, then kept per instance."""

    def __init__(self) -> None:
        self._values: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str | None:
        with self._lock:
            if name not in self._values:
                self._values[name] = _read(name)
            return self._values[name]


def _read(name: str) -> str | None:
    from chalicelib.config import read_secret

    try:
        return read_secret(name)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "ParameterNotFound":
            return None
        raise ProviderUnavailable(f"secret {name} could not be read ({code or type(exc).__name__})") from exc


def require(secrets: SecretSource, name: str, channel: Channel) -> str:
    value = secrets.get(name)
    if not value:
        raise ChannelNotConfigured(f"{name} is not set", channel=channel)
    return value
