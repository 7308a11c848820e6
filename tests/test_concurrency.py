"""Races from many client threads through the real HTTP stack into a serialized moto server."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from tests.conftest import TRUSTED


def _setup(live):
    r = live.request(
        "POST", "/v1/admin/partners", live.operator_key, {"name": "Уют", "max_redeem_share_bps": 10_000, **TRUSTED}
    )
    key = r.json()["api_key"]
    cid = live.request("POST", "/v1/customers", key, {"phone": "+79161234567"}).json()["customer_id"]
    return key, cid


def _race(n, fn):
    barrier = Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_fifty_simultaneous_spends_on_one_balance(live):
    key, cid = _setup(live)
    r = live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 200_000})
    assert r.json()["points"] == 100

    def spend(i):
        body = {"customer_id": cid, "order_id": f"R-{i}", "order_amount_minor": 100_000, "points": 10}
        return live.request("POST", "/v1/redemptions", key, body)

    results = _race(50, spend)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 10, statuses
    assert statuses.count(422) == 40, statuses
    assert {r.json()["code"] for r in results if r.status_code == 422} == {"insufficient_points"}
    balance = live.request("GET", f"/v1/customers/{cid}/balance", key).json()
    assert (balance["available"], balance["held"], balance["expiring"]) == (0, 0, [])
    history = live.request("GET", f"/v1/customers/{cid}/transactions?limit=100", key).json()["items"]
    assert sum(e["points"] for e in history) == 0
    assert sum(1 for e in history if e["type"] == "redemption") == 10


def test_twenty_identical_accruals_make_one(live):
    key, cid = _setup(live)
    body = {"customer_id": cid, "order_id": "A-7", "amount_minor": 150_000}
    results = _race(20, lambda i: live.request("POST", "/v1/accruals", key, body))
    assert {r.status_code for r in results} == {201}
    assert len({r.content for r in results}) == 1
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).json()["available"] == 75
    history = live.request("GET", f"/v1/customers/{cid}/transactions", key).json()["items"]
    assert [e["type"] for e in history] == ["accrual"]


def test_same_idempotency_key_at_once_executes_once(live):
    key, cid = _setup(live)
    live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 200_000})

    def spend(i):
        body = {"customer_id": cid, "order_id": "R-1", "order_amount_minor": 100_000, "points": 30}
        return live.request("POST", "/v1/redemptions", key, body, headers={"Idempotency-Key": "same-key"})

    results = _race(15, spend)
    assert {r.status_code for r in results} == {201}
    assert len({r.content for r in results}) == 1
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).json()["available"] == 70


def test_simultaneous_enrolments_of_one_phone_make_one_customer(live):
    r = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Уют", **TRUSTED})
    key = r.json()["api_key"]
    results = _race(10, lambda i: live.request("POST", "/v1/customers", key, {"phone": f"8916123456{7}"}))
    assert {r.status_code for r in results} <= {200, 201}
    assert [r.status_code for r in results].count(201) == 1
    assert len({r.json()["customer_id"] for r in results}) == 1


def test_simultaneous_eligible_purchases_never_exceed_a_campaign_budget(live):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", **TRUSTED}).json()
    key = cafe["api_key"]
    body = {
        "name": "Кофе в подарок",
        "earn_at": [cafe["partner_id"]],
        "reward": {"type": "fixed", "points": 100},
        "budget_points": 500,
    }
    cid = live.request("POST", "/v1/campaigns", key, body).json()["campaign_id"]
    assert live.request("POST", f"/v1/campaigns/{cid}/activate", key).json()["status"] == "active"
    customers = [
        live.request("POST", "/v1/customers", key, {"phone": f"+7916{i:07d}"}).json()["customer_id"] for i in range(30)
    ]

    def buy(i):
        body = {"customer_id": customers[i], "order_id": f"C-{i}", "amount_minor": 10_000}
        return live.request("POST", "/v1/accruals", key, body)

    results = _race(30, buy)
    assert {r.status_code for r in results} == {201}
    awarded = [r.json()["bonus_points"] for r in results]
    assert sum(awarded) == 500 and sorted(awarded, reverse=True)[:5] == [100] * 5 and awarded.count(0) == 25
    report = live.request("GET", f"/v1/campaigns/{cid}/report", key).json()
    assert (report["status"], report["awards"], report["points_awarded"], report["budget_remaining"]) == (
        "exhausted",
        5,
        500,
        0,
    )


def test_simultaneous_holds_never_hold_more_than_the_balance(live):
    key, cid = _setup(live)
    live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 200_000})

    def hold(i):
        body = {"customer_id": cid, "order_id": f"H-{i}", "order_amount_minor": 100_000, "points": 30, "capture": False}
        return live.request("POST", "/v1/redemptions", key, body)

    results = _race(20, hold)
    held = [r.json() for r in results if r.status_code == 201]
    assert len(held) == 3 and sum(r.status_code == 422 for r in results) == 17
    balance = live.request("GET", f"/v1/customers/{cid}/balance", key).json()
    assert (balance["available"], balance["held"]) == (10, 90)
    captures = _race(3, lambda i: live.request("POST", f"/v1/redemptions/{held[i]['redemption_id']}/capture", key))
    assert {r.status_code for r in captures} == {200}
    again = _race(6, lambda i: live.request("POST", f"/v1/redemptions/{held[i % 3]['redemption_id']}/void", key))
    assert {r.json()["code"] for r in again} == {"hold_already_resolved"}
    balance = live.request("GET", f"/v1/customers/{cid}/balance", key).json()
    assert (balance["available"], balance["held"]) == (10, 0)


def _campaign_body(partner_id, name):
    return {"name": name, "earn_at": [partner_id], "reward": {"type": "fixed", "points": 100}}


def _campaign_ids(live, key):
    return [c["campaign_id"] for c in live.request("GET", "/v1/campaigns", key).json()["items"]]


def test_one_idempotency_key_raced_on_campaign_creation_makes_one_campaign(live):
    cafe = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Уют", **TRUSTED}).json()
    key, body = cafe["api_key"], _campaign_body(cafe["partner_id"], "Кофе")
    h = {"Idempotency-Key": "camp-1"}
    results = _race(10, lambda i: live.request("POST", "/v1/campaigns", key, body, headers=h))
    assert {r.status_code for r in results} == {201}
    assert len({r.content for r in results}) == 1
    assert _campaign_ids(live, key) == [results[0].json()["campaign_id"]]


def test_one_idempotency_key_raced_with_two_bodies_binds_one(live):
    cafe = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Уют", **TRUSTED}).json()
    key, h = cafe["api_key"], {"Idempotency-Key": "camp-2"}
    bodies = [_campaign_body(cafe["partner_id"], name) for name in ("Кофе", "Чай")]
    results = _race(10, lambda i: live.request("POST", "/v1/campaigns", key, bodies[i % 2], headers=h))
    won = [r for r in results if r.status_code == 201]
    lost = [r for r in results if r.status_code != 201]
    assert won and lost and {r.status_code for r in lost} == {409}
    assert {r.json()["code"] for r in lost} == {"idempotency_key_reused"}
    assert len({r.content for r in won}) == 1
    winner = won[0].json()["name"]
    assert all(bodies[i % 2]["name"] == winner for i, r in enumerate(results) if r.status_code == 201)
    assert _campaign_ids(live, key) == [won[0].json()["campaign_id"]]


def test_one_key_raced_while_the_first_answer_is_an_error_binds_that_error(live):
    key, cid = _setup(live)
    live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 20_000})
    h = {"Idempotency-Key": "spend-1"}
    body = {"customer_id": cid, "order_id": "R-1", "order_amount_minor": 100_000, "points": 30}
    results = _race(10, lambda i: live.request("POST", "/v1/redemptions", key, body, headers=h))
    assert {r.status_code for r in results} == {422} and len({r.content for r in results}) == 1
    live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-2", "amount_minor": 200_000})
    later = live.request("POST", "/v1/redemptions", key, body, headers=h)
    assert later.status_code == 422 and later.content == results[0].content


def test_bodies_raced_on_one_order_id_make_one_success_and_each_refusal_stays_its_own(live):
    """Under a natural id a refusal binds only its body: raced with two payable bodies and one refused, one body
    wins, the other payable one is a duplicate_order, and the refused one keeps whichever answer it first got."""
    key, cid = _setup(live)
    live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 200_000})
    bodies = [
        {"customer_id": cid, "order_id": "R-1", "order_amount_minor": 100_000, "points": points}
        for points in (30, 40, 500)  # 100 points available: the last is refused
    ]
    results = _race(12, lambda i: live.request("POST", "/v1/redemptions", key, bodies[i % 3]))
    won = {r.content for r in results if r.status_code == 201}
    assert len(won) == 1, [r.status_code for r in results]
    points = next(r.json()["points"] for r in results if r.status_code == 201)
    for i, r in enumerate(results):
        if bodies[i % 3]["points"] == points:
            assert r.status_code == 201
        elif bodies[i % 3]["points"] != 500:
            assert (r.status_code, r.json()["code"]) == (409, "duplicate_order")
        else:
            assert (r.status_code, r.json()["code"]) in ((422, "insufficient_points"), (409, "duplicate_order"))
    refusals = {r.content for i, r in enumerate(results) if i % 3 == 2 and r.status_code == 422}
    assert len(refusals) <= 1
    again = live.request("POST", "/v1/redemptions", key, bodies[2])
    assert again.content in refusals if refusals else again.json()["code"] == "duplicate_order"
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).json()["available"] == 100 - points
    history = live.request("GET", f"/v1/customers/{cid}/transactions", key).json()["items"]
    assert sum(1 for e in history if e["type"] == "redemption") == 1
