"""Every guard raced through the real HTTP stack into a serialized moto server — lots across issuers,
the bonus daily cap, refunds of one order, and two customers on one order."""

from tests.conftest import TRUSTED
from tests.test_concurrency import _race


def _partner(live, name, **extra):
    body = {"name": name, "max_redeem_share_bps": 10_000, **TRUSTED, **extra}
    r = live.request("POST", "/v1/admin/partners", live.operator_key, body)
    assert r.status_code == 201, r.text
    return r.json()["api_key"], r.json()["partner_id"]


def _customer(live, key, phone):
    return live.request("POST", "/v1/customers", key, {"phone": phone}).json()["customer_id"]


def _accrue(live, key, cid, order_id, amount):
    r = live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": order_id, "amount_minor": amount})
    assert r.status_code == 201, r.text
    return r.json()


def test_parallel_spends_across_two_issuers_never_take_a_lot_below_zero(live):
    """Two lots from different issuers expiring together: each spend takes the earliest lot first. Without the per-lot
    guard, parallel spends drive one lot negative and credit its issuer with points it never issued."""
    a_key, a_id = _partner(live, "Уют")
    b_key, b_id = _partner(live, "Стиль")
    shop_key, _ = _partner(live, "Шарм")
    cid = _customer(live, a_key, "+79161234567")
    assert _accrue(live, a_key, cid, "A-1", 200_000)["points"] == 100
    assert _accrue(live, b_key, cid, "B-1", 200_000)["points"] == 100

    def spend(i):
        body = {"customer_id": cid, "order_id": f"S-{i}", "order_amount_minor": 100_000, "points": 30}
        return live.request("POST", "/v1/redemptions", shop_key, body)

    statuses = sorted(r.status_code for r in _race(10, spend))
    assert statuses.count(201) == 6 and statuses.count(422) == 4, statuses
    balance = live.request("GET", f"/v1/customers/{cid}/balance", a_key).json()
    assert balance["available"] == 20
    statement = live.request("GET", "/v1/settlements/2026-03", shop_key).json()
    flows = {f["issuer_partner_id"]: f["points"] for f in statement["flows"]}
    assert sum(flows.values()) == 180 and flows[a_id] <= 100 and flows[b_id] <= 100, flows
    recon = live.request("GET", "/v1/admin/settlements/2026-03/reconciliation", live.operator_key).json()
    assert recon["matches"], recon


def test_parallel_bonuses_never_exceed_the_daily_cap(live):
    key, _ = _partner(live, "Уют")
    cid = _customer(live, key, "+79161234567")

    def bonus(i):
        body = {"customer_id": cid, "bonus_id": f"rev-{i}", "reason": "review", "points": 50}
        return live.request("POST", "/v1/bonuses", key, body)

    results = _race(10, bonus)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1 and statuses.count(422) == 9, statuses
    assert {r.json()["code"] for r in results if r.status_code == 422} == {"bonus_limit_reached"}
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).json()["available"] == 50


def test_parallel_refunds_of_one_order_never_exceed_it(live):
    key, _ = _partner(live, "Уют")
    cid = _customer(live, key, "+79161234567")
    assert _accrue(live, key, cid, "X", 100_000)["points"] == 50

    def refund(i):
        body = {"order_id": "X", "refund_id": f"R-{i}", "amount_minor": 40_000}
        return live.request("POST", "/v1/refunds", key, body)

    results = _race(6, refund)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 2 and statuses.count(422) == 4, statuses
    assert sum(r.json()["points_reversed"] for r in results if r.status_code == 201) == 40
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).json()["available"] == 10
    last = live.request("POST", "/v1/refunds", key, {"order_id": "X", "refund_id": "R-last", "amount_minor": 20_000})
    assert last.status_code == 201 and last.json()["points_reversed"] == 10


def test_two_customers_racing_for_one_order_leave_one_owner(live):
    key, _ = _partner(live, "Уют")
    x = _customer(live, key, "+79161234567")
    y = _customer(live, key, "+79161234568")
    _accrue(live, key, y, "Y-0", 400_000)  # 200 points to spend

    def op(i):
        order = f"O-{i // 2}"
        if i % 2:
            body = {"customer_id": y, "order_id": order, "order_amount_minor": 100_000, "points": 10}
            return live.request("POST", "/v1/redemptions", key, body)
        return live.request("POST", "/v1/accruals", key, {"customer_id": x, "order_id": order, "amount_minor": 100_000})

    results = _race(12, op)
    for n in range(6):
        pair = sorted(r.status_code for r in results[2 * n : 2 * n + 2])
        assert pair == [201, 409], pair
        loser = next(r for r in results[2 * n : 2 * n + 2] if r.status_code == 409)
        assert loser.json()["code"] == "order_conflict"
        refunded = live.request(
            "POST", "/v1/refunds", key, {"order_id": f"O-{n}", "refund_id": f"R-{n}", "amount_minor": 100_000}
        )
        assert refunded.status_code == 201, refunded.text
    assert live.request("GET", f"/v1/customers/{y}/balance", key).json()["available"] == 200
    assert live.request("GET", f"/v1/customers/{x}/balance", key).json()["available"] == 0
