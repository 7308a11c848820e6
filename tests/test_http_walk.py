"""The issue's acceptance walk, over real HTTP, as a partner's developer would do it."""

import json

import pytest

from tests.conftest import TRUSTED, table_snapshot

PROBLEM = "application/problem+json"


def ok(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["request_id"] and body["detail"]
    return body


def test_walk_through_every_route(live):
    L, op = live, live.operator_key
    assert ok(L.request("GET", "/health"), 200)["status"] == "ok"
    spec = ok(L.request("GET", "/openapi.json"), 200)
    assert spec["openapi"].startswith("3.1")

    # operator: program and partners
    program = ok(L.request("GET", "/v1/admin/program", op), 200)
    assert program["point_value_minor"] == 100
    cafe = ok(L.request("POST", "/v1/admin/partners", op, {"name": "Уют", "category": "cafe", **TRUSTED}), 201)
    store = ok(
        L.request(
            "POST",
            "/v1/admin/partners",
            op,
            {"name": "Стиль", "earn_rate_bps": 300, "max_redeem_share_bps": 3000, **TRUSTED},
        ),
        201,
    )
    ck, sk = cafe["api_key"], store["api_key"]
    assert len(ok(L.request("GET", "/v1/admin/partners", op), 200)["items"]) == 2
    assert ok(L.request("GET", f"/v1/admin/partners/{cafe['partner_id']}", op), 200)["name"] == "Уют"
    problem(L.request("GET", "/v1/admin/partners/ptn_000000000000", op), 404, "not_found")
    assert ok(L.request("GET", "/v1/partner", ck), 200)["partner_id"] == cafe["partner_id"]
    assert len(ok(L.request("GET", "/v1/partners", sk), 200)["items"]) == 2

    # customers
    enrolled = ok(L.request("POST", "/v1/customers", ck, {"phone": "+7 916 123-45-67", "name": "Анна"}), 201)
    cid = enrolled["customer_id"]
    assert ok(L.request("POST", "/v1/customers", sk, {"phone": "89161234567"}), 200) == {
        "customer_id": cid,
        "created": False,
    }
    assert ok(L.request("GET", "/v1/customers/lookup?phone=%2B79161234567", sk), 200)["customer_id"] == cid

    # earn at the café: 1 500 RUB at 5 % = 75 points
    accrual = {"customer_id": cid, "order_id": "UYUT-1", "amount_minor": 150_000}
    earned = L.request("POST", "/v1/accruals", ck, accrual, headers={"Idempotency-Key": "uyut-till-1"})
    assert ok(earned, 201)["points"] == 75
    replay = L.request("POST", "/v1/accruals", ck, accrual, headers={"Idempotency-Key": "uyut-till-1"})
    assert replay.status_code == 201 and replay.content == earned.content
    problem(
        L.request(
            "POST", "/v1/accruals", ck, {**accrual, "amount_minor": 1}, headers={"Idempotency-Key": "uyut-till-1"}
        ),
        409,
        "idempotency_key_reused",
    )
    problem(L.request("POST", "/v1/accruals", ck, {**accrual, "amount_minor": 1}), 409, "duplicate_order")

    # spend at the clothing store: its cap is 30 % of the order
    quote = ok(L.request("POST", "/v1/redemptions/quote", sk, {"customer_id": cid, "order_amount_minor": 10_000}), 200)
    assert quote == {"available": 75, "max_points": 30, "max_discount_minor": 3_000}
    capped = problem(
        L.request(
            "POST",
            "/v1/redemptions",
            sk,
            {"customer_id": cid, "order_id": "STIL-0", "order_amount_minor": 10_000, "points": 31},
        ),
        422,
        "redemption_cap_exceeded",
    )
    assert capped["max_points"] == 30
    spend = {"customer_id": cid, "order_id": "STIL-1", "order_amount_minor": 10_000, "points": 30}
    spent = L.request("POST", "/v1/redemptions", sk, spend)
    assert ok(spent, 201)["discount_minor"] == 3_000
    assert L.request("POST", "/v1/redemptions", sk, spend).content == spent.content
    problem(
        L.request(
            "POST",
            "/v1/redemptions",
            sk,
            {**spend, "order_id": "STIL-2", "points": 1_000, "order_amount_minor": 10_000_000},
        ),
        422,
        "insufficient_points",
    )

    # balance and history
    balance = ok(L.request("GET", f"/v1/customers/{cid}/balance", ck), 200)
    assert (balance["available"], balance["pending"], balance["held"]) == (45, 0, 0)
    assert balance["tier"]["name"] == "bronze" and balance["tier"]["spend_12m_minor"] == 150_000
    cafe_history = ok(L.request("GET", f"/v1/customers/{cid}/transactions", ck), 200)
    assert [e["type"] for e in cafe_history["items"]] == ["accrual"]
    store_history = ok(L.request("GET", f"/v1/customers/{cid}/transactions", sk), 200)
    assert [(e["type"], e["points"]) for e in store_history["items"]] == [("redemption", -30)]

    # refund half of the café order: 37 points reversed, all still there
    refund = {"order_id": "UYUT-1", "refund_id": "UYUT-R1", "amount_minor": 75_000}
    refunded = ok(L.request("POST", "/v1/refunds", ck, refund), 201)
    assert (refunded["points_reversed"], refunded["points_shortfall"], refunded["points_returned"]) == (37, 0, 0)
    rest = ok(L.request("POST", "/v1/refunds", ck, {**refund, "refund_id": "UYUT-R2"}), 201)
    assert (rest["points_reversed"], rest["points_shortfall"], rest["shortfall_minor"]) == (38, 30, 3_000)
    problem(
        L.request("POST", "/v1/refunds", ck, {**refund, "refund_id": "UYUT-R3", "amount_minor": 1}),
        422,
        "refund_exceeds_order",
    )
    problem(L.request("POST", "/v1/refunds", ck, {**refund, "amount_minor": 1}), 409, "duplicate_refund")
    problem(L.request("POST", "/v1/refunds", sk, {**refund, "refund_id": "X"}), 404, "order_not_found")
    assert ok(L.request("GET", f"/v1/customers/{cid}/balance", ck), 200)["available"] == 0

    # keys: rotate, revoke; suspension
    new_key = ok(L.request("POST", f"/v1/admin/partners/{cafe['partner_id']}/keys", op), 201)
    assert (
        L.request("DELETE", f"/v1/admin/partners/{cafe['partner_id']}/keys/{new_key['key_id']}", op).status_code == 204
    )
    problem(L.request("GET", "/v1/partner", new_key["api_key"]), 401, "unauthorized")
    ok(L.request("PATCH", f"/v1/admin/partners/{store['partner_id']}", op, {"status": "suspended"}), 200)
    problem(
        L.request("POST", "/v1/redemptions/quote", sk, {"customer_id": cid, "order_amount_minor": 100}),
        403,
        "partner_suspended",
    )
    ok(L.request("PUT", "/v1/admin/program", op, {"operator_fee_bps": 100}), 200)

    # who may do what
    problem(L.request("GET", "/v1/partner"), 401, "unauthorized")
    problem(L.request("GET", "/v1/partner", "lk_not-a-key"), 401, "unauthorized")
    problem(L.request("GET", "/v1/admin/partners", ck), 403, "forbidden")
    problem(L.request("GET", "/v1/partner", op), 403, "forbidden")


MALFORMED = [
    ("not json", b"{nope", {}, 400, "invalid_json"),
    ("array body", b"[1, 2]", {}, 422, "validation_error"),
    (
        "float amount",
        json.dumps({"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A", "amount_minor": 1.5}).encode(),
        {},
        422,
        "validation_error",
    ),
    (
        "string amount",
        json.dumps({"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A", "amount_minor": "15"}).encode(),
        {},
        422,
        "validation_error",
    ),
    (
        "negative amount",
        json.dumps({"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A", "amount_minor": -5}).encode(),
        {},
        422,
        "validation_error",
    ),
    (
        "beyond 64 bits",
        json.dumps({"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A", "amount_minor": 2**70}).encode(),
        {},
        422,
        "validation_error",
    ),
    (
        "unknown field",
        json.dumps(
            {"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A", "amount_minor": 5, "points": 1000}
        ).encode(),
        {},
        422,
        "validation_error",
    ),
    (
        "emoji id",
        json.dumps({"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "💸", "amount_minor": 5}).encode(),
        {},
        422,
        "validation_error",
    ),
    (
        "control chars",
        json.dumps({"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A\u0000B", "amount_minor": 5}).encode(),
        {},
        422,
        "validation_error",
    ),
    ("NaN", b'{"customer_id": "cus_aaaaaaaaaaaaaaaa", "order_id": "A", "amount_minor": NaN}', {}, 400, "invalid_json"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, {}, 413, "payload_too_large"),
    ("nested 5000", b'{"a":' * 5000 + b"1" + b"}" * 5000, {}, 400, "invalid_json"),
    ("1 MB", b'{"order_id": "' + b"x" * 1_000_000 + b'"}', {}, 413, "payload_too_large"),
    ("form body", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
]


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_is_a_clear_4xx_and_writes_nothing(live, raw, headers, status, code):
    cafe = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Уют", **TRUSTED}).json()
    before = table_snapshot()
    response = live.request("POST", "/v1/accruals", cafe["api_key"], raw=raw, headers=headers)
    body = problem(response, status, code)
    assert "Traceback" not in response.text
    if code == "validation_error":
        assert body["errors"] and body["errors"][0]["loc"][0] == "body"
    assert table_snapshot() == before
