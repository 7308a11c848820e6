"""The notifications port: messages, masking, the error tree, settings, secrets (lazy, from the project's store) and
the factory's choice of adapters."""

from __future__ import annotations

import logging

import pytest
from moto import mock_aws
from pydantic import ValidationError

from chalicelib.notify import (
    ChannelNotConfigured,
    ChannelRouter,
    Delivery,
    InvalidDestination,
    Message,
    MessageRejected,
    NotificationError,
    NotificationSettings,
    PermanentNotificationError,
    ProviderAccountError,
    ProviderUnavailable,
    RecipientUnreachable,
    StoredSecrets,
    Throttled,
    TransientNotificationError,
    mask,
    notifier_for,
)
from chalicelib.notify.inbox import DevInboxNotifier
from chalicelib.notify.settings import SECRET_NAMES, SMS_API_KEY
from chalicelib.notify.smsc import SmscNotifier
from chalicelib.notify.smtp import SmtpNotifier
from chalicelib.notify.telegram import TelegramNotifier

# --- messages ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "to"),
    [("sms", "+79161234567"), ("email", "anna.petrova+loyalty@example.co.uk"), ("telegram", "5123451234"),
     ("telegram", "-1001234567890")],
)  # fmt: skip
def test_valid_destinations(channel, to):
    assert Message(channel=channel, to=to, text="Привет", purpose="sign_in").to == to


@pytest.mark.parametrize(
    ("channel", "to"),
    [
        ("sms", "89161234567"),  # not E.164: callers normalise first
        ("sms", "+7 916 123-45-67"),
        ("sms", "+79161234567\n"),
        ("email", "anna@example"),
        ("email", "anna@example.com\r\nBcc: all@example.com"),  # header injection
        ("email", "anna example@example.com"),
        ("telegram", "@anna"),
        ("telegram", "0"),
        ("sms", "anna@example.com"),
    ],
)
def test_invalid_destinations(channel, to):
    with pytest.raises(ValidationError):
        Message(channel=channel, to=to, text="x", purpose="sign_in")


def test_text_and_code_stay_out_of_repr_and_the_code_must_be_in_the_text():
    message = Message(channel="sms", to="+79161234567", text="Код 908172", code="908172", purpose="spend_code")
    assert "908172" not in repr(message) and "Код" not in repr(message) and "908172" not in str(message)
    with pytest.raises(ValidationError, match="code must appear in text"):
        Message(channel="sms", to="+79161234567", text="Код 654321", code="123456", purpose="spend_code")
    with pytest.raises(ValidationError):
        Message(channel="sms", to="+79161234567", text="", purpose="spend_code")
    with pytest.raises(ValidationError):
        Message(channel="sms", to="+79161234567", text="x" * 4097, purpose="spend_code")
    with pytest.raises(ValidationError):
        Message(channel="email", to="a@example.com", text="x", subject="a\nBcc: b@example.com", purpose="x")
    with pytest.raises(ValidationError):
        Message(channel="sms", to="+79161234567", text="x", purpose="Sign In")


def test_mask():
    assert mask("+79161234567") == "+7 916 ***-**-67"
    assert mask("+375291234567") == "+375 *******67"
    assert mask("anna@example.com") == "a***@example.com"
    assert mask("5123451234") == "chat …1234"
    assert mask("-1001234567890") == "chat …7890"
    assert mask("5123451234", "sms") == "***"  # a chat id is not a phone
    assert mask("whatever") == "***"


# --- errors -----------------------------------------------------------------------------------------------------


