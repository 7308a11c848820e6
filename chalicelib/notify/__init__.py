"""Notifications to customers (issue 17): one port, its adapters (SMTP, SMSC, Telegram), the development inbox.

    from chalicelib.notify import Message, notifier_for, NotificationSettings

    notifier = notifier_for(NotificationSettings.model_validate(program_data))
    delivery = notifier.send(Message(channel="sms", to="+79161234567", text="Код: 123456", code="123456",
                                     purpose="spend_code"))

See docs/notifications.md.
"""

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
