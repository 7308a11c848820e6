"""The operator's console in Chromium, keyboard only: suspending a partner, changing a rate from a date, closing a
month, recording a payment and reading the audit log with old and new values, at 1280x800 in Russian and at
390x844 in English, reading the values on the page; and every console page passes axe-core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _grave
from tests.conftest import TRUSTED
from tests.staff_helpers import add_staff, sign_in_page

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TEXTS = {
    "ru": {
        "suspend": "Приостановить",
        "yes_suspend": "Да, приостановить",
        "suspended": "приостановлен",
        "save": "Сохранить",
        "saved": "Сохранено.",
        "settlements": "Расчёты",
        "close": "Закрыть месяц",
        "yes_close": "Да, закрыть месяц",
        "closed": "закрыт",
        "march": "март 2026",
        "partners": "Партнёры",
        "rate": "7,5\u00a0%",
        "from": "с 1 мая 2026",
        "minus_100": "-100\u00a0₽",
        "zero": "0\u00a0₽",
        "record": "Записать платёж",
        "audit": "Журнал изменений",
        "audit_rate": "Начисление с 1 мая 2026: 5\u00a0% → 7,5\u00a0%",
        "audit_status": "Статус: работает → приостановлен",
        "audit_paid": "Оплачено: 0\u00a0₽ → -100\u00a0₽",
    },
    "en": {
        "suspend": "Suspend",
        "yes_suspend": "Yes, suspend",
        "suspended": "suspended",
        "save": "Save",
        "saved": "Saved.",
        "settlements": "Settlements",
        "close": "Close the month",
        "yes_close": "Yes, close the month",
        "closed": "closed",
        "march": "March 2026",
        "partners": "Partners",
        "rate": "7.5\u00a0%",
        "from": "from 1 May 2026",
        "minus_100": "-100\u00a0RUB",
        "zero": "0\u00a0RUB",
        "record": "Record the payment",
        "audit": "Audit log",
        "audit_rate": "Points earned from 1 May 2026: 5\u00a0% → 7.5\u00a0%",
        "audit_status": "Status: active → suspended",
        "audit_paid": "Paid: 0\u00a0RUB → -100\u00a0RUB",
    },
}


def _coalition(live: Any) -> dict[str, Any]:
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "category": "cafe", **TRUSTED}).json()
    store = live.request("POST", "/v1/admin/partners", op, {"name": "Стиль", **TRUSTED}).json()
    cid = live.request("POST", "/v1/customers", cafe["api_key"], {"phone": "+79161234567"}).json()["customer_id"]
    accrual = {"customer_id": cid, "order_id": "C-1", "amount_minor": 200_000}
    assert live.request("POST", "/v1/accruals", cafe["api_key"], accrual).status_code == 201
    spend = {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 40}
    assert live.request("POST", "/v1/redemptions", store["api_key"], spend).status_code == 201
    return {"cafe": cafe, "store": store, "customer_id": cid}


def open_console(browser: Any, live: Any, size: str, lang: str) -> Any:
    """A page signed in to the console as operator staff (a code to the phone, typed), in ``lang``."""
    phone = "+79160000010"
    if not live.request("GET", "/v1/admin/staff", live.operator_key).json()["items"]:
        add_staff(live, partner_key_or_operator_key=live.operator_key, role="operator", phone=phone, name="Олег",
                  admin=True)  # fmt: skip
    page = browser.new_context(viewport=SIZES[size]).new_page()
    sign_in_page(page, live, area="admin", phone=phone, lang=lang)
    page.goto(f"{live.url}/admin?lang={lang}")
    return page


def tab_to(page: Any, target: Any, limit: int = 120) -> None:
    """Press Tab until ``target`` has the focus: it is reachable without a pointer."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
    raise AssertionError(f"Tab never reached {target}")


def press(page: Any, target: Any) -> None:
    """Tab to a link or a form's button and press Enter: the next page loads."""
    tab_to(page, target)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def type_into(page: Any, target: Any, value: str) -> None:
    tab_to(page, target)
    page.keyboard.press("Control+a")
    page.keyboard.type(value)


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], width


