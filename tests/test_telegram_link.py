"""The customer links the Telegram bot from their page.

Over HTTP with the app's test client: the signed-in customer presses "Connect Telegram", takes the deep link's
token to the bot, and Telegram posts ``/start <token>`` to ``POST /telegram/webhook`` with the webhook's secret. The
bot's answers and later messages go to a local server speaking the Bot API's ``sendMessage`` (tests/notify_fakes.py).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import last_code, table_snapshot
from tests.notify_fakes import FakeTelegram
from tests.test_api_ledger import enrol
from tests.test_customer_reach import Customer

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
SECRET = "webhook-secret-Xy7_k2"
BOT = "loyalty_test_bot"
ANNA, BORIS = "+79161234567", "+79167654321"
ANNA_CHAT, BORIS_CHAT, GROUP_CHAT = 5123451234, 5999990001, -1001234567890
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def bot(monkeypatch):
    server = FakeTelegram(TOKEN)
    server.chats.update({ANNA_CHAT, BORIS_CHAT, GROUP_CHAT})
    monkeypatch.setenv("LOYALTY_TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LOYALTY_TELEGRAM_WEBHOOK_SECRET", SECRET)
    yield server
    server.stop()


@pytest.fixture
def world(api, bot):
    """Anna and Борис, each signed in on their phone (codes by the development inbox), then the program switches
    its Telegram bot on (the fake Bot API) with SMS as the other channel."""
    partner = api.as_key(api.post("/v1/admin/partners", {"name": "Уют"}).json["api_key"])
    ids = {"anna": enrol(partner, phone=ANNA, name="Анна"), "boris": enrol(partner, phone=BORIS, name="Борис")}
    browsers = {}
    for name, phone in (("anna", ANNA), ("boris", BORIS)):
        browsers[name] = Customer(api.http)
        assert (
            browsers[name].sign_in(phone, code_from=lambda phone=phone: last_code("sign_in", phone)).status_code == 303
        )
    telegram = {"bot_username": BOT, "base_url": bot.url}
    program = api.call(
        "PUT", "/v1/admin/program", {"notifications": {"channels": ["telegram", "sms"], "telegram": telegram}}
    )
    assert program.status == 200, program.json
    return {"api": api, "partner": partner, "ids": ids, "bot": bot, **browsers}


def connect(browser: Customer) -> str:
    """Press "Connect Telegram"; the token of the deep link the page shows."""
    form = browser.forms(browser.page("/me"))["/me/telegram/connect"]
    shown = browser.submit("/me/telegram/connect", form)
    assert shown.status_code == 200, shown.body
    text = shown.body.decode()
    match = re.search(rf'href="https://t\.me/{BOT}\?start=([A-Za-z0-9_-]+)"', text)
    assert match is not None and 'data-testid="telegram-qr"' in text, text
    assert len(match.group(1)) <= 64
    return match.group(1)


def update(token: str, chat: int = ANNA_CHAT, update_id: int = 1, kind: str = "private", lang: str = "ru") -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7,
            "date": 1773133200,
            "chat": {"id": chat, "type": kind, **({"first_name": "Анна"} if kind == "private" else {"title": "Семья"})},
            "from": {"id": abs(chat), "is_bot": False, "first_name": "Анна", "language_code": lang},
            "text": f"/start {token}",
        },
    }


def webhook(w, body: dict, secret: str | None = SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    return w["api"].http.post("/telegram/webhook", headers=headers, body=json.dumps(body))


def chat_of(w, who: str) -> str | None:
    from chalicelib.db import customers

    customer = customers.load(w["ids"][who])
    assert customer is not None
    return customer.telegram_chat_id


def sent(w) -> list[dict]:
    return [r.json() for r in w["bot"].requests]


def test_the_customer_links_the_bot_and_gets_messages_there(world, caplog):
    w = world
    caplog.set_level(logging.DEBUG)
    anna = w["anna"]
    page = anna.page("/me")
    assert "Подключить Telegram" in page and 'data-testid="telegram-connected"' not in page
    token = connect(anna)
    assert chat_of(w, "anna") is None  # nothing is linked until Telegram delivers the Start

    answer = webhook(w, update(token))
    assert answer.status_code == 200 and json.loads(answer.body) == {"ok": True, "outcome": "linked"}
    assert chat_of(w, "anna") == str(ANNA_CHAT)
    (reply,) = sent(w)
    assert reply["chat_id"] == ANNA_CHAT and reply["text"].startswith("Готово: Telegram подключён")

    page = anna.page("/me")
    assert 'data-testid="telegram-connected"' in page and '<option value="telegram"' in page
    form = anna.forms(page)["/me/settings"]
    assert anna.submit("/me/settings", {**form, "locale": "ru", "channel": "telegram"}).status_code == 303
    assert w["partner"].post(f"/v1/customers/{w['ids']['anna']}/spend-code").json["channel"] == "telegram"
    code_message = sent(w)[-1]
    assert code_message["chat_id"] == ANNA_CHAT and code_message["protect_content"] is True
    assert "код для списания" in code_message["text"]
    assert token not in caplog.text  # the token is never logged
    items = json.dumps(table_snapshot())
    assert token not in items and f"TGCHAT#{ANNA_CHAT}" in items  # stored hashed; the chat is claimed


def test_a_wrong_or_missing_secret_is_401_and_changes_nothing(world):
    w = world
    token = connect(w["anna"])
    before = table_snapshot()
    for secret in (None, "", "wrong", SECRET + "x", SECRET[:-1]):
        answer = webhook(w, update(token), secret=secret)
        assert answer.status_code == 401, (secret, answer.status_code)
    assert table_snapshot() == before and sent(w) == []
    assert webhook(w, update(token)).status_code == 200 and chat_of(w, "anna") == str(ANNA_CHAT)  # still usable


def test_the_webhook_is_closed_without_a_secret(world, monkeypatch):
    monkeypatch.delenv("LOYALTY_TELEGRAM_WEBHOOK_SECRET")
    token = connect(world["anna"])
    assert webhook(world, update(token)).status_code == 401
    assert webhook(world, update(token), secret="").status_code == 401
    assert chat_of(world, "anna") is None


def test_an_expired_token_links_nothing(world, clock):
    w = world
    token = connect(w["anna"])
    clock.advance(timedelta(minutes=15))
    answer = webhook(w, update(token))
    assert answer.status_code == 200 and json.loads(answer.body)["outcome"] == "invalid"
    assert chat_of(w, "anna") is None
    (reply,) = sent(w)
    assert reply["chat_id"] == ANNA_CHAT and "устарела или уже использована" in reply["text"]
    fresh = connect(w["anna"])  # a new press, a new link
    clock.advance(timedelta(minutes=14))
    assert json.loads(webhook(w, update(fresh)).body)["outcome"] == "linked"


def test_a_redelivered_update_or_a_second_start_links_once(world):
    w = world
    token = connect(w["anna"])
    first = webhook(w, update(token, update_id=10))
    after_first = table_snapshot()
    again = webhook(w, update(token, update_id=10))  # Telegram delivers it again
    twice = webhook(w, update(token, update_id=11))  # the customer presses Start twice
    assert [a.status_code for a in (first, again, twice)] == [200, 200, 200]
    assert {json.loads(a.body)["outcome"] for a in (first, again, twice)} == {"linked"}
    assert table_snapshot() == after_first and chat_of(w, "anna") == str(ANNA_CHAT)
    links = [i for i in after_first if i["pk"]["S"].startswith("TGLINK#")]
    assert len(links) == 1 and links[0]["used_chat_id"]["S"] == str(ANNA_CHAT)


def test_a_used_token_cannot_be_replayed_from_another_chat(world):
    w = world
    token = connect(w["anna"])
    assert json.loads(webhook(w, update(token)).body)["outcome"] == "linked"
    stolen = webhook(w, update(token, chat=BORIS_CHAT, update_id=2, lang="en"))
    assert stolen.status_code == 200 and json.loads(stolen.body)["outcome"] == "invalid"
    assert chat_of(w, "anna") == str(ANNA_CHAT) and chat_of(w, "boris") is None
    assert sent(w)[-1]["chat_id"] == BORIS_CHAT and "expired or was already used" in sent(w)[-1]["text"]


def test_a_chat_belongs_to_one_customer(world):
    w = world
    assert json.loads(webhook(w, update(connect(w["anna"]))).body)["outcome"] == "linked"
    borises = connect(w["boris"])
    taken = webhook(w, update(borises, chat=ANNA_CHAT, update_id=2))  # Anna's chat opens Борис's link
    assert json.loads(taken.body)["outcome"] == "taken"
    assert chat_of(w, "anna") == str(ANNA_CHAT) and chat_of(w, "boris") is None
    assert json.loads(webhook(w, update(borises, chat=BORIS_CHAT, update_id=3)).body)["outcome"] == "linked"


def test_a_token_opened_in_a_group_is_ignored(world):
    w = world
    token = connect(w["anna"])
    for kind in ("group", "supergroup", "channel"):
        answer = webhook(w, update(token, chat=GROUP_CHAT, kind=kind))
        assert answer.status_code == 200 and json.loads(answer.body)["outcome"] == "ignored"
    assert chat_of(w, "anna") is None and sent(w) == []
    assert json.loads(webhook(w, update(token)).body)["outcome"] == "linked"  # the token is still good


def test_updates_that_are_not_a_start_are_answered_200_and_ignored(world):
    w = world
    for body in (
        {"update_id": 5},
        {"update_id": 6, "message": {"chat": {"id": ANNA_CHAT, "type": "private"}, "text": "привет"}},
        {"update_id": 7, "edited_message": {"chat": {"id": ANNA_CHAT, "type": "private"}, "text": "/start abc"}},
        update("not a token!"),
    ):
        answer = webhook(w, body)
        assert answer.status_code == 200 and json.loads(answer.body)["outcome"] == "ignored", body
    unknown = webhook(w, update("A" * 43))
    assert json.loads(unknown.body)["outcome"] == "invalid" and chat_of(w, "anna") is None
    assert webhook(w, {"no": "update_id"}).status_code == 422


def test_disconnecting_unlinks_the_chat_and_the_channel_falls_back(world):
    w = world
    anna = w["anna"]
    assert json.loads(webhook(w, update(connect(anna))).body)["outcome"] == "linked"
    form = anna.forms(anna.page("/me"))["/me/settings"]
    assert anna.submit("/me/settings", {**form, "locale": "ru", "channel": "telegram"}).status_code == 303
    page = anna.page("/me")
    assert anna.submit("/me/telegram/disconnect", {"csrf": "forged"}).status_code == 403
    done = anna.submit("/me/telegram/disconnect", anna.forms(page)["/me/telegram/disconnect"])
    assert done.status_code == 303 and chat_of(w, "anna") is None
    page = anna.page("/me")
    assert "Подключить Telegram" in page and '<option value="telegram"' not in page
    assert f"TGCHAT#{ANNA_CHAT}" not in json.dumps(table_snapshot())  # the chat is free again
    from chalicelib.db import customers

    assert customers.load(w["ids"]["anna"]).channel is None  # messages go by the program's order: SMS
    # the same chat links again with a new link, or to Борис
    assert json.loads(webhook(w, update(connect(w["boris"]), update_id=9)).body)["outcome"] == "linked"


def test_no_bot_no_button(api, bot):
    partner = api.as_key(api.post("/v1/admin/partners", {"name": "Уют"}).json["api_key"])
    enrol(partner, phone=ANNA, name="Анна")
    anna = Customer(api.http)
    assert anna.sign_in(ANNA).status_code == 303
    page = anna.page("/me")
    assert "/me/telegram/connect" not in page
    assert anna.submit("/me/telegram/connect", anna.forms(page)["/me/settings"]).status_code == 409


def test_deleting_the_account_frees_the_chat(world):
    w = world
    anna = w["anna"]
    assert json.loads(webhook(w, update(connect(anna))).body)["outcome"] == "linked"
    form = anna.forms(anna.page("/me/delete"))["/me/delete"]
    assert anna.submit("/me/delete", {**form, "confirm": "on"}).status_code == 200
    assert chat_of(w, "anna") is None and f"TGCHAT#{ANNA_CHAT}" not in json.dumps(table_snapshot())
    assert json.loads(webhook(w, update(connect(w["boris"]), update_id=2)).body)["outcome"] == "linked"


# --- found in review: each failed before its fix ---------------------------------------------------------------------


def outcome(w, body: dict) -> str:
    answer = webhook(w, body)
    assert answer.status_code == 200, answer.body
    return str(json.loads(answer.body)["outcome"])


def test_only_the_newest_link_binds_so_an_older_one_cannot_take_the_chat_over(world):
    """Anna pressed Connect on her computer (the QR stays on its screen), then on her phone, and linked with the
    phone's link. Whoever has the first link must not move her codes to their own chat."""
    w, anna = world, world["anna"]
    on_the_computer, on_the_phone = connect(anna), connect(anna)
    assert outcome(w, update(on_the_computer, chat=BORIS_CHAT)) == "invalid"  # pressed again: the first one is void
    assert outcome(w, update(on_the_phone, update_id=2)) == "linked" and chat_of(w, "anna") == str(ANNA_CHAT)
    assert outcome(w, update(on_the_computer, chat=BORIS_CHAT, update_id=3)) == "invalid"
    assert chat_of(w, "anna") == str(ANNA_CHAT)


