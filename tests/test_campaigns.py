"""Cross-promo campaigns over the API."""

from datetime import timedelta

import pytest

from tests.test_api_ledger import accrue, enrol, refund


def campaign(c, **overrides):
    body = {
        "name": "Из Стиля в Уют",
        "earn_at": [c.ids["cafe"]],
        "audience": {"purchased_at": c.ids["store"], "within_days": 30},
        "reward": {"type": "fixed", "points": 100},
        "budget_points": 1000,
        "per_customer_limit": 1,
        **overrides,
    }
    r = c.cafe.post("/v1/campaigns", body)
    assert r.status == 201, r.json
    return r.json


def live_campaign(c, **overrides):
    camp = campaign(c, **overrides)
    cid = camp["campaign_id"]
    if c.ids["store"] in camp["awaiting_acceptance"]:
        assert c.store.post(f"/v1/campaigns/{cid}/accept").status == 200
    r = c.cafe.post(f"/v1/campaigns/{cid}/activate")
    assert r.status == 200, r.json
    return cid


def test_cafe_pays_to_bring_the_stores_recent_customers(coalition, clock):
    c = coalition
    camp = campaign(c)
    cid = camp["campaign_id"]
    assert camp["status"] == "pending_acceptance" and camp["awaiting_acceptance"] == [c.ids["store"]]
    blocked = c.cafe.post(f"/v1/campaigns/{cid}/activate")
    assert blocked.status == 409 and blocked["code"] == "campaign_not_accepted"
    assert c.store.get(f"/v1/campaigns/{cid}").status == 200  # the named partner sees it
    assert c.salon.get(f"/v1/campaigns/{cid}").status == 404  # others do not even learn it exists
    assert c.store.post(f"/v1/campaigns/{cid}/activate").status == 403  # only the sponsor runs it
    accepted = c.store.post(f"/v1/campaigns/{cid}/accept")
    assert accepted.status == 200 and accepted["awaiting_acceptance"] == []
    active = c.cafe.post(f"/v1/campaigns/{cid}/activate")
    assert active.status == 200 and active["status"] == "active"

    shopper, stranger, lapsed = (enrol(c.store, phone=f"+7916000000{i}") for i in range(3))
    accrue(c.store, lapsed, "S-0", 100_000)
    clock.advance(timedelta(days=31))
    accrue(c.store, shopper, "S-1", 100_000)
    clock.advance(timedelta(days=2))

    got = accrue(c.cafe, shopper, "C-1", 50_000)
    assert (got["points"], got["bonus_points"], got["awards"]) == (25, 100, [{"campaign_id": cid, "points": 100}])
    assert got["balance"]["available"] == 30 + 25 + 100
    assert accrue(c.cafe, stranger, "C-2", 50_000)["awards"] == []  # never bought at the store
    assert accrue(c.cafe, lapsed, "C-3", 50_000)["awards"] == []  # bought there 33 days ago
    assert accrue(c.cafe, shopper, "C-4", 50_000)["awards"] == []  # per-customer limit of 1
    assert accrue(c.salon, shopper, "B-1", 50_000)["awards"] == []  # not an earn_at partner

    report = c.cafe.get(f"/v1/campaigns/{cid}/report").json
    assert report["awards"] == 1 and report["customers"] == 1 and report["new_customers"] == 1
    assert (report["points_awarded"], report["budget_points"], report["budget_remaining"]) == (100, 1000, 900)
    assert (report["cost_minor"], report["revenue_minor"], report["revenue_per_cost_bps"]) == (10_000, 50_000, 50_000)
    assert report["daily"] == [{"date": "2026-04-12", "awards": 1, "points_awarded": 100, "revenue_minor": 50_000}]
    assert c.store.get(f"/v1/campaigns/{cid}/report").status == 200
    assert c.salon.get(f"/v1/campaigns/{cid}/report").status == 404

    from chalicelib import db

    award = next(e for e in db.EntryItem.scan() if e.pk.startswith("CUST#") and e.type == "campaign_award")
    assert {k.split("|")[1] for k in award.lots.as_dict()} == {c.ids["cafe"]}  # funded by the sponsor


