"""In a real browser (Chromium, phone-sized): the customer signs in with a one-time code, shows a code and
its QR to pay with points, the till spends with it once, and the customer signs out, in Russian and in English."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import last_code

PHONE = "+79161234567"
TEXTS = {
    "ru": {"send": "Получить код", "enter": "Войти", "pay": "Показать код", "out": "Выйти", "hello": "Здравствуйте"},
    "en": {"send": "Send me a code", "enter": "Sign in", "pay": "Show a code", "out": "Sign out", "hello": "Hello"},
}


def _customer(live: Any, locale: str) -> tuple[str, str]:
    """A partner with the default policy (the customer's code for every spend) and Anna with 500 points."""
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "max_redeem_share_bps": 10_000}).json()
    key = cafe["api_key"]
    body = {"phone": PHONE, "name": "Анна", "locale": locale}
    cid = live.request("POST", "/v1/customers", key, body).json()["customer_id"]
    live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 1_000_000})
    return key, cid


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_sign_in_pay_with_a_code_and_its_qr_then_sign_out(live, phone, lang):
    key, cid = _customer(live, lang)
    t = TEXTS[lang]
    phone.goto(f"{live.url}/me?lang={lang}")
    assert phone.url.startswith(f"{live.url}/me/sign-in")  # no session: the sign-in page
    assert phone.locator("html").get_attribute("lang") == lang
    screenshot(phone, f"customer-sign-in-{lang}-390x844")
    phone.locator("#identifier").fill("8 916 123-45-67")
    phone.get_by_role("button", name=t["send"]).click()
    code_field = phone.locator("#one-time-code")
    expect(code_field).to_be_visible()  # waits for the page the press navigated to
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    screenshot(phone, f"customer-sign-in-code-{lang}-390x844")
    code_field.fill(last_code("sign_in", PHONE))
    phone.get_by_role("button", name=t["enter"], exact=True).click()
    expect(phone).to_have_url(re.compile(re.escape(f"{live.url}/me?lang={lang}") + "$"))
    expect(phone.get_by_text(t["hello"] + ", Анна!")).to_have_count(1)
    expect(phone.get_by_test_id("available")).to_have_text("500")

    phone.get_by_role("button", name=t["pay"]).click()
    expect(phone.get_by_test_id("spend-code")).to_be_visible()
    shown = phone.get_by_test_id("spend-code").inner_text()
    digits = re.sub(r"\D", "", shown)
    assert len(digits) == 6 and shown == f"{digits[:3]} {digits[3:]}"
    qr = phone.get_by_test_id("spend-qr")
    assert qr.is_visible() and qr.evaluate("img => img.complete && img.naturalWidth") > 0  # the CSP lets it load
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, f"customer-spend-code-{lang}-390x844")

    body = {"customer_id": cid, "order_id": "T-1", "order_amount_minor": 100_000, "points": 100}
    assert live.request("POST", "/v1/redemptions", key, body).status_code == 403  # the till without the code
    spent = live.request("POST", "/v1/redemptions", key, {**body, "customer_code": digits})
    assert spent.status_code == 201, spent.text
    again = live.request("POST", "/v1/redemptions", key, {**body, "order_id": "T-2", "customer_code": digits})
    assert again.status_code == 403  # once

    phone.goto(f"{live.url}/me?lang={lang}")
    assert phone.get_by_test_id("available").inner_text() == "400"
    phone.get_by_test_id("sign-out").click()
    expect(phone).to_have_url(re.compile("/me/sign-in"))
    phone.goto(f"{live.url}/me")
    expect(phone).to_have_url(re.compile("/me/sign-in"))
    expect(phone.get_by_test_id("available")).to_have_count(0)


def test_a_wrong_code_says_how_many_tries_are_left(live, phone):
    _customer(live, "ru")
    phone.goto(f"{live.url}/me/sign-in")
    phone.locator("#identifier").fill(PHONE)
    phone.get_by_role("button", name="Получить код").click()
    right = last_code("sign_in", PHONE)
    phone.locator("#one-time-code").fill("000000" if right != "000000" else "111111")
    phone.get_by_role("button", name="Войти", exact=True).click()
    expect(phone.get_by_role("alert")).to_contain_text("Осталось попыток: 4")
    screenshot(phone, "customer-sign-in-wrong-code-ru-390x844")
    phone.locator("#one-time-code").fill(right)
    phone.get_by_role("button", name="Войти", exact=True).click()
    expect(phone.get_by_test_id("available")).to_have_text("500")


def _sign_in(live: Any, page: Any, lang: str) -> None:
    t = TEXTS[lang]
    page.goto(f"{live.url}/me/sign-in?lang={lang}")
    page.locator("#identifier").fill(PHONE)
    page.get_by_role("button", name=t["send"]).click()
    page.locator("#one-time-code").fill(last_code("sign_in", PHONE))
    page.get_by_role("button", name=t["enter"], exact=True).click()
    expect(page.get_by_test_id("available")).to_be_visible()  # signed in, on the customer's page


DELETE = {
    "ru": {"save": "Сохранить", "forfeit": "Ваши 500 доступных баллов сгорят сразу.", "done": "Аккаунт удалён"},
    "en": {"save": "Save", "forfeit": "Your 500 available points will expire at once.", "done": "Account deleted"},
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_consent_and_deleting_the_account_on_a_phone(live, phone, lang):
    key, cid = _customer(live, lang)
    _sign_in(live, phone, lang)
    consent = phone.get_by_test_id("consent")
    assert not consent.is_checked()
    consent.check()
    phone.get_by_test_id("save-settings").click()
    phone.wait_for_load_state()
    expect(phone.get_by_test_id("consent")).to_be_checked()  # kept, on the page it came back to
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, f"customer-settings-{lang}-390x844")

    phone.get_by_test_id("delete-account").click()
    expect(phone.get_by_test_id("delete-points")).to_have_text(DELETE[lang]["forfeit"])  # before confirming
    screenshot(phone, f"customer-delete-{lang}-390x844")
    phone.get_by_test_id("confirm-delete").check()
    phone.get_by_test_id("delete-now").click()
    expect(phone.get_by_test_id("deleted")).to_contain_text(DELETE[lang]["done"])
    screenshot(phone, f"customer-deleted-{lang}-390x844")
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).status_code == 404
    phone.goto(f"{live.url}/me")
    expect(phone).to_have_url(re.compile("/me/sign-in"))  # the session ended with the account
