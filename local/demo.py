"""The demo coalition of our brief: a clothing store, a café, a beauty salon and an online shop, with customers
and a few weeks of history. Seeded over HTTP, exactly as a partner's till would do it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from chalicelib.clock import ManualClock

PARTNERS = (
    # key, name, category, earn_rate_bps, max_redeem_share_bps, pending_days (return window), spend policy: the
    # customer's code always (the default), above 500 points a day per customer, or never (card scanners the
    # operator trusts); a hold made without a code lasts at most code_free_hold_minutes (default 30). The customer
    # page lists the two partners that may spend without a code, and each such spend is messaged to the customer.
    ("stil", "Стиль", "clothing", 300, 3000, 0, {"spend_confirmation": "always"}),
    ("uyut", "Уют", "cafe", 500, 5000, 0, {"spend_confirmation": "always"}),
    ("sharm", "Шарм", "beauty", 700, 5000, 0, {"spend_confirmation": "never", "code_free_hold_minutes": 20}),
    (
        "market",
        "Маркет онлайн",
        "online",
        400,
        2000,
        14,
        {"spend_confirmation": "above", "spend_confirmation_above_points": 500, "code_free_hold_minutes": 60},
    ),
)


# People who sign in with a one-time code (it lands in the development inbox): each partner's owner, a cashier and
# an accountant at the café, a marketer at the clothing store, and the operator's own staff.
OWNERS = {
    "stil": ("+7 900 100-00-01", "Ольга Стилева"),
    "uyut": ("+7 900 200-00-01", "Ирина Уютова"),
    "sharm": ("+7 900 300-00-01", "Дарья Шармова"),
    "market": ("+7 900 400-00-01", "Павел Маркетов"),
}
STAFF = (  # partner, phone, name, role
    ("uyut", "+7 900 200-00-02", "Олег Кассиров", "cashier"),
    ("uyut", "+7 900 200-00-03", "Нина Счётова", "accountant"),
    ("stil", "+7 900 100-00-02", "Марк Акциев", "marketer"),
)
OPERATOR_STAFF = ("+7 900 000-00-01", "Ольга Операторова", "operator")


@dataclass
class Demo:
    partners: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)


def http(base_url: str, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


DEMO_BOT = "coalition_loyalty_bot"


def _ok(result: tuple[int, Any]) -> Any:
    status, body = result
    if status >= 300:
        raise RuntimeError(f"demo seeding failed: {status} {body}")
    return body


def customer_code(base_url: str, phone: str) -> str:
    """The newest spend code sent to ``phone``, from the development inbox (``make run`` only)."""
    with urllib.request.urlopen(base_url + "/dev/inbox.json", timeout=30) as response:
        messages = json.loads(response.read())
    for message in messages:
        if message["to"] == phone and message.get("purpose") == "spend_code":
            return str(message["code"])
    raise RuntimeError(f"no spend code for {phone} in the development inbox (the demo needs LOYALTY_DEV_INBOX=1)")


def seed(base_url: str, operator_key: str, clock: ManualClock) -> Demo:
    """Build the demo. ``clock`` is the server's clock, moved along so the history spans several weeks."""
    demo = Demo()
    # A Telegram bot: the customer page offers "Connect Telegram"; with no channel switched on, the bot's
    # messages land in the development inbox like every other (docs/notifications.md, "Linking the bot").
    telegram = {"telegram": {"bot_username": DEMO_BOT}}
    _ok(http(base_url, "PUT", "/v1/admin/program", operator_key, {"notifications": telegram}))
    for slug, name, category, rate, share, pending_days, policy in PARTNERS:
        created = _ok(
            http(
                base_url,
                "POST",
                "/v1/admin/partners",
                operator_key,
                {
                    "name": name,
                    "category": category,
                    "earn_rate_bps": rate,
                    "max_redeem_share_bps": share,
                    "pending_days": pending_days,
                    "owner": {"phone": OWNERS[slug][0], "name": OWNERS[slug][1]},
                    **policy,
                },
            )
        )
        demo.partners[slug] = created
    key = {slug: p["api_key"] for slug, p in demo.partners.items()}
    for slug, phone, name, role in STAFF:
        _ok(http(base_url, "POST", "/v1/staff", key[slug], {"phone": phone, "name": name, "role": role}))
    phone, name, role = OPERATOR_STAFF
    _ok(http(base_url, "POST", "/v1/admin/staff", operator_key, {"phone": phone, "name": name, "role": role}))

    def post(slug: str, path: str, body: dict[str, Any]) -> Any:
        return _ok(http(base_url, "POST", path, key[slug], body))

    def with_code(slug: str, body: dict[str, Any]) -> Any:
        """A till of a partner whose policy asks for the customer's code: it asks the system to send one, and the
        customer reads it out (here: from the development inbox, where the SMS landed)."""
        post(slug, f"/v1/customers/{body['customer_id']}/spend-code", {})
        return post(
            slug, "/v1/redemptions", {**body, "customer_code": customer_code(base_url, slug_phone[body["customer_id"]])}
        )

    for who, ident in (
        ("anna", {"phone": "+7 916 123-45-67", "name": "Анна"}),
        ("ivan", {"phone": "8 (903) 111-22-33", "name": "Иван", "locale": "en"}),
        ("maria", {"card": "DEMO 0001", "name": "Мария"}),
    ):
        demo.customers[who] = post("uyut", "/v1/customers", ident)["customer_id"]
    anna, ivan, maria = demo.customers["anna"], demo.customers["ivan"], demo.customers["maria"]
    slug_phone = {anna: "+79161234567", ivan: "+79031112233"}

    day = timedelta(days=1)
    post("uyut", "/v1/accruals", {"customer_id": anna, "order_id": "UYUT-1001", "amount_minor": 84000})
    clock.advance(2 * day)
    post("stil", "/v1/accruals", {"customer_id": anna, "order_id": "STIL-2001", "amount_minor": 1_250_000})
    post("stil", "/v1/accruals", {"customer_id": ivan, "order_id": "STIL-2002", "amount_minor": 640_000})
    clock.advance(3 * day)
    post("sharm", "/v1/accruals", {"customer_id": maria, "order_id": "SHARM-3001", "amount_minor": 350_000})
    post("market", "/v1/accruals", {"customer_id": ivan, "order_id": "MKT-4001", "amount_minor": 990_000})
    clock.advance(4 * day)
    # Anna spends café and clothing points at the salon.
    post(
        "sharm",
        "/v1/redemptions",
        {"customer_id": anna, "order_id": "SHARM-3002", "order_amount_minor": 250_000, "points": 30},
    )
    clock.advance(day)
    with_code("uyut", {"customer_id": ivan, "order_id": "UYUT-1002", "order_amount_minor": 60_000, "points": 20})
    post("uyut", "/v1/accruals", {"customer_id": ivan, "order_id": "UYUT-1002", "amount_minor": 60_000})
    clock.advance(2 * day)
    # Ivan returns half of his jacket.
    post("stil", "/v1/refunds", {"order_id": "STIL-2002", "refund_id": "STIL-R-1", "amount_minor": 320_000})
    post("uyut", "/v1/accruals", {"customer_id": maria, "order_id": "UYUT-1003", "amount_minor": 52_000})
    post("sharm", "/v1/bonuses", {"customer_id": maria, "bonus_id": "SHARM-REVIEW-1", "reason": "review", "points": 50})
    clock.advance(day)
    # Maria orders online (pending for the 14-day return window); Anna's café till holds points for a coffee.
    post("market", "/v1/accruals", {"customer_id": maria, "order_id": "MKT-4002", "amount_minor": 420_000})
    with_code(
        "uyut",
        {
            "customer_id": anna,
            "order_id": "UYUT-1004",
            "order_amount_minor": 30_000,
            "points": 15,
            "capture": False,
            "hold_minutes": 60 * 24 * 7,
        },
    )
    # Уют pays 100 points to Стиль's recent customers for a first coffee; Стиль agrees.
    offer = post(
        "uyut",
        "/v1/campaigns",
        {
            "name": "Из Стиля в Уют",
            "earn_at": [demo.partners["uyut"]["partner_id"]],
            "audience": {"purchased_at": demo.partners["stil"]["partner_id"], "within_days": 30},
            "reward": {"type": "fixed", "points": 100},
            "budget_points": 30_000,
            "per_customer_limit": 1,
        },
    )
    post("stil", f"/v1/campaigns/{offer['campaign_id']}/accept", {})
    post("uyut", f"/v1/campaigns/{offer['campaign_id']}/activate", {})
    return demo
