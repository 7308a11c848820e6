"""People, not keys, in Chromium: an owner invites a cashier, a marketer and an accountant from the portal, keyboard
only; each signs in with the code from their message and sees only their screens. Every page checked by axe-core (no
serious or critical violation), at a phone and a desktop size, in Russian and English."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _grave
from tests.browser.test_page_gallery import SIZES
from tests.staff_helpers import sign_in_page

OWNER, CASHIER, MARKETER, ACCOUNTANT = "+79160000001", "+79160000002", "+79160000003", "+79160000004"
TEXTS = {
    "ru": {
        "staff": "Сотрудники",
        "keys": "API-ключи",
        "invite": "Пригласить",
        "settlements": "Расчёты",
        "key_limit": "не больше 10 действующих ключей",
    },
    "en": {
        "staff": "Staff",
        "keys": "API keys",
        "invite": "Invite",
        "settlements": "Settlements",
        "key_limit": "at most 10 active keys",
    },
}


def _tab_to(page: Any, name: str, limit: int = 40) -> None:
    """Press Tab until the focused element is the link or button called ``name`` (no pointer anywhere)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
        if focused == name:
            return
    raise AssertionError(f"{name!r} is not reachable with the keyboard")


def _invite(page: Any, name: str, phone: str, role: str, t: dict[str, str]) -> None:
    page.locator("#invite-name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(phone)
    page.keyboard.press("Tab")  # to the role; a select takes the keyboard
    page.locator("#invite-role").select_option(role)
    page.locator("#invite-role").press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == t["invite"], focused
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("member").filter(has_text=name)).to_have_count(1)


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_an_owner_invites_a_cashier_a_marketer_and_an_accountant_each_sees_only_their_screens(
    live, browser, size, lang
):
    from axe_playwright_python.sync_playwright import Axe

    axe, t = Axe(), TEXTS[lang]
    body = {"name": "Уют", "owner": {"phone": OWNER, "name": "Ольга"}}
    made = live.request("POST", "/v1/admin/partners", live.operator_key, body)
    assert made.status_code == 201, made.text
    problems: dict[str, list[str]] = {}

    def check(page: Any, where: str) -> None:
        found = _grave(axe, page)
        if found:
            problems[f"{where} {page.url}"] = found

    context = browser.new_context(viewport=SIZES[size])
    owner = context.new_page()
    owner.goto(f"{live.url}/portal/login?lang={lang}")
    check(owner, "staff sign-in")
    sign_in_page(owner, live, area="portal", phone=OWNER, lang=lang)
    _tab_to(owner, t["staff"])
    owner.keyboard.press("Enter")
    owner.wait_for_url(re.compile(r"/portal/staff"))
    people = (("Кира", CASHIER, "cashier"), ("Марат", MARKETER, "marketer"), ("Анна", ACCOUNTANT, "accountant"))
    for name, phone, role in people:
        _invite(owner, name, phone, role, t)
    check(owner, "staff page")
    screenshot(owner, f"role-owner-staff-{lang}-{size}")
    _tab_to(owner, t["keys"])
    owner.keyboard.press("Enter")
    owner.wait_for_url(re.compile(r"/portal/keys"))
    owner.locator("#key-label").fill("Касса 1")
    owner.locator("#key-label").press("Enter")
    expect(owner.get_by_test_id("new-key")).to_have_count(1)
    check(owner, "keys page")
    screenshot(owner, f"role-owner-keys-{lang}-{size}")
    partner_id = made.json()["partner_id"]
    for _ in range(8):  # with the partner's first key and "Касса 1": ten active
        assert live.request("POST", f"/v1/admin/partners/{partner_id}/keys", live.operator_key).status_code == 201
    owner.locator("#key-label").fill("Касса 11")
    owner.locator("#key-label").press("Enter")
    expect(owner.get_by_test_id("key-limit")).to_contain_text(t["key_limit"])
    expect(owner.get_by_test_id("new-key")).to_have_count(0)
    expect(owner.get_by_test_id("key")).to_have_count(10)
    check(owner, "keys page at the cap")
    screenshot(owner, f"role-owner-keys-limit-{lang}-{size}")
    context.close()

    def person(phone: str, area: str) -> Any:
        ctx = browser.new_context(viewport=SIZES[size])
        page = ctx.new_page()
        sign_in_page(page, live, area=area, phone=phone, lang=lang)
        return page

    cashier = person(CASHIER, "portal")
    assert cashier.url.split("?")[0].endswith("/till")  # a cashier's screen is the till
    cashier.context.close()

    marketer = person(MARKETER, "portal")
    nav = marketer.get_by_role("navigation")
    expect(nav.get_by_role("link", name=t["settlements"])).to_have_count(0)
    expect(nav.get_by_role("link", name=t["staff"])).to_have_count(0)
    check(marketer, "marketer's portal")
    screenshot(marketer, f"role-marketer-{lang}-{size}")
    marketer.goto(f"{live.url}/portal/settlements")
    assert marketer.url.split("?")[0].endswith("/portal")  # not the marketer's page
    marketer.context.close()

    accountant = person(ACCOUNTANT, "portal")
    assert accountant.url.split("?")[0].endswith("/portal/settlements")
    nav = accountant.get_by_role("navigation")
    expect(nav.get_by_role("link")).to_have_count(1)  # settlements only
    check(accountant, "accountant's settlements")
    screenshot(accountant, f"role-accountant-{lang}-{size}")
    accountant.context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())