def test_listing_shows_sponsored_and_named_campaigns_only(coalition):
    c = coalition
    cid = campaign(c)["campaign_id"]
    assert [x["campaign_id"] for x in c.cafe.get("/v1/campaigns")["items"]] == [cid]
    assert [x["campaign_id"] for x in c.store.get("/v1/campaigns")["items"]] == [cid]
    assert c.salon.get("/v1/campaigns")["items"] == []


def test_pause_stops_awards_and_end_is_final(coalition):
    c = coalition
    cid = live_campaign(c, audience={"new_to_partner": True}, per_customer_limit=None)
    assert c.cafe.post(f"/v1/campaigns/{cid}/pause")["status"] == "paused"
    a = enrol(c.cafe, phone="+79160000001")
    assert accrue(c.cafe, a, "C-1", 50_000)["awards"] == []
    assert c.cafe.post(f"/v1/campaigns/{cid}/activate")["status"] == "active"
    b = enrol(c.cafe, phone="+79160000002")
    assert accrue(c.cafe, b, "C-2", 50_000)["bonus_points"] == 100
    assert accrue(c.cafe, b, "C-3", 50_000)["awards"] == []  # no longer new to the café
    assert c.cafe.post(f"/v1/campaigns/{cid}/end")["status"] == "ended"
    again = c.cafe.post(f"/v1/campaigns/{cid}/activate")
    assert again.status == 409 and again["code"] == "invalid_campaign_state"
    assert accrue(c.cafe, enrol(c.cafe, phone="+79160000003"), "C-4", 50_000)["awards"] == []


@pytest.mark.parametrize(
    ("reward", "expected"),
    [({"type": "multiplier", "factor_bps": 30_000}, 50), ({"type": "percent", "rate_bps": 1000}, 50)],
)
def test_multiplier_and_percent_rewards(coalition, reward, expected):
    c = coalition
    live_campaign(c, audience=None, reward=reward, per_customer_limit=None)
    cus = enrol(c.cafe, phone="+79160000001")
    got = accrue(c.cafe, cus, "C-1", 50_000)  # base 25 points at 5 %
    assert got["bonus_points"] == expected


def test_min_tier_audience_and_schedule(coalition, clock):
    c = coalition
    start = clock.now() + timedelta(days=1)
    live_campaign(
        c,
        audience={"min_tier": "silver"},
        per_customer_limit=None,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(days=7)).isoformat(),
    )
    rich, poor = enrol(c.cafe, phone="+79160000001"), enrol(c.cafe, phone="+79160000002")
    accrue(c.store, rich, "S-1", 3_000_000)
    assert accrue(c.cafe, rich, "C-0", 10_000)["awards"] == []  # not started
    clock.advance(timedelta(days=2))
    assert accrue(c.cafe, rich, "C-1", 10_000)["bonus_points"] == 100
    assert accrue(c.cafe, poor, "C-2", 10_000)["awards"] == []
    clock.advance(timedelta(days=7))
    assert accrue(c.cafe, rich, "C-3", 10_000)["awards"] == []  # over
    assert c.cafe.get("/v1/campaigns")["items"][0]["status"] == "ended"


def test_budget_is_never_exceeded_and_the_campaign_ends_exhausted(coalition):
    c = coalition
    cid = live_campaign(c, audience=None, budget_points=250, per_customer_limit=None)
    cus = enrol(c.cafe, phone="+79160000001")
    bonuses = [accrue(c.cafe, cus, f"C-{i}", 10_000)["bonus_points"] for i in range(4)]
    assert bonuses == [100, 100, 50, 0]
    report = c.cafe.get(f"/v1/campaigns/{cid}/report").json
    assert (report["status"], report["points_awarded"], report["budget_remaining"]) == ("exhausted", 250, 0)


