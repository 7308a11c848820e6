"""Issue 15: one customer's simultaneous purchases against a campaign's per-customer limit, through the real HTTP
stack into a serialized moto server (every decision is taken on the same read; only the write's guard decides)."""

from tests.test_concurrency import _race


def test_simultaneous_purchases_of_one_customer_never_exceed_the_per_customer_limit(live):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют"}).json()
    key = cafe["api_key"]
    body = {
        "name": "Первая чашка",
        "earn_at": [cafe["partner_id"]],
        "reward": {"type": "fixed", "points": 100},
        "per_customer_limit": 1,
    }
    cid = live.request("POST", "/v1/campaigns", key, body).json()["campaign_id"]
    assert live.request("POST", f"/v1/campaigns/{cid}/activate", key).json()["status"] == "active"
    customer = live.request("POST", "/v1/customers", key, {"phone": "+79161234567"}).json()["customer_id"]

    def buy(i):
        order = {"customer_id": customer, "order_id": f"C-{i}", "amount_minor": 10_000}
        return live.request("POST", "/v1/accruals", key, order)

    results = _race(10, buy)
    assert {r.status_code for r in results} == {201}
    assert sorted(r.json()["bonus_points"] for r in results) == [0] * 9 + [100]
    balance = live.request("GET", f"/v1/customers/{customer}/balance", key).json()
    assert balance["available"] == 10 * 5 + 100
    report = live.request("GET", f"/v1/campaigns/{cid}/report", key).json()
    assert (report["awards"], report["customers"], report["points_awarded"]) == (1, 1, 100)
