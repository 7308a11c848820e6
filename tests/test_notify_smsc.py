"""The SMSC adapter against a local server speaking send.php (fmt=3): the request it sends, success, each error."""

from __future__ import annotations

import logging

import pytest

from chalicelib.notify import (
    InvalidDestination,
    Message,
    MessageRejected,
    NotificationSettings,
    ProviderAccountError,
    ProviderUnavailable,
    RecipientUnreachable,
    Throttled,
    notifier_for,
)
from chalicelib.notify.settings import SMS_API_KEY
from tests.notify_fakes import FakeSmsc, Forced

KEY = "smsc-test-key"
TEXT = "Ваш код для списания баллов: 482913. Никому его не сообщайте."


@pytest.fixture
def smsc():
    server = FakeSmsc(KEY)
    yield server
    server.stop()


def sms(to: str = "+79161234567", text: str = TEXT, code: str | None = "482913") -> Message:
    return Message(channel="sms", to=to, text=text, code=code, purpose="spend_code")


def notifier(server: FakeSmsc, key: str = KEY, sender: str | None = "Loyalty"):
    settings = NotificationSettings.model_validate(
        {"channels": ["sms"], "sms": {"base_url": server.url, "sender": sender}}
    )
    return notifier_for(settings, {SMS_API_KEY: key}, dev_inbox=False)


def test_success_sends_the_documented_parameters_and_returns_the_id(smsc):
    delivery = notifier(smsc).send(sms())
    assert (delivery.channel, delivery.provider, delivery.message_id) == ("sms", "smsc", "1001")
    assert delivery.destination == "+7 916 ***-**-67"
    request = smsc.last
    assert request.method == "POST" and request.path == "/sys/send.php"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert request.form() == {
        "apikey": KEY,
        "phones": "+79161234567",  # with the +: SMSC leaves the number alone
        "mes": TEXT,  # UTF-8, intact
        "fmt": "3",
        "charset": "utf-8",
        "sender": "Loyalty",
    }


def test_no_sender_id_means_the_providers_default(smsc):
    notifier(smsc, sender=None).send(sms())
    assert "sender" not in smsc.last.form()


def test_bad_key_is_an_account_error(smsc):
    with pytest.raises(ProviderAccountError) as caught:
        notifier(smsc, key="wrong").send(sms())
    assert not caught.value.retryable and "error 2" in caught.value.reason


def test_insufficient_balance_is_an_account_error(smsc):
    smsc.balance_rub = 0
    with pytest.raises(ProviderAccountError, match="error 3"):
        notifier(smsc).send(sms())


def test_a_number_the_gateway_cannot_parse_is_an_invalid_destination(smsc):
    # E.164 by our rules, but no Russian number has 14 digits
    with pytest.raises(InvalidDestination, match="error 7"):
        notifier(smsc).send(sms(to="+79161234567890"))


def test_an_undeliverable_number_is_unreachable(smsc):
    smsc.undeliverable.add("+79161234567")
    with pytest.raises(RecipientUnreachable, match="error 8"):
        notifier(smsc).send(sms())


def test_the_same_message_twice_within_a_minute_is_throttled(smsc):
    n = notifier(smsc)
    n.send(sms())
    with pytest.raises(Throttled) as caught:
        n.send(sms())
    assert caught.value.retryable and caught.value.retry_after == 60


@pytest.mark.parametrize(
    ("code", "error"),
    [(1, MessageRejected), (4, Throttled), (5, MessageRejected), (6, MessageRejected), (99, ProviderUnavailable)],
)
def test_every_documented_error_code_has_its_class(smsc, code, error):
    smsc.forced = Forced(200, b'{"error": "x", "error_code": %d}' % code)
    with pytest.raises(error):
        notifier(smsc).send(sms())


@pytest.mark.parametrize(
    ("forced", "error"),
    [
        (Forced(502, b"<html>Bad gateway</html>"), ProviderUnavailable),
        (Forced(200, b"not json"), ProviderUnavailable),
        (Forced(200, b'{"cnt": 1}'), ProviderUnavailable),
        (Forced(429, b"", {"Retry-After": "7"}), Throttled),
    ],
)
def test_gateway_trouble_is_transient(smsc, forced, error):
    smsc.forced = forced
    with pytest.raises(error) as caught:
        notifier(smsc).send(sms())
    assert caught.value.retryable
    if error is Throttled:
        assert caught.value.retry_after == 7


def test_gateway_down_is_transient(smsc):
    smsc.stop()
    with pytest.raises(ProviderUnavailable) as caught:
        notifier(smsc).send(sms())
    assert caught.value.retryable and "unreachable" in caught.value.reason


def test_logs_carry_neither_text_nor_code_nor_key(smsc, caplog):
    caplog.set_level(logging.DEBUG)
    n = notifier(smsc)
    n.send(sms())
    with pytest.raises(Throttled):
        n.send(sms())
    with pytest.raises(ProviderAccountError):
        notifier(smsc, key="wrong-key-value").send(sms(to="+79161230000"))
    assert "notify sent channel=sms to=+7 916 ***-**-67 purpose=spend_code provider=smsc id=1001" in caplog.text
    assert "outcome=throttled retry=yes retry_after=60" in caplog.text
    for secret in (TEXT, "482913", KEY, "wrong-key-value", "+79161234567", "9161234567"):
        assert secret not in caplog.text