def test_refunds_reverse_awards_pro_rata_and_do_not_reopen_the_budget(coalition):
    c = coalition
    cid = live_campaign(c, audience=None, budget_points=300, per_customer_limit=None)
    cus = enrol(c.cafe, phone="+79160000001")
    accrue(c.cafe, cus, "C-1", 200_000)  # 100 base + 100 award
    r = refund(c.cafe, "C-1", "R-1", 100_000)
    assert r["points_reversed"] == 100 and r["awards_reversed"] == [{"campaign_id": cid, "points": 50}]
    r = refund(c.cafe, "C-1", "R-2", 100_000)
    assert r["points_reversed"] == 100 and r["awards_reversed"] == [{"campaign_id": cid, "points": 50}]
    assert c.cafe.get(f"/v1/customers/{cus}/balance")["available"] == 0
    report = c.cafe.get(f"/v1/campaigns/{cid}/report").json
    assert (report["points_awarded"], report["points_reversed"], report["cost_minor"]) == (100, 100, 0)
    assert report["budget_remaining"] == 200  # what was awarded stays spent from the budget


def test_invalid_campaigns_are_rejected(coalition):
    c = coalition
    r = c.cafe.post(
        "/v1/campaigns", {"name": "x", "earn_at": ["ptn_doesnotexist"], "reward": {"type": "fixed", "points": 1}}
    )
    assert r.status == 422
    r = c.cafe.post("/v1/campaigns", {"name": "x", "earn_at": [c.ids["cafe"]], "reward": {"type": "bogus"}})
    assert r.status == 422
    r = c.cafe.post(
        "/v1/campaigns",
        {
            "name": "x",
            "earn_at": [c.ids["cafe"]],
            "reward": {"type": "fixed", "points": 1},
            "audience": {"new_to_partner": True, "min_tier": "gold"},
        },
    )
    assert r.status == 422
    r = c.cafe.post(
        "/v1/campaigns",
        {
            "name": "x",
            "earn_at": [c.ids["cafe"]],
            "reward": {"type": "fixed", "points": 1},
            "audience": {"min_tier": "platinum"},
        },
    )
    assert r.status == 422 and r["errors"][0]["loc"] == ["body", "audience", "min_tier"]


def test_one_purchase_can_use_up_two_campaigns_at_once(coalition):
    c = coalition
    first = live_campaign(c, name="A", audience=None, budget_points=100, per_customer_limit=None)
    second = live_campaign(c, name="B", audience=None, budget_points=100, per_customer_limit=None)
    cus = enrol(c.cafe, phone="+79160000001")
    got = accrue(c.cafe, cus, "C-1", 10_000)
    assert got["bonus_points"] == 200
    statuses = {x["campaign_id"]: x["status"] for x in c.cafe.get("/v1/campaigns")["items"]}
    assert statuses == {first: "exhausted", second: "exhausted"}
    assert accrue(c.cafe, cus, "C-2", 10_000)["awards"] == []


def test_at_most_ten_campaigns_stack_on_one_purchase_and_the_transaction_stays_small(coalition):
    c = coalition
    for i in range(12):
        live_campaign(c, name=f"C{i}", audience=None, per_customer_limit=None, budget_points=1000)
    cus = enrol(c.cafe, phone="+79160000001")
    got = accrue(c.cafe, cus, "C-1", 10_000)
    assert got.status == 201 and len(got["awards"]) == 10 and got["bonus_points"] == 1000


def _store_campaign(c, points=100):
    """Sponsored by the café, earning at the store (which accepts), for every customer."""
    return live_campaign(
        c,
        name=f"{points} на покупку",
        earn_at=[c.ids["store"]],
        audience=None,
        reward={"type": "fixed", "points": points},
        budget_points=None,
        per_customer_limit=None,
    )


