"""In a real browser (Chromium, phone-sized): the signed-in customer connects the program's Telegram bot from
their page (a deep link and its QR), Telegram delivers ``/start <token>`` to the webhook, and the page says Telegram
is connected and lets them disconnect it, in Russian and in English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_customer_sign_in import _customer, _sign_in

BOT = "coalition_test_bot"
SECRET = "browser-webhook-secret"
TEXTS = {
    "ru": {"connect": "Подключить Telegram", "open": "Открыть Telegram", "connected": "Telegram подключён"},
    "en": {"connect": "Connect Telegram", "open": "Open Telegram", "connected": "Telegram connected"},
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_connect_the_bot_from_the_phone_and_disconnect_it(live, phone, lang, monkeypatch):
    monkeypatch.setenv("LOYALTY_TELEGRAM_WEBHOOK_SECRET", SECRET)  # the API server runs in this process
    _customer(live, lang)
    put = live.request(
        "PUT", "/v1/admin/program", live.operator_key, {"notifications": {"telegram": {"bot_username": BOT}}}
    )
    assert put.status_code == 200, put.text
    _sign_in(live, phone, lang)
    t = TEXTS[lang]

    phone.get_by_test_id("telegram-connect").click()
    link = phone.get_by_test_id("telegram-link")
    expect(link).to_have_text(t["open"])
    href = link.get_attribute("href") or ""
    match = re.fullmatch(rf"https://t\.me/{BOT}\?start=([A-Za-z0-9_-]{{1,64}})", href)
    assert match is not None, href
    qr = phone.get_by_test_id("telegram-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0  # the CSP lets the QR load
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, f"customer-telegram-link-{lang}-390x844")

    start = {
        "update_id": 10,
        "message": {
            "message_id": 1,
            "date": 1773133200,
            "chat": {"id": 5123451234, "type": "private", "first_name": "Анна"},
            "text": f"/start {match.group(1)}",
        },
    }
    forged = live.request("POST", "/telegram/webhook", body=start, headers={"X-Telegram-Bot-Api-Secret-Token": "no"})
    assert forged.status_code == 401
    done = live.request("POST", "/telegram/webhook", body=start, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert done.status_code == 200 and done.json()["outcome"] == "linked", done.text

    phone.goto(f"{live.url}/me?lang={lang}")
    expect(phone.get_by_test_id("telegram-connected")).to_contain_text(t["connected"])
    phone.get_by_test_id("telegram-connected").scroll_into_view_if_needed()
    screenshot(phone, f"customer-telegram-connected-{lang}-390x844")
    phone.get_by_test_id("telegram-disconnect").click()
    expect(phone.get_by_test_id("telegram-connect")).to_have_text(t["connect"])
    expect(phone.get_by_test_id("telegram-connected")).to_have_count(0)
    expect(phone.get_by_test_id("available")).to_be_visible()
