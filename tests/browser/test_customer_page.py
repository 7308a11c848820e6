"""The customer page in a real browser, opened from a real portal link served over HTTP."""

from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import TRUSTED, last_link


def _setup(live):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "category": "cafe", **TRUSTED}).json()
    store = live.request(
        "POST", "/v1/admin/partners", op, {"name": "Стиль", "category": "clothing", "earn_rate_bps": 300, **TRUSTED}
    ).json()
    ck, sk = cafe["api_key"], store["api_key"]
    cid = live.request("POST", "/v1/customers", ck, {"phone": "+79161234567", "name": "Анна"}).json()["customer_id"]
    live.request("POST", "/v1/accruals", ck, {"customer_id": cid, "order_id": "C-1", "amount_minor": 250_000})
    live.request("POST", "/v1/accruals", sk, {"customer_id": cid, "order_id": "S-1", "amount_minor": 1_000_000})
    live.request(
        "POST",
        "/v1/redemptions",
        sk,
        {"customer_id": cid, "order_id": "S-2", "order_amount_minor": 100_000, "points": 40},
    )
    live.request(
        "POST",
        "/v1/redemptions",
        ck,
        {"customer_id": cid, "order_id": "C-2", "order_amount_minor": 100_000, "points": 15, "capture": False},
    )
    body = {
        "name": "Из Стиля в Уют",
        "earn_at": [cafe["partner_id"]],
        "reward": {"type": "fixed", "points": 100},
        "audience": {"purchased_at": store["partner_id"], "within_days": 30},
    }
    camp = live.request("POST", "/v1/campaigns", ck, body).json()
    live.request("POST", f"/v1/campaigns/{camp['campaign_id']}/accept", sk)
    live.request("POST", f"/v1/campaigns/{camp['campaign_id']}/activate", ck)
    assert live.request("POST", f"/v1/customers/{cid}/portal-link", ck, {}).status_code == 202
    return ck, cid, {"url": last_link("+79161234567")}  # the link as the customer receives it


def test_the_page_shows_what_the_api_says_in_both_languages(live, phone):
    key, cid, link = _setup(live)
    api = live.request("GET", f"/v1/customers/{cid}/balance", key).json()
    response = phone.goto(link["url"])
    assert response.status == 200
    headers = response.headers
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"] and "noindex" in headers["x-robots-tag"]
    assert phone.locator("html").get_attribute("lang") == "ru"
    assert phone.get_by_test_id("available").inner_text().replace("\u00a0", "") == str(api["available"])
    assert phone.get_by_test_id("held").inner_text() == str(api["held"]) == "15"
    assert phone.get_by_test_id("pending").inner_text() == str(api["pending"])
    assert phone.get_by_test_id("tier").inner_text() == {"bronze": "Бронзовый"}[api["tier"]["name"]]
    assert phone.get_by_text("Сейчас предложений нет").count() == 0
    assert phone.get_by_text("+100 бонусных баллов").count() == 1
    entries = phone.get_by_test_id("entry")
    assert entries.count() == 4 and "Уют" in entries.first.inner_text() and "Стиль" in entries.nth(1).inner_text()
    assert phone.get_by_text("Мои бонусы").count() == 1
    screenshot(phone, "customer-page-ru-390x844")

    phone.get_by_role("link", name="English").click()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_text("My points")).to_have_count(1)
    assert phone.get_by_test_id("available").inner_text().replace(",", "") == str(api["available"])
    screenshot(phone, "customer-page-en-390x844")


def test_a_tampered_or_expired_link_shows_an_error_and_no_data(live, phone, clock):
    _, _, link = _setup(live)
    tampered = link["url"][:-3] + ("xyz" if not link["url"].endswith("xyz") else "abc")
    response = phone.goto(tampered)
    assert response.status == 401
    assert phone.get_by_role("alert").inner_text().startswith("Ссылка не работает")
    assert phone.get_by_test_id("available").count() == 0 and "Анна" not in phone.content()
    screenshot(phone, "customer-page-bad-link")
    clock.advance(timedelta(days=8))
    phone.goto(link["url"])
    assert phone.get_by_test_id("available").count() == 0
    assert phone.get_by_role("alert").count() == 1


def test_the_page_reads_without_javascript(live, browser):
    _, _, link = _setup(live)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(link["url"])
    assert page.get_by_test_id("available").is_visible()
    context.close()


def test_the_russian_page_reads_right_and_keeps_no_token(live, phone):
    """What a new customer saw: the token in the address bar, a captured hold counted twice, English tier names,
    "x1 баллов за покупку", a category as a code."""
    key, cid, link = _setup(live)
    hold = live.request("GET", f"/v1/customers/{cid}/transactions", key).json()["items"][0]
    assert hold["type"] == "hold"
    assert live.request("POST", f"/v1/redemptions/{hold['ref_id']}/capture", key, {}).status_code == 200
    phone.goto(link["url"])
    assert "token" not in phone.url and phone.url.endswith("/me")
    lines = [e.inner_text() for e in phone.get_by_test_id("entry").all()]
    assert sum("-15" in line for line in lines) == 1 and not any("Заморожено" in line for line in lines)
    assert phone.get_by_test_id("tier").inner_text() == "Бронзовый"
    assert phone.get_by_test_id("multiplier").inner_text() == "Баллы за покупки ×1"
    assert sorted(c.inner_text() for c in phone.get_by_test_id("category").all()) == ["Кафе", "Одежда"]
    assert "Bronze" not in phone.content() and "баллов за покупку" not in phone.content()
