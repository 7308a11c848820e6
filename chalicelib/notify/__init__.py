"""Notifications to customers: one port, its adapters (SMTP, SMSC, Telegram), the development inbox.

    from chalicelib.notify import Message, notifier_for, NotificationSettings

    notifier = notifier_for(NotificationSettings.model_validate(program_data))
    delivery = notifier.send(Message(channel="sms", to="+79161234567", text="Код: 123456", code="123456",
                                     purpose="spend_code"))

See docs/notifications.md.

Names load on first use (PEP 562): the services that only need ``Channel`` or ``mask`` do not pay, at a cold start,
for the adapters' settings models; ``notifier_for`` brings them in when a message is first sent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.notify.factory import ChannelRouter, notifier_for
    from chalicelib.notify.port import (
        CHANNELS,
        Channel,
        ChannelNotConfigured,
        Delivery,
        InvalidDestination,
        Message,
        MessageRejected,
        NotificationError,
        Notifier,
        PermanentNotificationError,
        ProviderAccountError,
        ProviderUnavailable,
        RecipientUnreachable,
        Throttled,
        TransientNotificationError,
        mask,
    )
    from chalicelib.notify.settings import (
        EmailSettings,
        NotificationSettings,
        SecretSource,
        SmsSettings,
        StoredSecrets,
        TelegramSettings,
    )

_HOME: dict[str, str] = {
    "CHANNELS": "chalicelib.notify.port",
    "Channel": "chalicelib.notify.port",
    "ChannelNotConfigured": "chalicelib.notify.port",
    "ChannelRouter": "chalicelib.notify.factory",
    "Delivery": "chalicelib.notify.port",
    "EmailSettings": "chalicelib.notify.settings",
    "InvalidDestination": "chalicelib.notify.port",
    "Message": "chalicelib.notify.port",
    "MessageRejected": "chalicelib.notify.port",
    "NotificationError": "chalicelib.notify.port",
    "NotificationSettings": "chalicelib.notify.settings",
    "Notifier": "chalicelib.notify.port",
    "PermanentNotificationError": "chalicelib.notify.port",
    "ProviderAccountError": "chalicelib.notify.port",
    "ProviderUnavailable": "chalicelib.notify.port",
    "RecipientUnreachable": "chalicelib.notify.port",
    "SecretSource": "chalicelib.notify.settings",
    "SmsSettings": "chalicelib.notify.settings",
    "StoredSecrets": "chalicelib.notify.settings",
    "TelegramSettings": "chalicelib.notify.settings",
    "Throttled": "chalicelib.notify.port",
    "TransientNotificationError": "chalicelib.notify.port",
    "mask": "chalicelib.notify.port",
    "notifier_for": "chalicelib.notify.factory",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


__all__ = [
    "CHANNELS",
    "Channel",
    "ChannelNotConfigured",
    "ChannelRouter",
    "Delivery",
    "EmailSettings",
    "InvalidDestination",
    "Message",
    "MessageRejected",
    "NotificationError",
    "NotificationSettings",
    "Notifier",
    "PermanentNotificationError",
    "ProviderAccountError",
    "ProviderUnavailable",
    "RecipientUnreachable",
    "SecretSource",
    "SmsSettings",
    "StoredSecrets",
    "TelegramSettings",
    "Throttled",
    "TransientNotificationError",
    "mask",
    "notifier_for",
]
