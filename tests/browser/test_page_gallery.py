"""Every page of both UIs, in both languages, at a phone and a desktop size: full-page screenshots and the served
HTML into test-artifacts/gallery (or $GALLERY_DIR), for eyes and for before/after comparisons of a refactor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.browser.conftest import ARTIFACTS
from tests.conftest import TRUSTED, last_link

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
OUT = Path(os.environ.get("GALLERY_DIR") or ARTIFACTS / "gallery")


def _coalition(live: Any) -> dict[str, Any]:
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "category": "cafe", **TRUSTED}).json()
    store = live.request(
        "POST", "/v1/admin/partners", op, {"name": "Стиль", "category": "clothing", "earn_rate_bps": 300, **TRUSTED}
    ).json()
    ck, sk = cafe["api_key"], store["api_key"]
    cid = live.request("POST", "/v1/customers", ck, {"phone": "+79161234567", "name": "Анна"}).json()["customer_id"]
    live.request("POST", "/v1/accruals", sk, {"customer_id": cid, "order_id": "S-1", "amount_minor": 1_000_000})
    body = {
        "name": "Из Стиля в Уют <b>&</b>",
        "earn_at": [cafe["partner_id"]],
        "reward": {"type": "fixed", "points": 100},
        "audience": {"purchased_at": store["partner_id"], "within_days": 30},
        "budget_points": 30_000,
        "per_customer_limit": 1,
        "min_amount_minor": 50_000,
    }
    camp = live.request("POST", "/v1/campaigns", ck, body).json()["campaign_id"]
    live.request("POST", f"/v1/campaigns/{camp}/accept", sk)
    live.request("POST", f"/v1/campaigns/{camp}/activate", ck)
    waiting = {
        "name": "Скидка в Стиле",
        "earn_at": [store["partner_id"]],
        "reward": {"type": "percent", "rate_bps": 250},
        "audience": {"purchased_at": cafe["partner_id"], "within_days": 60},
    }
    live.request("POST", "/v1/campaigns", sk, waiting)
    live.request("POST", "/v1/accruals", ck, {"customer_id": cid, "order_id": "C-1", "amount_minor": 60_000})
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
    assert live.request("POST", f"/v1/customers/{cid}/portal-link", ck, {}).status_code == 202
    link = last_link("+79161234567")  # the link as the customer receives it
    return {"cafe_key": ck, "campaign": camp, "link": link}


def _shoot(page: Any, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    (OUT / f"{name}.html").write_text(page.content())


def _portal_pages(page: Any, live: Any, data: dict[str, Any], lang: str, size: str) -> None:
    base = f"{live.url}/portal"
    page.goto(f"{base}?lang={lang}")
    _shoot(page, f"portal-sign-in-{lang}-{size}")
    page.locator("#api_key").fill("wrong")
    page.locator("#api_key").press("Enter")
    _shoot(page, f"portal-sign-in-error-{lang}-{size}")
    page.locator("#api_key").fill(data["cafe_key"])
    page.locator("#api_key").press("Enter")
    _shoot(page, f"portal-dashboard-{lang}-{size}")
    page.goto(f"{base}/campaigns/new")
    page.locator("#name").fill("Кофе <i>")
    page.locator("#from_partner").select_option(index=1)
    page.locator("#min_amount").fill("500")
    _shoot(page, f"portal-new-{lang}-{size}")
    page.locator("form[action='/portal/campaigns/preview'] button").click()
    _shoot(page, f"portal-preview-{lang}-{size}")
    page.goto(f"{base}/campaigns/{data['campaign']}")
    _shoot(page, f"portal-campaign-{lang}-{size}")
    page.goto(f"{base}/settlements")
    _shoot(page, f"portal-settlements-{lang}-{size}")
    page.goto(f"{base}/campaigns/cmp_0000000000000000")
    _shoot(page, f"portal-error-{lang}-{size}")
    page.goto(f"{base}/campaigns/new")
    page.locator("#reward_value").evaluate("e => e.removeAttribute('min')")
    page.locator("#name").fill("X")
    page.locator("#reward_value").fill("0")
    page.locator("form[action='/portal/campaigns/preview'] button").click()
    _shoot(page, f"portal-form-error-{lang}-{size}")


def test_gallery(live, browser):
    data = _coalition(live)
    for size, viewport in SIZES.items():
        for lang in ("ru", "en"):
            context = browser.new_context(viewport=viewport, java_script_enabled=size == "desktop")
            page = context.new_page()
            page.goto(f"{data['link']}&lang={lang}")
            _shoot(page, f"customer-{lang}-{size}")
            page.get_by_test_id("show-code").click()  # a code and its QR to pay with points
            _shoot(page, f"customer-spend-code-{lang}-{size}")
            page.goto(f"{data['link'][:-3]}xyz&lang={lang}")
            _shoot(page, f"customer-bad-link-{lang}-{size}")
            context.close()
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"{live.url}/me/sign-in?lang={lang}")
            _shoot(page, f"customer-sign-in-{lang}-{size}")
            page.locator("#identifier").fill("+7 916 123-45-67")
            page.locator("form[action^='/me/sign-in'] button").click()
            _shoot(page, f"customer-sign-in-code-{lang}-{size}")
            context.close()
            context = browser.new_context(viewport=viewport)
            _portal_pages(context.new_page(), live, data, lang, size)
            context.close()
    assert len(list(OUT.glob("*.png"))) >= 2 * 2 * 14
