"""The marketer's and the accountant's day in Chromium, keyboard only: a marketer creates a campaign naming two other
partners; one partner's marketer declines it, the other's accepts; the sponsor reads each answer in words; the
sponsor's accountant downloads the month's settlement CSV. At a desktop, a 7-inch tablet and a phone, ru and en."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from chalicelib.services.settlement_csv import COLUMNS, TEXTS
from tests.browser.conftest import screenshot
from tests.browser.test_staff_roles import _tab_to
from tests.staff_helpers import add_staff, sign_in_page

SIZES = {
    "desktop": ({"width": 1280, "height": 800}, 1, "ru"),
    "tablet": ({"width": 800, "height": 1280}, 1, "en"),
    "phone": ({"width": 390, "height": 844}, 2, "ru"),
}
WORDS = {
    "ru": {
        "new": "Новая акция",
        "preview": "Проверить",
        "create": "Создать акцию",
        "accept": "Принять",
        "decline": "Отказаться",
        "accepted": "согласился",
        "declined": "отказался",
        "csv": "Скачать CSV",
        "status": "партнёр отказался: запустить нельзя",
        "no_days": "Покупок по акции пока не было.",
    },
    "en": {
        "new": "New campaign",
        "preview": "Preview",
        "create": "Create campaign",
        "accept": "Accept",
        "decline": "Decline",
        "accepted": "accepted",
        "declined": "declined",
        "csv": "Download CSV",
        "status": "a partner declined: it cannot start",
        "no_days": "No purchases under this campaign yet.",
    },
}
SPONSOR, DECLINER, ACCEPTOR = "Уют", "Стиль", "Цветы"


def _partner(live: Any, name: str, category: str) -> dict[str, Any]:
    made = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": name, "category": category})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _person(browser: Any, live: Any, size: str, phone: str, lang: str) -> Any:
    viewport, scale, _ = SIZES[size]
    page = browser.new_context(viewport=viewport, device_scale_factor=scale).new_page()
    sign_in_page(page, live, area="portal", phone=phone, lang=lang)
    return page


def _press(page: Any, name: str) -> None:
    """Tab to the link or button called ``name`` and press Enter, as a person without a pointer does."""
    try:
        _tab_to(page, name, limit=60)
    except AssertionError:
        raise AssertionError(page.locator("body").inner_text()[:800]) from None
    page.keyboard.press("Enter")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_marketer_names_two_partners_one_declines_one_accepts_and_the_accountant_downloads_the_csv(
    live, browser, size
):
    lang = SIZES[size][2]
    w = WORDS[lang]
    sponsor, decliner, acceptor = (
        _partner(live, SPONSOR, "cafe"),
        _partner(live, DECLINER, "clothing"),
        _partner(live, ACCEPTOR, "flowers"),
    )
    phones = {"marketer": "+79160000011", "decliner": "+79160000012", "acceptor": "+79160000013"}
    accountant_phone = "+79160000014"
    marketers = (("Марат", phones["marketer"]), ("Дина", phones["decliner"]), ("Лев", phones["acceptor"]))
    for key, (who, phone) in zip((sponsor, decliner, acceptor), marketers, strict=True):
        add_staff(live, partner_key_or_operator_key=key["api_key"], role="marketer", phone=phone, name=who)
    add_staff(
        live, partner_key_or_operator_key=sponsor["api_key"], role="accountant", phone=accountant_phone, name="Анна"
    )

    marketer = _person(browser, live, size, phones["marketer"], lang)
    _press(marketer, w["new"])
    marketer.wait_for_url(re.compile(r"/portal/campaigns/new"))
    marketer.locator("#name").focus()
    marketer.keyboard.type("Из Стиля в Уют и Цветы")
    marketer.locator("#from_partner").select_option(label=DECLINER)  # a select takes the keyboard
    marketer.locator("#also_at").select_option(label=ACCEPTOR)
    marketer.locator("#budget").focus()
    marketer.keyboard.press("Enter")  # Enter in a field sends the form: the preview
    expect(marketer.get_by_test_id("preview")).to_contain_text(ACCEPTOR)
    _press(marketer, w["create"])
    marketer.wait_for_url(re.compile(r"/portal/campaigns/cmp_"))
    campaign_url = marketer.url.split("?")[0]
    for name in (DECLINER, ACCEPTOR):
        expect(marketer.get_by_test_id(f"answer-{name}")).to_have_count(1)

    for phone, answer, state in (
        (phones["decliner"], "decline", "declined"),
        (phones["acceptor"], "accept", "accepted"),
    ):
        partner = _person(browser, live, size, phone, lang)
        partner.goto(campaign_url)
        _press(partner, w[answer])
        own = DECLINER if answer == "decline" else ACCEPTOR
        expect(partner.get_by_test_id(f"answer-{own}")).to_have_text(w[state])
        partner.context.close()

    marketer.reload()
    expect(marketer.get_by_test_id(f"answer-{DECLINER}")).to_have_text(w["declined"])
    expect(marketer.get_by_test_id(f"answer-{ACCEPTOR}")).to_have_text(w["accepted"])
    expect(marketer.get_by_test_id("status")).to_have_text(w["status"])  # not "waiting for acceptance"
    expect(marketer.get_by_test_id("no-days")).to_have_text(w["no_days"])  # an empty chart says why it is empty
    screenshot(marketer, f"role-marketer-campaign-{lang}-{size}")
    marketer.context.close()

    customer = live.request("POST", "/v1/customers", sponsor["api_key"], {"phone": "+79161230000"}).json()
    sale = {"customer_id": customer["customer_id"], "order_id": "R-1", "amount_minor": 250_000}
    assert live.request("POST", "/v1/accruals", sponsor["api_key"], sale).status_code == 201  # a month with a sale
    accountant = _person(browser, live, size, accountant_phone, lang)
    assert accountant.url.split("?")[0].endswith("/portal/settlements")
    period = re.search(r"/settlements/(\d{4}-\d{2})/csv", accountant.content())
    assert period is not None
    with accountant.expect_download() as download:
        _press(accountant, w["csv"])
    assert download.value.suggested_filename == f"settlement-{SPONSOR}-{period.group(1)}.csv"
    first_row = download.value.path().read_text(encoding="utf-8-sig").splitlines()[0]
    assert first_row == ";".join(TEXTS[lang][c] for c in COLUMNS)  # headers in the reader's language
    screenshot(accountant, f"role-accountant-settlements-{lang}-{size}")
    accountant.context.close()
