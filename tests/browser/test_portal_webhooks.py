"""The owner's webhooks in Chromium, keyboard only: register an endpoint (the secret shown once), see its delivery
after an accrual and a dispatcher pass, resend it, delete the endpoint after the question. Every page checked by
axe-core (no serious or critical violation): Russian on a desktop, English on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from chalicelib.services import dispatcher
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _grave
from tests.browser.test_page_gallery import SIZES
from tests.browser.test_staff_roles import _tab_to
from tests.staff_helpers import sign_in_page

pytest_plugins = ("tests.webhook_receiver",)

OWNER = "+79160000021"
TEXTS = {
    "ru": {"nav": "Вебхуки", "all": "Все события", "register": "Добавить", "resend": "Отправить снова",
           "delete": "Удалить адрес", "yes": "Да, удалить", "none": "Адресов пока нет."},
    "en": {"nav": "Webhooks", "all": "All events", "register": "Register", "resend": "Resend",
           "delete": "Delete the endpoint", "yes": "Yes, delete", "none": "No endpoints yet."},
}  # fmt: skip


@pytest.mark.parametrize(("lang", "size"), [("ru", "desktop"), ("en", "phone")])
def test_an_owner_registers_a_webhook_sees_its_delivery_resends_it_and_deletes_it(
    live, browser, clock, receiver, lang, size
):
    from axe_playwright_python.sync_playwright import Axe

    axe, t = Axe(), TEXTS[lang]
    made = live.request(
        "POST", "/v1/admin/partners", live.operator_key, {"name": "Уют", "owner": {"phone": OWNER, "name": "Ольга"}}
    )
    assert made.status_code == 201, made.text
    key = made.json()["api_key"]
    problems: dict[str, list[str]] = {}

    def check(page: Any, where: str) -> None:
        found = _grave(axe, page)
        if found:
            problems[f"{where} {page.url}"] = found

    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    sign_in_page(page, live, area="portal", phone=OWNER, lang=lang)
    _tab_to(page, t["nav"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/webhooks$"))
    check(page, "webhooks, none yet")
    page.locator("#hook-url").focus()
    page.keyboard.type(receiver.url + "/hook")
    page.keyboard.press("Tab")  # to "All events"
    assert page.evaluate("document.activeElement.id") == "hook-all"
    page.keyboard.press("Space")
    _tab_to(page, t["register"])
    page.keyboard.press("Enter")
    secret = page.get_by_test_id("new-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    check(page, "webhook registered, its secret")
    screenshot(page, f"portal-webhook-created-{lang}-{size}")

    customer = live.request("POST", "/v1/customers", key, {"phone": "+79161112233"}).json()["customer_id"]
    accrual = {"customer_id": customer, "order_id": "WB-1", "amount_minor": 100_000}
    assert live.request("POST", "/v1/accruals", key, accrual).status_code == 201
    dispatcher.poll(clock.now())
    assert len(receiver.got) == 1

    _tab_to(page, receiver.url + "/hook")  # the endpoint's link in the list
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/webhooks/whk_"))
    row = page.get_by_test_id("delivery")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("response-code")).to_have_text("200")
    check(page, "an endpoint's deliveries")
    screenshot(page, f"portal-webhook-deliveries-{lang}-{size}")
    _tab_to(page, t["resend"])
    with page.expect_response(lambda response: response.url.endswith("/resend")):  # the press answered: 303
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    dispatcher.poll(clock.now())
    assert len(receiver.got) == 2 and receiver.got[0].event["id"] == receiver.got[1].event["id"]

    _tab_to(page, t["delete"])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm")).to_be_visible()
    check(page, "delete: the question")
    _tab_to(page, t["yes"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/webhooks$"))
    expect(page.get_by_text(t["none"])).to_be_visible()
    context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())
