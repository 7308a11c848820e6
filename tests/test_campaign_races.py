"""One customer's simultaneous purchases against a campaign's per-customer limit, through the real HTTP
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


def test_simultaneous_creates_never_exceed_the_open_campaign_limit(live):
    from chalicelib.services.campaigns import MAX_OPEN_PER_SPONSOR

    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют"}).json()
    key = cafe["api_key"]

    def create(i):
        body = {"name": f"A{i}", "earn_at": [cafe["partner_id"]], "reward": {"type": "fixed", "points": 1}}
        return live.request("POST", "/v1/campaigns", key, body)

    for i in range(MAX_OPEN_PER_SPONSOR - 3):
        assert create(i).status_code == 201
    results = _race(10, lambda i: create(100 + i))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 3 + [409] * 7, statuses
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"campaign_limit_reached"}
    assert len(live.request("GET", "/v1/campaigns", key).json()["items"]) == MAX_OPEN_PER_SPONSOR


def test_simultaneous_activations_never_exceed_the_active_campaign_limit_at_a_partner(live):
    from chalicelib.services.campaigns import MAX_ACTIVE_PER_PARTNER

    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют"}).json()
    key = cafe["api_key"]
    body = {"earn_at": [cafe["partner_id"]], "reward": {"type": "fixed", "points": 1}}
    ids = [
        live.request("POST", "/v1/campaigns", key, {**body, "name": f"A{i}"}).json()["campaign_id"]
        for i in range(MAX_ACTIVE_PER_PARTNER + 4)
    ]
    for cid in ids[: MAX_ACTIVE_PER_PARTNER - 2]:
        assert live.request("POST", f"/v1/campaigns/{cid}/activate", key).status_code == 200
    racers = ids[MAX_ACTIVE_PER_PARTNER - 2 :]
    results = _race(len(racers), lambda i: live.request("POST", f"/v1/campaigns/{racers[i]}/activate", key))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 2 + [409] * 4, statuses
    listed = live.request("GET", "/v1/campaigns", key).json()["items"]
    assert sum(x["status"] == "active" for x in listed) == MAX_ACTIVE_PER_PARTNER
