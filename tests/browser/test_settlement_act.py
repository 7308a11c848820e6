"""The reconciliation act in Chromium: from the settlement page to the act by keyboard, what it says on screen and
what goes on paper (print media: no links, no language switch)."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_partner_portal import sign_in


def test_a_partner_opens_and_prints_its_act(live, phone, clock):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "spend_confirmation": "never"}).json()
    store = live.request("POST", "/v1/admin/partners", op, {"name": "Стиль", "spend_confirmation": "never"}).json()
    cid = live.request("POST", "/v1/customers", cafe["api_key"], {"phone": "+79161234567"}).json()["customer_id"]
    live.request(
        "POST", "/v1/accruals", cafe["api_key"], {"customer_id": cid, "order_id": "C-1", "amount_minor": 1_000_000}
    )
    spend = {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 100}
    assert live.request("POST", "/v1/redemptions", store["api_key"], spend).status_code == 201
    period = clock.now().strftime("%Y-%m")
    paid = {"partner_id": cafe["partner_id"], "amount_minor": -20_000, "paid_on": f"{period}-10", "reference": "ПП 17"}
    assert live.request("POST", f"/v1/admin/settlements/{period}/payments", op, paid).status_code == 201

    sign_in(phone, live, cafe["api_key"])
    phone.get_by_role("link", name="Расчёты").click()
    assert phone.get_by_test_id("paid").inner_text().replace("\u00a0", " ") == "-200 ₽"
    phone.get_by_test_id("act-link").focus()
    phone.keyboard.press("Enter")  # keyboard only
    expect(phone.get_by_role("heading", level=1)).to_have_text("Акт сверки взаиморасчётов")
    assert "«Уют»" in phone.get_by_test_id("act-parties").inner_text()
    formula = phone.get_by_test_id("act-formula").inner_text()
    assert "Выдано баллов покупателям" in formula and "Остаток к оплате" in formula
    assert "ПП 17" in phone.get_by_test_id("act-payments").inner_text()
    assert phone.get_by_role("link", name="К расчётам").is_visible()
    screenshot(phone, "portal-reconciliation-act")
    phone.emulate_media(media="print")
    assert not phone.get_by_role("link", name="К расчётам").is_visible()  # not on paper
    assert phone.get_by_test_id("act-formula").is_visible()
    phone.emulate_media(media="screen")
    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Reconciliation act")