def _suspend(c, partner, status="suspended"):
    r = c.operator.call("PATCH", f"/v1/admin/partners/{c.ids[partner]}", {"status": status})
    assert r.status == 200, r.json


def test_suspending_the_sponsor_stops_its_awards_and_the_operator_stops_its_campaigns(coalition):
    c, op = coalition, coalition.operator
    paused = _store_campaign(c, 100)
    kept = _store_campaign(c, 50)
    shopper = enrol(c.store, phone="+79160000001")
    assert accrue(c.store, shopper, "S-1", 10_000)["bonus_points"] == 150

    _suspend(c, "cafe")
    got = accrue(c.store, shopper, "S-2", 10_000)
    assert got.status == 201 and (got["points"], got["awards"]) == (3, [])  # the store's own points still accrue
    blocked = c.cafe.post(f"/v1/campaigns/{paused}/pause")
    assert blocked.status == 403 and blocked["code"] == "partner_suspended"
    assert op.get(f"/v1/campaigns/{paused}")["status"] == "active"
    assert op.post(f"/v1/campaigns/{paused}/pause")["status"] == "paused"
    assert op.post(f"/v1/campaigns/{paused}/activate").status == 403  # the operator stops campaigns, never starts
    assert op.get("/v1/campaigns/cmp_doesnotexist0").status == 404

    _suspend(c, "cafe", "active")  # reactivated: what is still active awards again, the paused one does not
    got = accrue(c.store, shopper, "S-3", 10_000)
    assert got["awards"] == [{"campaign_id": kept, "points": 50}]
    assert op.post(f"/v1/campaigns/{kept}/end")["status"] == "ended"
    assert op.post(f"/v1/campaigns/{paused}/end")["status"] == "ended"
    assert accrue(c.store, shopper, "S-4", 10_000)["awards"] == []
    assert c.cafe.post(f"/v1/campaigns/{kept}/activate")["code"] == "invalid_campaign_state"


def test_a_suspension_made_through_another_instance_stops_awards_without_waiting_for_the_cache(coalition):
    from chalicelib import db
    from chalicelib.db import keys

    c = coalition
    _store_campaign(c)
    shopper = enrol(c.store, phone="+79160000001")
    assert accrue(c.store, shopper, "S-1", 10_000)["bonus_points"] == 100  # this instance caches both partners
    db.PartnerItem(*keys.partner(c.ids["cafe"])).update(actions=[db.PartnerItem.status.set("suspended")])
    got = accrue(c.store, shopper, "S-2", 10_000)
    assert got.status == 201 and got["awards"] == []


def test_a_suspension_racing_the_purchase_cannot_slip_through(coalition, monkeypatch):
    """The sponsor is suspended between the accrual's read and its write: the write's check on the sponsor fails,
    the accrual is decided again, and it awards nothing."""
    from chalicelib import db
    from chalicelib.db import keys

    c = coalition
    cid = _store_campaign(c)
    shopper = enrol(c.store, phone="+79160000001")
    real_get_many = db.get_many
    raced: list[bool] = []

    def read_then_suspend(wanted):
        found = real_get_many(wanted)
        if not raced and keys.customer(shopper) in {(pk, sk) for _, pk, sk in wanted}:
            raced.append(True)
            db.PartnerItem(*keys.partner(c.ids["cafe"])).update(actions=[db.PartnerItem.status.set("suspended")])
        return found

    monkeypatch.setattr(db, "get_many", read_then_suspend)
    got = accrue(c.store, shopper, "S-1", 10_000)
    assert raced and got.status == 201 and got["awards"] == []
    monkeypatch.undo()
    assert c.operator.get(f"/v1/campaigns/{cid}")["budget_used"] == 0


def _at(clock, hh, mm, ss):
    from datetime import UTC, datetime

    clock.set(datetime(2026, 3, 10, hh, mm, ss, tzinfo=UTC))