def test_disconnecting_voids_a_link_shown_before(world):
    """A link made while linked (the form posted again) dies with the disconnect."""
    w, anna = world, world["anna"]
    assert outcome(w, update(connect(anna))) == "linked"
    form = anna.forms(anna.page("/me"))["/me/telegram/disconnect"]
    shown = anna.submit("/me/telegram/connect", form).body.decode()  # the same CSRF token, the connect action
    match = re.search(r"start=([A-Za-z0-9_-]+)", shown)
    assert match is not None, shown
    assert anna.submit("/me/telegram/disconnect", form).status_code == 303 and chat_of(w, "anna") is None
    assert outcome(w, update(match.group(1), chat=BORIS_CHAT, update_id=2)) == "invalid"
    assert chat_of(w, "anna") is None


def test_deleting_the_account_while_telegram_links_it_leaves_no_claim_behind(world, monkeypatch):
    """The update lands between the deletion's read and its commit: the deletion reads again and frees the chat."""
    from chalicelib.db import customers as customers_db
    from chalicelib.services import customer_self

    w = world
    token = connect(w["anna"])
    erase = customers_db.erase
    raced: list[str] = []

    def racing_erase(tx: Any, customer: Any, now_iso: str, **kw: Any) -> None:
        if not raced:
            raced.append(outcome(w, update(token, update_id=2)))
        erase(tx, customer, now_iso, **kw)

    monkeypatch.setattr(customers_db, "erase", racing_erase)
    customer_self.delete(w["ids"]["anna"], _now())
    assert raced == ["linked"]
    assert not [i for i in table_snapshot() if i["pk"]["S"].startswith("TGCHAT#")]  # no claim of a deleted account
    assert outcome(w, update(connect(w["boris"]), update_id=3)) == "linked"  # the chat is free for a new account


def _now() -> Any:
    from chalicelib import runtime

    return runtime.get().clock.now()


@pytest.mark.parametrize("chat", [2**52, -(2**52), 10**30, -(10**2100)], ids=["2^52", "-2^52", "10^30", "-10^2100"])
def test_a_chat_id_telegram_never_sends_is_ignored_not_a_500(world, chat):
    w = world
    token = connect(w["anna"])
    assert outcome(w, update(token, chat=chat)) == "ignored"
    assert chat_of(w, "anna") is None