def test_one_error_tree():
    permanent = [InvalidDestination, RecipientUnreachable, MessageRejected, ProviderAccountError, ChannelNotConfigured]
    for error in permanent:
        assert issubclass(error, PermanentNotificationError) and issubclass(error, NotificationError)
        assert not error("x").retryable
    for error in (Throttled, ProviderUnavailable):
        assert issubclass(error, TransientNotificationError) and issubclass(error, NotificationError)
    assert Throttled("slow down", retry_after=0).retry_after == 1  # always a positive hint
    assert Throttled("slow down", retry_after=30).retryable
    assert ProviderUnavailable("down").retry_after is None
    assert len({e.kind for e in [*permanent, Throttled, ProviderUnavailable]}) == 7


# --- settings -----------------------------------------------------------------------------------------------------


def test_default_settings_are_the_dev_inbox():
    settings = NotificationSettings()
    assert settings.dev_inbox and settings.channels == () and settings.sms.base_url == "https://smsc.ru"
    assert NotificationSettings.model_validate({}) == settings


def test_settings_validation():
    full = NotificationSettings.model_validate(
        {
            "channels": ["telegram", "sms", "email"],
            "email": {"host": "smtp.example.com", "from_address": "noreply@example.com", "username": "u"},
            "sms": {"sender": "Loyalty"},
            "telegram": {"bot_username": "@loyalty_bot"},
        }
    )
    assert full.telegram is not None and full.telegram.bot_username == "loyalty_bot"
    assert full.email is not None and (full.email.port, full.email.security) == (587, "starttls")
    bad = [
        {"channels": ["email"]},  # no SMTP settings
        {"channels": ["telegram"]},
        {"channels": ["sms", "sms"]},
        {"channels": ["fax"]},
        {"sms": {"base_url": "http://smsc.ru"}},  # the key would travel in clear
        {"telegram": {"bot_username": "b", "base_url": "ftp://x"}},
        {"sms": {"sender": "Far too long sender"}},
        {"email": {"host": "h", "from_address": "not-an-address"}},
        {"sender_name": "a\nb"},
        {"unknown": 1},
    ]
    for data in bad:
        with pytest.raises(ValidationError):
            NotificationSettings.model_validate(data)
    local = NotificationSettings.model_validate({"sms": {"base_url": "http://127.0.0.1:9000/"}})
    assert local.sms.base_url == "http://127.0.0.1:9000"


# --- secrets ----------------------------------------------------------------------------------------------------


class CountingSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []

    def get(self, name: str) -> str | None:
        self.asked.append(name)
        return self.values.get(name)


def test_secrets_are_read_only_when_a_message_goes_out():
    secrets = CountingSecrets({})
    settings = NotificationSettings.model_validate(
        {"channels": ["sms", "telegram"], "telegram": {"bot_username": "loyalty_bot"}}
    )
    notifier = notifier_for(settings, secrets, dev_inbox=False)
    assert secrets.asked == []
    with pytest.raises(ChannelNotConfigured, match=SMS_API_KEY):
        notifier.send(Message(channel="sms", to="+79161234567", text="x", purpose="sign_in"))
    assert secrets.asked == [SMS_API_KEY]


