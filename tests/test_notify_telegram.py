"""The Telegram adapter against a local server speaking the Bot API's sendMessage, and the linking helpers."""

from __future__ import annotations

import logging
import traceback

import pytest

from chalicelib.notify import (
    ChannelNotConfigured,
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
from chalicelib.notify.settings import TELEGRAM_BOT_TOKEN
from chalicelib.notify.telegram import StartCommand, deep_link, parse_start
from tests.notify_fakes import FakeTelegram, Forced

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
CHAT = 5123451234
TEXT = "Код для входа: 771204\nОн действует 10 минут."


@pytest.fixture
def telegram():
    server = FakeTelegram(TOKEN)
    server.chats.add(CHAT)
    yield server
    server.stop()


def tg(chat: int = CHAT, text: str = TEXT, code: str | None = "771204") -> Message:
    return Message(channel="telegram", to=str(chat), text=text, code=code, purpose="sign_in")


def notifier(server: FakeTelegram, token: str | None = TOKEN):
    settings = NotificationSettings.model_validate(
        {"channels": ["telegram"], "telegram": {"bot_username": "loyalty_test_bot", "base_url": server.url}}
    )
    return notifier_for(settings, {TELEGRAM_BOT_TOKEN: token} if token else {}, dev_inbox=False)


def test_success_posts_the_documented_json_and_returns_the_message_id(telegram):
    delivery = notifier(telegram).send(tg())
    assert (delivery.channel, delivery.provider, delivery.message_id) == ("telegram", "telegram", "41")
    assert delivery.destination == "chat …1234"
    request = telegram.last
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json() == {
        "chat_id": CHAT,  # a number, as the API documents it
        "text": TEXT,
        "link_preview_options": {"is_disabled": True},
        "protect_content": True,  # it carries a code
    }


def test_a_link_without_a_code_is_not_protected(telegram):
    notifier(telegram).send(tg(text="Ваша страница: https://loyalty.example/me?token=abc", code=None))
    assert "protect_content" not in telegram.last.json()


def test_blocked_bot_is_unreachable(telegram):
    telegram.blocked.add(CHAT)
    with pytest.raises(RecipientUnreachable) as caught:
        notifier(telegram).send(tg())
    assert not caught.value.retryable
    assert caught.value.reason == "telegram 403: Forbidden: bot was blocked by the user"


def test_flood_control_is_throttled_with_retry_after(telegram):
    telegram.flood_retry_after = 17
    with pytest.raises(Throttled) as caught:
        notifier(telegram).send(tg())
    assert caught.value.retryable and caught.value.retry_after == 17


def test_unknown_chat_is_an_invalid_destination(telegram):
    with pytest.raises(InvalidDestination, match="chat not found"):
        notifier(telegram).send(tg(chat=777))


def test_a_group_that_became_a_supergroup_is_an_invalid_destination(telegram):
    telegram.forced = Forced(
        400,
        b'{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat",'
        b'"parameters":{"migrate_to_chat_id":-1001234567890}}',
    )
    with pytest.raises(InvalidDestination):
        notifier(telegram).send(tg())


def test_other_bad_requests_are_rejected_messages(telegram):
    telegram.forced = Forced(400, b'{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}')
    with pytest.raises(MessageRejected):
        notifier(telegram).send(tg())


def test_a_wrong_token_is_an_account_error_and_never_shown(telegram, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "999999:ZZZ-wrong-token-value-0123456789"
    with pytest.raises(ProviderAccountError) as caught:
        notifier(telegram, token=wrong).send(tg())
    shown = "".join(traceback.format_exception(caught.value)) + caplog.text
    assert wrong not in shown and TOKEN not in shown


def test_a_missing_token_means_the_channel_is_not_configured(telegram):
    with pytest.raises(ChannelNotConfigured, match="LOYALTY_TELEGRAM_BOT_TOKEN"):
        notifier(telegram, token=None).send(tg())
    assert telegram.requests == []


def test_a_token_that_could_reshape_the_url_is_refused(telegram):
    with pytest.raises(ProviderAccountError):
        notifier(telegram, token="123:abc/../../other?x=").send(tg())
    assert telegram.requests == []


@pytest.mark.parametrize(
    "forced",
    [Forced(502, b"<html>Bad Gateway</html>"), Forced(500, b'{"ok":false,"error_code":500,"description":"Internal"}')],
)
def test_server_errors_are_transient(telegram, forced):
    telegram.forced = forced
    with pytest.raises(ProviderUnavailable) as caught:
        notifier(telegram).send(tg())
    assert caught.value.retryable


def test_api_down_is_transient(telegram):
    telegram.stop()
    with pytest.raises(ProviderUnavailable):
        notifier(telegram).send(tg())


def test_logs_carry_neither_text_nor_code(telegram, caplog):
    caplog.set_level(logging.DEBUG)
    n = notifier(telegram)
    n.send(tg())
    telegram.blocked.add(CHAT)
    with pytest.raises(RecipientUnreachable):
        n.send(tg())
    assert "notify sent channel=telegram to=chat …1234 purpose=sign_in provider=telegram id=41" in caplog.text
    assert "outcome=recipient_unreachable retry=no" in caplog.text
    for secret in ("771204", "Код для входа", "Он действует", TOKEN, str(CHAT)):
        assert secret not in caplog.text


# --- linking --------------------------------------------------------------------------------------------------


def test_deep_link():
    assert deep_link("loyalty_test_bot", "tok_AZaz09-_") == "https://t.me/loyalty_test_bot?start=tok_AZaz09-_"
    assert deep_link("@loyalty_test_bot", "x") == "https://t.me/loyalty_test_bot?start=x"
    for bad in ("", "a" * 65, "with space", "a/b", "a=b", "ключ"):
        with pytest.raises(ValueError):
            deep_link("loyalty_test_bot", bad)
    with pytest.raises(ValueError):
        deep_link("bad name", "x")


def update(text: str, chat_type: str = "private", chat_id: int = CHAT, key: str = "message") -> dict:
    return {
        "update_id": 900001,
        key: {
            "message_id": 7,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Анна"},
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Анна"},
            "date": 1_796_000_000,
            "text": text,
            "entities": [{"offset": 0, "length": 6, "type": "bot_command"}],
        },
    }


def test_parse_start_reads_chat_id_and_token():
    assert parse_start(update("/start tok_123-abc")) == StartCommand(str(CHAT), "tok_123-abc")
    assert parse_start(update("/start@loyalty_test_bot tok_1"), "loyalty_test_bot") == StartCommand(str(CHAT), "tok_1")
    assert parse_start(update("/start@Loyalty_Test_Bot tok_1"), "@loyalty_test_bot") is not None


@pytest.mark.parametrize(
    "bad",
    [
        update("/start"),  # no token: the bot was opened without a link
        update("/start a/b"),
        update("/start " + "a" * 65),
        update("/start tok extra"),
        update("hello tok"),
        update("/started tok"),
        update("/start tok", chat_type="group"),  # a group must never be linked to a customer
        update("/start tok", key="edited_message"),
        update("/start@other_bot tok"),
        {"update_id": 1},
        {"update_id": 1, "message": {"chat": {"id": "5", "type": "private"}, "text": "/start tok"}},
        {"update_id": 1, "message": {"chat": {"id": 5, "type": "private"}}},
    ],
)
def test_parse_start_ignores_everything_else(bad):
    assert parse_start(bad, "loyalty_test_bot") is None