@pytest.mark.parametrize(("size", "lang"), [("desktop", "ru"), ("phone", "en")])
def test_the_operator_suspends_changes_a_rate_closes_a_month_pays_and_reads_the_log(live, browser, clock, size, lang):
    words = TEXTS[lang]
    _coalition(live)  # March: Уют issues 100 points, Стиль accepts 40 of them
    clock.advance(timedelta(days=23))  # 2 April: March has ended
    page = open_console(browser, live, size, lang)
    no_sideways_scroll(page)
    category = page.get_by_role("link", name="Уют").locator("xpath=..").locator(".muted")
    expect(category).to_have_text({"ru": "Кафе", "en": "Café"}[lang])  # the category in words, not "cafe"
    screenshot(page, f"role-operator-partners-{lang}-{size}")

    # suspend Стиль, after the confirmation
    press(page, page.get_by_role("link", name="Стиль"))
    press(page, page.get_by_role("button", name=words["suspend"]))
    expect(page.get_by_test_id("confirm")).to_be_visible()
    press(page, page.get_by_role("button", name=words["yes_suspend"]))
    expect(page.get_by_test_id("status")).to_have_text(words["suspended"])
    press(page, page.get_by_role("link", name=words["partners"]))
    assert page.get_by_test_id("partner-Стиль").get_by_test_id("status").inner_text() == words["suspended"]

    # Уют earns 7.5 % from the 1st of May
    press(page, page.get_by_role("link", name="Уют"))
    type_into(page, page.locator("#f-earn_rate"), "7,5")
    page.locator("#f-effective_from").fill("2026-05-01")
    press(page, page.get_by_role("button", name=words["save"]))
    expect(page.get_by_test_id("saved")).to_have_text(words["saved"])
    scheduled = page.get_by_test_id("scheduled").inner_text()
    assert words["from"] in scheduled and words["rate"] in scheduled, scheduled
    no_sideways_scroll(page)
    screenshot(page, f"role-operator-partner-{lang}-{size}")

    # March closes, after the confirmation
    press(page, page.get_by_role("link", name=words["settlements"]))
    press(page, page.get_by_role("link", name=words["march"]))
    expect(page.get_by_test_id("month-status")).not_to_have_text(words["closed"])
    press(page, page.get_by_role("button", name=words["close"]))
    expect(page.get_by_test_id("confirm")).to_be_visible()
    press(page, page.get_by_role("button", name=words["yes_close"]))
    expect(page.get_by_test_id("month-status")).to_have_text(words["closed"])
    cafe = page.get_by_test_id("statement-Уют")
    assert cafe.get_by_test_id("net").inner_text() == words["minus_100"]
    assert cafe.get_by_test_id("open").inner_text() == words["minus_100"]

    # Уют pays its 100 roubles
    tab_to(page, page.locator("#f-partner_id"))
    page.locator("#f-partner_id").select_option(label="Уют")
    type_into(page, page.locator("#f-amount"), "100")
    type_into(page, page.locator("#f-reference"), "ПП 17")
    press(page, page.get_by_role("button", name=words["record"]))
    expect(page.get_by_test_id("saved")).to_be_visible()
    cafe = page.get_by_test_id("statement-Уют")
    assert cafe.get_by_test_id("paid").inner_text() == words["minus_100"]
    assert cafe.get_by_test_id("open").inner_text() == words["zero"]
    no_sideways_scroll(page)
    screenshot(page, f"role-operator-settlements-{lang}-{size}")

    # the audit log: who changed what, old and new
    press(page, page.get_by_role("link", name=words["audit"]))
    values = [v.inner_text() for v in page.get_by_test_id("value").all()]
    assert words["audit_rate"] in values, values
    assert words["audit_status"] in values, values
    assert words["audit_paid"] in values, values
    assert "Олег" in page.get_by_test_id("audit-0").inner_text()
    no_sideways_scroll(page)
    screenshot(page, f"role-operator-audit-{lang}-{size}")
    page.context.close()


def _console_pages(live: Any, data: dict[str, Any], lang: str) -> list[str]:
    base = f"{live.url}/admin"
    return [
        f"{base}?lang={lang}",
        f"{base}/partners/{data['cafe']['partner_id']}?lang={lang}",
        f"{base}/program?lang={lang}",
        f"{base}/customers?phone=%2B79161234567&lang={lang}",
        f"{base}/campaigns?lang={lang}",
        f"{base}/settlements?period=2026-03&lang={lang}",
        f"{base}/audit?lang={lang}",
        f"{base}/staff?lang={lang}",
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_accessibility_violation_on_any_console_page(live, browser, size):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    data = _coalition(live)
    problems: dict[str, list[str]] = {}
    page = open_console(browser, live, size, "ru")  # one sign-in: the pages then ask for their language
    for lang in ("ru", "en"):
        for url in _console_pages(live, data, lang):
            page.goto(url)
            found = _grave(axe, page)
            if found:
                problems[f"{url} [{size}]"] = found
    page.context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())