def test_stored_secrets_come_from_the_environment_locally(monkeypatch):
    monkeypatch.setenv("LOYALTY_SMS_API_KEY", "from-env")
    monkeypatch.delenv("LOYALTY_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("LOYALTY_SMTP_PASSWORD_PARAM", raising=False)
    secrets = StoredSecrets()
    assert secrets.get("LOYALTY_SMS_API_KEY") == "from-env"
    monkeypatch.setenv("LOYALTY_SMS_API_KEY", "changed")
    assert secrets.get("LOYALTY_SMS_API_KEY") == "from-env"  # kept for the instance's life
    assert secrets.get("LOYALTY_SMTP_PASSWORD") is None


def test_stored_secrets_come_from_ssm_in_aws(monkeypatch):
    with mock_aws():
        import boto3

        ssm = boto3.client("ssm", region_name="eu-central-1")
        ssm.put_parameter(Name="/cl/sms-api-key", Value="k3y", Type="SecureString")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        monkeypatch.setenv("LOYALTY_SMS_API_KEY_PARAM", "/cl/sms-api-key")
        monkeypatch.setenv("LOYALTY_TELEGRAM_BOT_TOKEN_PARAM", "/cl/not-created-yet")
        secrets = StoredSecrets()
        assert secrets.get("LOYALTY_SMS_API_KEY") == "k3y"
        assert secrets.get("LOYALTY_TELEGRAM_BOT_TOKEN") is None  # a missing parameter: the channel is not set up
    assert SECRET_NAMES == ("LOYALTY_SMTP_PASSWORD", "LOYALTY_SMS_API_KEY", "LOYALTY_TELEGRAM_BOT_TOKEN")


# --- the factory ----------------------------------------------------------------------------------------------------


def adapters(router: ChannelRouter) -> dict[str, type]:
    return {channel: type(router._adapters[channel]) for channel in router.channels}


def test_nothing_configured_means_the_dev_inbox_for_every_channel():
    assert adapters(notifier_for(NotificationSettings(), {}, dev_inbox=False)) == dict.fromkeys(
        ("sms", "email", "telegram"), DevInboxNotifier
    )


def test_make_run_puts_everything_in_the_dev_inbox_even_when_channels_are_configured(monkeypatch):
    settings = NotificationSettings.model_validate({"channels": ["sms"]})
    monkeypatch.setenv("LOYALTY_DEV_INBOX", "1")
    assert set(adapters(notifier_for(settings, {})).values()) == {DevInboxNotifier}
    monkeypatch.delenv("LOYALTY_DEV_INBOX")
    assert adapters(notifier_for(settings, {})) == {"sms": SmscNotifier}


def test_configured_channels_get_their_adapters_and_only_those():
    settings = NotificationSettings.model_validate(
        {
            "channels": ["email", "sms", "telegram"],
            "email": {"host": "smtp.example.com", "from_address": "noreply@example.com"},
            "telegram": {"bot_username": "loyalty_bot"},
        }
    )
    assert adapters(notifier_for(settings, {}, dev_inbox=False)) == {
        "email": SmtpNotifier,
        "sms": SmscNotifier,
        "telegram": TelegramNotifier,
    }
    only_sms = notifier_for(NotificationSettings.model_validate({"channels": ["sms"]}), {}, dev_inbox=False)
    with pytest.raises(ChannelNotConfigured, match="telegram channel is not enabled"):
        only_sms.send(Message(channel="telegram", to="5123451234", text="x", purpose="sign_in"))


def test_the_dev_inbox_refuses_to_exist_in_lambda(monkeypatch, caplog):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "coalition-loyalty-prod")
    monkeypatch.setenv("LOYALTY_DEV_INBOX", "1")  # even if someone set the flag
    notifier = notifier_for(NotificationSettings())
    message = Message(channel="sms", to="+79161234567", text="Код 550731", code="550731", purpose="sign_in")
    with pytest.raises(ChannelNotConfigured, match="does not exist in AWS"):
        notifier.send(message)
    assert "550731" not in caplog.text and "outcome=channel_not_configured" in caplog.text


def test_the_router_logs_outcomes_never_contents(caplog):
    class Fails:
        def send(self, message: Message) -> Delivery:
            raise ProviderAccountError("smsc error 3: no money", provider="smsc")

    caplog.set_level(logging.DEBUG)
    message = Message(channel="sms", to="+79161234567", text="Код 123456", code="123456", purpose="spend_code")
    with pytest.raises(ProviderAccountError) as caught:
        ChannelRouter({"sms": Fails()}).send(message)
    assert caught.value.channel == "sms"
    (record,) = caplog.records
    assert record.levelno == logging.ERROR  # the operator must act: alarm-worthy
    assert record.getMessage() == (
        "notify failed channel=sms to=+7 916 ***-**-67 purpose=spend_code provider=smsc outcome=provider_account "
        "retry=no retry_after=None reason=smsc error 3: no money"
    )
