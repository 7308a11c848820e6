"""The owner's CRM page in Chromium, keyboard only: connect Bitrix24 and amoCRM (amoCRM's webhook URL shown once),
disconnect Bitrix24 after the question. Every state checked by axe-core (no serious or critical violation): Russian
on a desktop, English on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from chalicelib.integrations import bitrix24 as b24
from chalicelib.services import crm_sync
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _grave
from tests.browser.test_page_gallery import SIZES
from tests.browser.test_staff_roles import _tab_to
from tests.crm_standins import AMO_CLIENT_ID, AMO_CLIENT_SECRET, AMO_REDIRECT
from tests.staff_helpers import sign_in_page

pytest_plugins = ("tests.crm_standins",)

OWNER = "+79160000031"
TEXTS = {
    "ru": {"b24": "Подключить Битрикс24", "amo": "Подключить amoCRM", "off": "Отключить Битрикс24",
           "yes": "Да, отключить"},
    "en": {"b24": "Connect Bitrix24", "amo": "Connect amoCRM", "off": "Disconnect Bitrix24", "yes": "Yes, disconnect"},
}  # fmt: skip


def _type_into(page: Any, field_id: str, text: str) -> None:
    """Tab to the field (it must be reachable), then type."""
    for _ in range(30):
        if page.evaluate("document.activeElement && document.activeElement.id") == field_id:
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError(f"#{field_id} is not reachable with the keyboard")
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


@pytest.mark.parametrize(("lang", "size"), [("ru", "desktop"), ("en", "phone")])
def test_an_owner_connects_bitrix24_and_amocrm_and_disconnects_bitrix24(live, browser, bitrix24, amocrm, lang, size):
    from axe_playwright_python.sync_playwright import Axe

    crm_sync.set_transport(b24.http_transport)
    axe, t = Axe(), TEXTS[lang]
    made = live.request(
        "POST", "/v1/admin/partners", live.operator_key, {"name": "Шарм", "owner": {"phone": OWNER, "name": "Анна"}}
    )
    assert made.status_code == 201, made.text
    partner_id = made.json()["partner_id"]
    problems: dict[str, list[str]] = {}

    def check(page: Any, where: str) -> None:
        found = _grave(axe, page)
        if found:
            problems[where] = found

    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    sign_in_page(page, live, area="portal", phone=OWNER, lang=lang)
    _tab_to(page, "CRM")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/integrations$"))
    check(page, "nothing connected")

    _type_into(page, "b24-webhook_url", bitrix24.webhook_url)
    _type_into(page, "b24-application_token", "b24apptoken0123456789")
    _tab_to(page, t["b24"])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("b24-state")).to_be_visible()
    expect(page.get_by_test_id("b24-events-path")).to_have_text(f"/v1/integrations/bitrix24/events/{partner_id}")
    check(page, "Bitrix24 connected")

    _type_into(page, "amo-subdomain", "shop")
    _type_into(page, "amo-client_id", AMO_CLIENT_ID)
    _type_into(page, "amo-client_secret", AMO_CLIENT_SECRET)
    _type_into(page, "amo-redirect_uri", AMO_REDIRECT)
    _type_into(page, "amo-code", "auth-code-0001")
    _tab_to(page, t["amo"])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("amo-events-path")).to_have_text(
        re.compile(rf"^/v1/integrations/amocrm/events/{partner_id}/[0-9a-f]{{40}}$")
    )
    check(page, "amoCRM connected, its webhook URL once")
    screenshot(page, f"portal-integrations-{lang}-{size}")

    page.goto(f"{live.url}/portal/integrations")
    _tab_to(page, t["off"])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm")).to_be_visible()
    check(page, "disconnect: the question")
    _tab_to(page, t["yes"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/integrations$"))
    expect(page.locator("#b24-webhook_url")).to_be_visible()
    expect(page.get_by_test_id("amo-state")).to_be_visible()
    context.close()
    assert problems == {}, "\n".join(f"{where}:\n  " + "\n  ".join(what) for where, what in problems.items())