def test_windows_given_with_offsets_are_compared_as_instants(coalition, clock):
    c = coalition  # the clock reads 2026-03-10T09:00:00Z
    naive = c.cafe.post(
        "/v1/campaigns",
        {
            "name": "x",
            "earn_at": [c.ids["cafe"]],
            "reward": {"type": "fixed", "points": 1},
            "ends_at": "2026-03-11T00:00:00",
        },
    )
    assert naive.status == 422 and naive["errors"][0]["loc"] == ["body", "ends_at"]
    cid = live_campaign(
        c,
        audience=None,
        per_customer_limit=None,
        budget_points=None,
        starts_at="2026-03-10T04:17:02-05:00",  # 09:17:02 UTC
        ends_at="2026-03-10T14:17:06+03:00",  # 11:17:06 UTC
    )
    cus = enrol(c.cafe, phone="+79160000001")
    awarded = []
    for i, moment in enumerate(((9, 17, 1), (9, 17, 2), (11, 17, 5), (11, 17, 6))):
        _at(clock, *moment)
        awarded.append(accrue(c.cafe, cus, f"C-{i}", 10_000)["bonus_points"])
    assert awarded == [0, 100, 100, 0]
    shown = c.cafe.get(f"/v1/campaigns/{cid}").json  # stored and shown in UTC
    assert (shown["starts_at"], shown["ends_at"], shown["status"]) == (
        "2026-03-10T09:17:02+00:00",
        "2026-03-10T11:17:06+00:00",
        "ended",
    )


def test_snapshots_stored_with_offsets_before_the_fix_still_parse(coalition, clock):
    from chalicelib import cache, db
    from chalicelib.db import keys

    c = coalition
    cid = live_campaign(c, audience=None, per_customer_limit=None, budget_points=None)
    old = {"starts_at": "2026-03-10T04:17:02-05:00", "ends_at": "2026-03-10T11:17:06Z"}  # as stored before
    CI, PI = db.CampaignItem, db.PartnerItem
    CI(*keys.campaign(cid)).update(actions=[CI.rules[k].set(v) for k, v in old.items()])
    PI(*keys.partner(c.ids["cafe"])).update(actions=[PI.active_campaigns[cid][k].set(v) for k, v in old.items()])
    cache.clear()
    cus = enrol(c.cafe, phone="+79160000001")
    awarded = []
    for i, moment in enumerate(((9, 17, 1), (9, 17, 2), (11, 17, 5), (11, 17, 6))):
        _at(clock, *moment)
        awarded.append(accrue(c.cafe, cus, f"C-{i}", 10_000)["bonus_points"])
    assert awarded == [0, 100, 100, 0]
    shown = c.cafe.get(f"/v1/campaigns/{cid}").json
    assert (shown["starts_at"], shown["ends_at"], shown["status"]) == (
        "2026-03-10T09:17:02+00:00",
        "2026-03-10T11:17:06+00:00",
        "ended",
    )


def test_the_audience_window_compares_the_last_purchase_as_an_instant(coalition):
    from chalicelib import db
    from chalicelib.db import keys

    c = coalition  # now: 2026-03-10T09:00:00Z, so 30 days back is 2026-02-08T09:00:00Z
    live_campaign(c, per_customer_limit=None)  # customers of the store within 30 days
    inside, outside = enrol(c.cafe, phone="+79160000001"), enrol(c.cafe, phone="+79160000002")
    C = db.CustomerItem
    for cus, when in ((inside, "2026-02-08T12:01:00+03:00"), (outside, "2026-02-08T11:59:00+03:00")):
        C(*keys.customer(cus)).update(actions=[C.last_purchase[c.ids["store"]].set(when)])  # 09:01Z and 08:59Z
    assert accrue(c.cafe, inside, "C-1", 10_000)["bonus_points"] == 100
    assert accrue(c.cafe, outside, "C-2", 10_000)["bonus_points"] == 0
