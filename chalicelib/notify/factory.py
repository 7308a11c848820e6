"""``notifier_for(settings, secrets)``: the one Notifier the rest of the code uses, and the one place that logs.

It routes each message to its channel's adapter. The development inbox takes every channel when nothing is
configured or when ``make run`` asks for it (``LOYALTY_DEV_INBOX=1``). Adapters are built here, but nothing is
connected and no secret is read until a message is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from chalicelib.notify.port import (
    CHANNELS,
    Channel,
    ChannelNotConfigured,
    Delivery,
    Message,
    NotificationError,
    Notifier,
    PermanentNotificationError,
    ProviderAccountError,
    mask,
)
from chalicelib.notify.settings import NotificationSettings, SecretSource, StoredSecrets

log = logging.getLogger("loyalty.notify")


class ChannelRouter:
    """Sends each message through its channel's adapter and logs the outcome: channel, masked destination,
    purpose, provider, message id or error kind. Never the text, never the code."""

    def __init__(self, adapters: Mapping[Channel, Notifier]) -> None:
        self._adapters = dict(adapters)

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._adapters)

    def send(self, message: Message) -> Delivery:
        to = mask(message.to, message.channel)
        adapter = self._adapters.get(message.channel)
        try:
            if adapter is None:
                raise ChannelNotConfigured(f"the {message.channel} channel is not enabled")
            delivery = adapter.send(message)
        except NotificationError as exc:
            exc.channel = exc.channel or message.channel
            level = logging.ERROR if isinstance(exc, ProviderAccountError) else logging.WARNING
            log.log(
                level,
                "notify failed channel=%s to=%s purpose=%s provider=%s outcome=%s retry=%s retry_after=%s reason=%s",
                message.channel,
                to,
                message.purpose,
                exc.provider or "-",
                exc.kind,
                "no" if isinstance(exc, PermanentNotificationError) else "yes",
                getattr(exc, "retry_after", None),
                exc.reason,
            )
            raise
        log.info(
            "notify sent channel=%s to=%s purpose=%s provider=%s id=%s",
            message.channel,
            delivery.destination,
            message.purpose,
            delivery.provider,
            delivery.message_id,
        )
        return delivery


def notifier_for(
    settings: NotificationSettings, secrets: SecretSource | None = None, *, dev_inbox: bool | None = None
) -> ChannelRouter:
    """The notifier for these channel settings. ``dev_inbox`` defaults to ``make run``'s flag (never set in AWS)."""
    from chalicelib.notify.inbox import DevInboxNotifier, dev_inbox_enabled

    if dev_inbox is None:
        dev_inbox = dev_inbox_enabled()
    if dev_inbox or settings.dev_inbox:
        inbox = DevInboxNotifier()
        return ChannelRouter(dict.fromkeys(CHANNELS, inbox))
    secrets = StoredSecrets() if secrets is None else secrets
    adapters: dict[Channel, Notifier] = {}
    for channel in settings.channels:
        adapters[channel] = _adapter(channel, settings, secrets)
    return ChannelRouter(adapters)


def _adapter(channel: Channel, settings: NotificationSettings, secrets: SecretSource) -> Notifier:
    if channel == "email":
        from chalicelib.notify.smtp import SmtpNotifier

        assert settings.email is not None  # NotificationSettings checks it
        return SmtpNotifier(settings.email, settings.sender_name, secrets)
    if channel == "sms":
        from chalicelib.notify.smsc import SmscNotifier

        return SmscNotifier(settings.sms, secrets)
    from chalicelib.notify.telegram import TelegramNotifier

    assert settings.telegram is not None  # NotificationSettings checks it
    return TelegramNotifier(settings.telegram, secrets)
