"""What one partner can impose on another through campaigns, and what one purchase may write."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from chalicelib import cache, db
from chalicelib.db import keys
from chalicelib.machinery.awards import ITEMS_PER_AWARD, MAX_AWARDS_PER_PURCHASE
from chalicelib.schemas import MAX_EARN_AT
from chalicelib.services.campaigns import MAX_ACTIVE_PER_PARTNER, MAX_OPEN_PER_SPONSOR
from tests.test_api_ledger import accrue, enrol, redeem


def _body(earn_at, name="Акция", **extra):
    return {"name": name, "earn_at": earn_at, "reward": {"type": "fixed", "points": 100}, **extra}


def _portal_dashboard(api):
    """Sign in to the partner portal with the partner's key, as a manager would, and open the dashboard."""
    http = api.http
    first = http.get("/portal")
    csrf = re.search(r"lp_csrf=([^;,\s']+)", str(first.headers)).group(1)
    signed_in = http.post(
        "/portal/login",
        headers={"Cookie": f"lp_csrf={csrf}", "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"csrf": csrf, "api_key": api.key}),
    )
    assert signed_in.status_code == 303
    session = re.search(r"lp_session=([^;,\s']+)", str(signed_in.headers)).group(1)
    return http.get("/portal", headers={"Cookie": f"lp_session={session}"})


def test_a_partner_cannot_flood_another_partner_with_campaigns(coalition):
    c = coalition
    hostile, victim = c.salon, c.store
    spam = _body([c.ids["salon"]], audience={"purchased_at": c.ids["store"], "within_days": 30})
    results = [hostile.post("/v1/campaigns", {**spam, "name": f"spam {i}"}) for i in range(101)]
    assert [r.status for r in results[:MAX_OPEN_PER_SPONSOR]] == [201] * MAX_OPEN_PER_SPONSOR
    refused = results[MAX_OPEN_PER_SPONSOR:]
    assert {(r.status, r["code"], r["limit"]) for r in refused} == {(409, "campaign_limit_reached", 50)}
    assert refused[0].headers["Content-Type"] == "application/problem+json"

    listed = victim.get("/v1/campaigns")
    assert listed.status == 200 and len(listed["items"]) == MAX_OPEN_PER_SPONSOR
    dashboard = _portal_dashboard(victim)
    assert dashboard.status_code == 200 and "spam 49" in dashboard.body.decode()

    # Ending frees the sponsor's slots, and what the victim never accepted leaves its list: creating and ending
    # campaigns cannot grow another partner's list either.
    for r in results[:MAX_OPEN_PER_SPONSOR]:
        assert hostile.post(f"/v1/campaigns/{r['campaign_id']}/end").status == 200
    assert victim.get("/v1/campaigns")["items"] == []
    assert hostile.post("/v1/campaigns", {**spam, "name": "spam again"}).status == 201
    assert len(victim.get("/v1/campaigns")["items"]) == 1
    assert len(hostile.get("/v1/campaigns")["items"]) == MAX_OPEN_PER_SPONSOR + 1  # the sponsor keeps its history


def test_earn_at_names_at_most_ten_partners(coalition):
    c = coalition
    ids = [f"ptn_{i:08d}" for i in range(MAX_EARN_AT + 1)]
    r = c.cafe.post("/v1/campaigns", _body(ids))
    assert r.status == 422 and (r["errors"][0]["loc"], r["errors"][0]["type"]) == (["body", "earn_at"], "too_long")


def _named_campaign(c, sponsor, earn_at_name, **extra):
    api = getattr(c, sponsor)
    camp = api.post("/v1/campaigns", _body([c.ids[earn_at_name]], **extra)).json
    assert getattr(c, earn_at_name).post(f"/v1/campaigns/{camp['campaign_id']}/accept").status == 200
    return camp["campaign_id"]


def test_a_partner_at_its_active_campaign_limit_still_serves_its_tills(coalition):
    c = coalition
    campaigns = [_named_campaign(c, "cafe" if i % 2 else "salon", "store", name=f"A{i}") for i in range(25)]
    sponsor_of = {cid: (c.cafe if i % 2 else c.salon) for i, cid in enumerate(campaigns)}
    activated = [sponsor_of[cid].post(f"/v1/campaigns/{cid}/activate") for cid in campaigns]
    assert [r.status for r in activated[:MAX_ACTIVE_PER_PARTNER]] == [200] * MAX_ACTIVE_PER_PARTNER
    for r in activated[MAX_ACTIVE_PER_PARTNER:]:
        assert (r.status, r["code"], r["partner_id"]) == (409, "campaign_limit_reached", c.ids["store"])
    # a slot freed by pausing one is taken by another
    assert c.cafe.post(f"/v1/campaigns/{campaigns[1]}/pause").status == 200
    assert sponsor_of[campaigns[20]].post(f"/v1/campaigns/{campaigns[20]}/activate").status == 200
    assert c.cafe.post(f"/v1/campaigns/{campaigns[1]}/activate")["code"] == "campaign_limit_reached"

    cus = enrol(c.store, phone="+79160000001")
    got = accrue(c.store, cus, "S-1", 100_000)
    assert got.status == 201 and len(got["awards"]) == MAX_AWARDS_PER_PURCHASE
    quote = c.store.post("/v1/redemptions/quote", {"customer_id": cus, "order_amount_minor": 100_000})
    assert quote.status == 200 and quote["available"] == 30 + 100 * MAX_AWARDS_PER_PURCHASE
    assert redeem(c.store, cus, "S-2", 100_000, 10).status == 201


def test_a_partner_holding_more_snapshots_than_the_limit_from_before_it_still_serves_its_tills(coalition):
    """Data written before the limit: 99 campaign snapshots on one partner's item. Its tills read at most the
    first MAX_ACTIVE_PER_PARTNER of them (a batch read takes 100 keys)."""
    c = coalition
    real = _named_campaign(c, "cafe", "store")
    assert c.cafe.post(f"/v1/campaigns/{real}/activate").status == 200
    PI = db.PartnerItem
    snapshot = PI.get(*keys.partner(c.ids["store"])).active_campaigns.as_dict()[real]
    clones = {f"cmp_{i:016d}": {**snapshot, "campaign_id": f"cmp_{i:016d}"} for i in range(98)}
    PI(*keys.partner(c.ids["store"])).update(actions=[PI.active_campaigns[k].set(v) for k, v in clones.items()])
    cache.clear()
    cus = enrol(c.store, phone="+79160000001")
    assert accrue(c.store, cus, "S-1", 100_000).status == 201
    assert c.store.post("/v1/redemptions/quote", {"customer_id": cus, "order_amount_minor": 100_000}).status == 200
    assert redeem(c.store, cus, "S-2", 100_000, 10).status == 201


def test_stacked_awards_exhausting_campaigns_that_name_many_partners_fit_one_transaction(coalition):
    """Ten campaigns, each naming ten partners (the café and nine others), each with a budget of one award: one
    purchase exhausts them all. Taking them off their 91 partners in that purchase would need more than 100
    items; they are taken off at the next transition there instead."""
    c = coalition
    campaigns = []
    PI, CI = db.PartnerItem, db.CampaignItem
    with PI.batch_write() as batch:  # setup through the table: 90 partners and their consent cost 180 requests
        others = [[f"ptn_n{n}x{i}00000000" for i in range(MAX_EARN_AT - 1)] for n in range(MAX_AWARDS_PER_PURCHASE)]
        for partner_id in (p for group in others for p in group):
            now = "2026-03-10T09:00:00+00:00"
            batch.save(
                PI(
                    *keys.partner(partner_id),
                    partner_id=partner_id,
                    name=partner_id,
                    earn_rate_bps=500,
                    max_redeem_share_bps=5000,
                    created_at=now,
                    updated_at=now,
                )
            )
    for n, group in enumerate(others):
        body = _body([c.ids["cafe"], *group], name=f"C{n}", budget_points=100)
        cid = c.cafe.post("/v1/campaigns", body)["campaign_id"]
        CI(*keys.campaign(cid)).update(actions=[CI.accepted_by.set(dict.fromkeys(group, "2026-03-10T09:00:00+00:00"))])
        assert c.cafe.post(f"/v1/campaigns/{cid}/activate").status == 200
        campaigns.append(cid)

    first, second = enrol(c.cafe, phone="+79160000001"), enrol(c.cafe, phone="+79160000002")
    got = accrue(c.cafe, first, "C-1", 10_000)
    assert got.status == 201, got.json
    assert got["awards"] == [{"campaign_id": cid, "points": 100} for cid in sorted(campaigns)]
    statuses = {x["campaign_id"]: x["status"] for x in c.cafe.get("/v1/campaigns")["items"]}
    assert set(statuses.values()) == {"exhausted"}
    nxt = accrue(c.cafe, second, "C-2", 10_000)
    assert nxt.status == 201 and nxt["awards"] == []

    # the stale snapshots go at the next transition at the café: a new campaign's activation
    fresh = c.cafe.post("/v1/campaigns", _body([c.ids["cafe"]], name="fresh")).json["campaign_id"]
    assert c.cafe.post(f"/v1/campaigns/{fresh}/activate").status == 200
    assert set(db.PartnerItem.get(*keys.partner(c.ids["cafe"])).active_campaigns.as_dict()) == {fresh}


def test_awards_give_way_when_the_settlement_already_fills_the_transaction():
    """The award budget is computed, not assumed: what the settlement put in the transaction (entries, counters)
    and the expiry-index markers it will add leave room for fewer awards, never for a 101st item."""
    from types import SimpleNamespace

    from chalicelib.db.tx import MAX_ITEMS
    from chalicelib.domain.wallet import Change
    from chalicelib.machinery.awards import ACCRUAL_OWN_ITEMS, award_room
    from chalicelib.machinery.idempotency import Plan

    plan = Plan(created=True)
    assert award_room(plan, SimpleNamespace(settlement=Change())) == MAX_AWARDS_PER_PURCHASE
    for i in range(40):
        plan.tx.add_to_counter(f"CTR#{i}", "C", {"n": 1})
    credited = Change(lots={f"2027-{m:02d}|ptn_aaaaaaaa": 5 for m in range(1, 13)})
    room = award_room(plan, SimpleNamespace(settlement=credited))
    assert room == (MAX_ITEMS - 40 - ACCRUAL_OWN_ITEMS - 12) // ITEMS_PER_AWARD == 6
    plan.tx.add_to_counter("CTR#full", "C", {"n": 1})
    for i in range(60):
        plan.tx.add_to_counter(f"CTR#more{i}", "C", {"n": 1})
    assert award_room(plan, SimpleNamespace(settlement=credited)) == 0
