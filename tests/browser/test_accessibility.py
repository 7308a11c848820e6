"""Every page a customer or a partner sees, checked by axe-core (axe-playwright-python) in Chromium at a phone and a
desktop size, in Russian and English: no violation of impact "serious" or "critical" (WCAG 2.1 A and AA rules:
contrast, names of buttons, links and fields, language, landmarks...)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.test_page_gallery import SIZES, _coalition
from tests.conftest import last_code
from tests.staff_helpers import add_staff, sign_in_page

GRAVE = {"serious", "critical"}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = "+79161234567"


def _grave(axe: Any, page: Any) -> list[str]:
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in GRAVE:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def _customer_pages(live: Any, data: dict[str, Any], lang: str) -> list[tuple[str, Callable[[Any], None]]]:
    def sign_in(page: Any) -> None:
        page.goto(f"{live.url}/me/sign-in?lang={lang}")

    def code(page: Any) -> None:
        sign_in(page)
        page.locator("#identifier").fill(PHONE)
        page.locator("form[action^='/me/sign-in'] button").click()
        page.wait_for_load_state()

    def signed_in(page: Any) -> None:
        code(page)
        page.locator("#one-time-code").fill(last_code("sign_in", PHONE))
        page.locator("form[action^='/me/sign-in/code'] button").click()
        page.wait_for_load_state()

    def spend_code(page: Any) -> None:
        page.goto(f"{data['link']}&lang={lang}")
        page.get_by_test_id("show-code").click()
        page.wait_for_load_state()

    def telegram(page: Any) -> None:
        signed_in(page)
        page.get_by_test_id("telegram-connect").click()
        page.wait_for_load_state()

    def delete(page: Any) -> None:
        signed_in(page)
        page.get_by_test_id("delete-account").click()
        page.wait_for_load_state()

    return [
        ("landing page", lambda page: page.goto(f"{live.url}/?lang={lang}")),
        ("not found", lambda page: page.goto(f"{live.url}/no/such/page?lang={lang}")),
        ("customer page from a link", lambda page: page.goto(f"{data['link']}&lang={lang}")),
        ("spend code and QR", spend_code),
        ("a bad link", lambda page: page.goto(f"{data['link'][:-3]}xyz&lang={lang}")),
        ("sign-in", sign_in),
        ("sign-in code", code),
        ("signed-in page with settings", signed_in),
        ("connect Telegram", telegram),
        ("delete the account", delete),
    ]


def _portal_pages(live: Any, data: dict[str, Any], lang: str) -> list[tuple[str, Callable[[Any], None]]]:
    base = f"{live.url}/portal"

    def signed_in(path: str) -> Callable[[Any], None]:
        def visit(page: Any) -> None:
            page.goto(f"{base}?lang={lang}")
            page.locator("#api_key").fill(data["cafe_key"])
            page.locator("#api_key").press("Enter")  # the key form (the staff form is first on the page)
            page.wait_for_load_state()
            if path:
                page.goto(f"{base}{path}")

        return visit

    return [
        ("portal sign-in", lambda page: page.goto(f"{base}?lang={lang}")),
        ("portal dashboard", signed_in("")),
        ("portal new campaign", signed_in("/campaigns/new")),
        ("portal campaign", signed_in(f"/campaigns/{data['campaign']}")),
        ("portal settlements", signed_in("/settlements")),
        ("portal reconciliation act", signed_in("/settlements/2026-03/act")),
        ("portal audit log", signed_in("/audit")),
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_accessibility_violation_on_any_page(live, browser, clock, size):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    data = _coalition(live)
    bot = {"notifications": {"telegram": {"bot_username": "coalition_test_bot"}}}  # the page offers the bot
    assert live.request("PUT", "/v1/admin/program", live.operator_key, bot).status_code == 200
    problems: dict[str, list[str]] = {}
    for lang in ("ru", "en"):
        for name, visit in _customer_pages(live, data, lang) + _portal_pages(live, data, lang):
            clock.advance(timedelta(hours=1))  # a phone gets 5 sign-in codes an hour: each page signs in afresh
            context = browser.new_context(viewport=SIZES[size])
            page = context.new_page()
            visit(page)
            found = _grave(axe, page)
            if found:
                problems[f"{name} [{lang}, {size}] {page.url}"] = found
            context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())


STAFF = {"owner": "+79160000021", "marketer": "+79160000022", "accountant": "+79160000023", "named": "+79160000024"}


def _staff_world(live: Any) -> dict[str, str]:
    """A sponsor with an owner, a marketer and an accountant; a named partner's marketer; a campaign naming it."""
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "category": "cafe"}).json()
    store = live.request("POST", "/v1/admin/partners", op, {"name": "Стиль", "category": "clothing"}).json()
    for role in ("owner", "marketer", "accountant"):
        add_staff(live, partner_key_or_operator_key=cafe["api_key"], role=role, phone=STAFF[role], name="Ольга")
    add_staff(live, partner_key_or_operator_key=store["api_key"], role="marketer", phone=STAFF["named"], name="Лев")
    body = {
        "name": "Уют и Стиль",
        "earn_at": [cafe["partner_id"], store["partner_id"]],
        "reward": {"type": "fixed", "points": 100},
        "budget_points": 30_000,
    }
    made = live.request("POST", "/v1/campaigns", cafe["api_key"], body)
    assert made.status_code == 201, made.text
    return {"campaign": made.json()["campaign_id"]}


def _staff_pages(live: Any, world: dict[str, str]) -> list[tuple[str, str | None, list[str]]]:
    """(what, who signs in or None, the paths they open): every screen a partner's people reach, signed out first."""
    camp = f"/portal/campaigns/{world['campaign']}"
    return [
        ("sign-in pages", None, ["/till/login", "/portal/login", "/admin/login"]),
        ("owner", STAFF["owner"], ["/portal/staff", "/portal/keys", "/portal/audit"]),
        ("marketer", STAFF["marketer"], ["/portal", "/portal/campaigns/new", camp]),
        ("named partner's marketer", STAFF["named"], [camp]),
        ("accountant", STAFF["accountant"], ["/portal/settlements", "/portal/settlements/2026-03/act"]),
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_accessibility_violation_on_any_staff_screen(live, browser, clock, size):
    """Sign-in (and its code step) of the till, the portal and the console; each partner role's portal pages. The
    till's and the console's own screens are walked in test_till.py and test_admin_console.py."""
    from axe_playwright_python.sync_playwright import Axe

    axe, world = Axe(), _staff_world(live)
    problems: dict[str, list[str]] = {}

    def check(page: Any, where: str) -> None:
        found = _grave(axe, page)
        if found:
            problems[f"{where} [{size}] {page.url}"] = found

    for lang in ("ru", "en"):
        clock.advance(timedelta(hours=1))  # 5 sign-in codes an hour per phone
        for who, phone, paths in _staff_pages(live, world):
            page = browser.new_context(viewport=SIZES[size]).new_page()
            if phone is None:
                for path in paths:
                    page.goto(f"{live.url}{path}?lang={lang}")
                    check(page, who)
                page.locator("#contact").fill(STAFF["owner"])
                page.locator("#contact").press("Enter")
                page.locator("#one-time-code").wait_for()
                check(page, "the code step")
            else:
                sign_in_page(page, live, area="portal", phone=phone, lang=lang)
                for path in paths:
                    page.goto(f"{live.url}{path}?lang={lang}")
                    check(page, who)
            page.context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())
