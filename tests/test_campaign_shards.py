"""A campaign's budget spread over shard items: simultaneous awards land on different items (no single hot item),
the budget is still used exactly, to the last point, and a pause stops the shards at once."""

from chalicelib import db
from chalicelib.db import keys
from tests.conftest import TRUSTED
from tests.test_concurrency import _race


def _shards(campaign_id: str) -> dict[int, tuple[int, int]]:
    """shard -> (points used, awards counted) for every shard item the campaign has."""
    found = db.get_many([(db.CampaignShardItem, *k) for k in keys.campaign_shards(campaign_id, keys.CAMPAIGN_SHARDS)])
    return {
        k: (int(item.used), int(item.awards))
        for k, key in enumerate(keys.campaign_shards(campaign_id, keys.CAMPAIGN_SHARDS))
        if (item := found.get(key)) is not None
    }


def test_simultaneous_awards_spread_over_the_shards_and_use_the_budget_exactly(live):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", **TRUSTED}).json()
    key = cafe["api_key"]
    body = {
        "name": "Большой бюджет",
        "earn_at": [cafe["partner_id"]],
        "reward": {"type": "fixed", "points": 700},
        "budget_points": 8_000,  # 8 shards of 1,000: 700 fits once in each, then awards borrow across shards
    }
    cid = live.request("POST", "/v1/campaigns", key, body).json()["campaign_id"]
    assert live.request("POST", f"/v1/campaigns/{cid}/activate", key).json()["status"] == "active"
    assert sorted(_shards(cid)) == list(range(8))  # activation created them, open
    customers = [
        live.request("POST", "/v1/customers", key, {"phone": f"+7916{i:07d}"}).json()["customer_id"] for i in range(16)
    ]

    def buy(i):
        body = {"customer_id": customers[i], "order_id": f"C-{i}", "amount_minor": 10_000}
        return live.request("POST", "/v1/accruals", key, body)

    results = _race(16, buy)
    assert {r.status_code for r in results} == {201}
    awarded = sorted((r.json()["bonus_points"] for r in results), reverse=True)
    assert sum(awarded) == 8_000 and awarded == [700] * 11 + [300] + [0] * 4  # the last award: what was left
    shards = _shards(cid)
    assert sum(u for u, _ in shards.values()) == 8_000 and all(u == 1_000 for u, _ in shards.values())
    assert sum(1 for _, awards in shards.values() if awards) >= 4  # the awards were counted on many items
    report = live.request("GET", f"/v1/campaigns/{cid}/report", key).json()
    assert (report["status"], report["awards"], report["points_awarded"], report["budget_remaining"]) == (
        "exhausted",
        12,
        8_000,
        0,
    )
    assert sum(d["points_awarded"] for d in report["daily"]) == 8_000 and len(report["daily"]) == 1


def test_a_paused_campaign_closes_its_shards_and_resuming_opens_them(live):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", **TRUSTED}).json()
    key = cafe["api_key"]
    body = {"name": "Пауза", "earn_at": [cafe["partner_id"]], "reward": {"type": "fixed", "points": 10}}
    cid = live.request("POST", "/v1/campaigns", key, body).json()["campaign_id"]
    live.request("POST", f"/v1/campaigns/{cid}/activate", key)
    live.request("POST", f"/v1/campaigns/{cid}/pause", key)
    closed = db.get_many([(db.CampaignShardItem, *k) for k in keys.campaign_shards(cid, keys.CAMPAIGN_SHARDS)])
    assert len(closed) == keys.CAMPAIGN_SHARDS and {s.closed for s in closed.values()} == {"paused"}
    live.request("POST", f"/v1/campaigns/{cid}/activate", key)
    opened = db.get_many([(db.CampaignShardItem, *k) for k in keys.campaign_shards(cid, keys.CAMPAIGN_SHARDS)])
    assert {s.closed for s in opened.values()} == {None}
    customer = live.request("POST", "/v1/customers", key, {"phone": "+79160000001"}).json()["customer_id"]
    got = live.request(
        "POST", "/v1/accruals", key, {"customer_id": customer, "order_id": "P-1", "amount_minor": 10_000}
    )
    assert got.json()["bonus_points"] == 10
