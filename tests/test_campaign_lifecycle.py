"""The campaign lifecycle, the partner's rates in force and "offers for you", purely (no table, no HTTP)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.campaign_lifecycle import (
    MAX_ACTIVE_PER_PARTNER,
    MAX_OPEN_PER_SPONSOR,
    TERMINAL,
    TRANSITIONS,
    AwaitingAcceptance,
    Campaign,
    Declined,
    LimitReached,
    NotYours,
    RulesSnapshot,
    WrongState,
    check_open_slots,
    named_partners,
    new_campaign,
    snapshot_change,
    transition,
    unaccepted,
)
from chalicelib.domain.campaigns import Shopper
from chalicelib.domain.offers import Offer, offers_for
from chalicelib.domain.partners import Partner
from chalicelib.domain.schedule import Schedule

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
STATUSES = ("draft", "pending_acceptance", "active", "paused", "ended", "exhausted")


def _rules(**extra) -> RulesSnapshot:
    rules: RulesSnapshot = {
        "campaign_id": "cmp_1",
        "sponsor_partner_id": "cafe",
        "name": "Из Стиля в Уют",
        "earn_at": ["cafe"],
        "reward": {"type": "fixed", "points": 50},
    }
    return {**rules, **extra}  # type: ignore[typeddict-item]


def _campaign(status="draft", accepted=None, budget_used=0, **rules) -> Campaign:
    return Campaign(
        "cmp_1", "cafe", _rules(**rules), status, accepted or {}, NOW.isoformat(), NOW.isoformat(), budget_used
    )


class TestStatus:
    def test_named_partners_are_earn_at_and_the_audience_partner_but_never_the_sponsor(self):
        rules = _rules(earn_at=["cafe", "store"], audience={"purchased_at": "gym", "within_days": 30})
        assert named_partners(rules) == ["gym", "store"]

    def test_a_new_campaign_waits_for_named_partners_else_is_a_draft(self):
        assert new_campaign("cmp_1", "cafe", _rules(), NOW.isoformat()).status == "draft"
        waiting = new_campaign("cmp_2", "cafe", _rules(earn_at=["store"]), NOW.isoformat())
        assert waiting.status == "pending_acceptance" and waiting.rules["campaign_id"] == "cmp_2"
        assert waiting.awaiting_acceptance() == ["store"]

    def test_a_used_up_budget_shows_exhausted_and_a_past_end_shows_ended(self):
        assert _campaign("active", budget_used=100, budget_points=100).status_at(NOW) == "exhausted"
        assert _campaign("paused", budget_used=99, budget_points=100).status_at(NOW) == "paused"
        past = (NOW - timedelta(seconds=1)).isoformat()
        assert _campaign("active", ends_at=past).status_at(NOW) == "ended"
        assert _campaign("exhausted", ends_at=past).status_at(NOW) == "exhausted"  # terminal stays as it is
        assert _campaign("active", ends_at=NOW.isoformat()).status_at(NOW - timedelta(microseconds=1)) == "active"

    def test_visibility(self):
        c = _campaign(earn_at=["cafe", "store"])
        assert c.visible_to(None) and c.visible_to("cafe") and c.visible_to("store")
        assert not c.visible_to("gym")


class TestTransitions:
    @pytest.mark.parametrize("status", STATUSES)
    @pytest.mark.parametrize("action", ["activate", "pause", "end"])
    def test_the_table_says_from_where_and_to_what(self, action, status):
        allowed, target = TRANSITIONS[action]
        c = _campaign(status)
        if status in allowed:
            after = transition(c, "cafe", action, NOW)
            assert after.status == target and after.updated_at == NOW.isoformat()
        else:
            with pytest.raises(WrongState, match=rf"^A campaign that is {status} cannot {action}\.$"):
                transition(c, "cafe", action, NOW)

    def test_terminal_states_have_no_way_back(self):
        assert {action: TERMINAL & allowed for action, (allowed, _) in TRANSITIONS.items()} == {
            "activate": set(),
            "pause": set(),
            "end": {"ended"},  # ending an ended campaign again is a no-op, not a conflict
        }

    def test_who_may_do_what(self):
        c = _campaign("pending_acceptance", earn_at=["cafe", "store"])
        with pytest.raises(NotYours, match="Only the sponsor activates its campaign"):
            transition(c, None, "activate", NOW)
        with pytest.raises(NotYours, match="Only the sponsor activates, pauses or ends"):
            transition(c, "store", "pause", NOW)
        with pytest.raises(NotYours, match="does not accept its own"):
            transition(c, "cafe", "accept", NOW)
        with pytest.raises(NotYours):
            transition(c, None, "accept", NOW)
        assert transition(c, None, "end", NOW).status == "ended"  # the operator may end (and pause) any campaign

    def test_activation_waits_for_every_named_partner(self):
        c = _campaign("pending_acceptance", earn_at=["cafe", "store", "gym"])
        with pytest.raises(AwaitingAcceptance) as refused:
            transition(c, "cafe", "activate", NOW)
        assert refused.value.awaiting == ["gym", "store"] and str(refused.value) == "Waiting for gym, store to accept."
        accepted = transition(transition(c, "store", "accept", NOW), "gym", "accept", NOW)
        assert accepted.accepted_by == {"store": NOW.isoformat(), "gym": NOW.isoformat()}
        assert accepted.status == "pending_acceptance"
        assert transition(accepted, "cafe", "activate", NOW).status == "active"

    def test_accepting_a_campaign_that_is_over_is_refused(self):
        c = _campaign("active", budget_used=10, budget_points=10, earn_at=["cafe", "store"])
        with pytest.raises(WrongState, match="The campaign is exhausted"):
            transition(c, "store", "accept", NOW)

    def test_ending_drops_partners_that_never_accepted(self):
        c = _campaign("pending_acceptance", accepted={"store": "t"}, earn_at=["cafe", "store", "gym"])
        assert unaccepted(c) == ["gym"]


class TestLimits:
    def test_the_open_campaign_limit_counts_freed_slots(self):
        check_open_slots(MAX_OPEN_PER_SPONSOR - 1, 0)
        check_open_slots(MAX_OPEN_PER_SPONSOR, 1)
        with pytest.raises(LimitReached) as refused:
            check_open_slots(MAX_OPEN_PER_SPONSOR, 0)
        assert refused.value.limit == MAX_OPEN_PER_SPONSOR and refused.value.partner_id is None

    def test_activation_sets_the_snapshot_and_drops_stale_ones(self):
        active = _campaign("active", earn_at=["cafe", "store"])
        change = snapshot_change(active, "store", {"cmp_old": {}, "cmp_live": {}}, {"cmp_old"})
        assert change.snapshot == active.rules and change.stale == ("cmp_old",) and not change.free_open_slot

    def test_activation_is_refused_where_the_partner_is_full(self):
        active = _campaign("active")
        full = {f"cmp_{i:02d}": {} for i in range(MAX_ACTIVE_PER_PARTNER)}
        with pytest.raises(LimitReached) as refused:
            snapshot_change(active, "store", full, set())
        assert refused.value.partner_id == "store" and refused.value.limit == MAX_ACTIVE_PER_PARTNER
        # one of them over since frees its slot; the campaign's own snapshot never counts
        assert snapshot_change(active, "store", full, {"cmp_00"}).snapshot is not None
        assert snapshot_change(active, "store", {**full, "cmp_1": {}}, {"cmp_00"}).snapshot is not None

    def test_pausing_or_ending_removes_the_snapshot_and_ending_frees_the_sponsors_slot(self):
        paused = snapshot_change(_campaign("paused"), "cafe", {"cmp_1": {}}, set())
        assert paused.snapshot is None and paused.touch_snapshot and not paused.free_open_slot
        ended = snapshot_change(_campaign("ended"), "cafe", {"cmp_1": {}}, set())
        assert ended.snapshot is None and ended.free_open_slot


def _partner(partner_id="cafe", status="active", campaigns=None, schedule=None) -> Partner:
    return Partner(
        partner_id=partner_id,
        name=partner_id.title(),
        category=None,
        earn_rate_bps=500,
        max_redeem_share_bps=3000,
        pending_days=0,
        status=status,
        created_at="t",
        updated_at="t",
        rate_schedule=schedule or Schedule({"earn_rate_bps": 500, "max_redeem_share_bps": 3000}),
        active_campaigns=campaigns or {},
    )


class TestPartner:
    def test_rates_in_force_follow_the_schedule(self):
        base = {"earn_rate_bps": 500, "max_redeem_share_bps": 3000}
        schedule = Schedule(base).with_change({"earn_rate_bps": 700}, date(2026, 4, 1), NOW, "UTC")
        partner = _partner(schedule=schedule)
        assert partner.in_force(NOW).earn_rate_bps == 500
        later = partner.in_force(datetime(2026, 4, 1, tzinfo=UTC))
        assert later.earn_rate_bps == 700 and later.max_redeem_share_bps == 3000
        assert later.in_force(NOW).earn_rate_bps == 500  # the base stays the first rates
        assert _partner().in_force(NOW) is not None

    def test_campaign_rules_are_in_campaign_id_order_and_capped(self):
        snapshots = {f"cmp_{i:02d}": _rules(campaign_id=f"cmp_{i:02d}") for i in range(MAX_ACTIVE_PER_PARTNER + 3)}
        rules = _partner(campaigns=dict(reversed(list(snapshots.items())))).campaign_rules()
        assert [r.campaign_id for r in rules] == sorted(snapshots)[:MAX_ACTIVE_PER_PARTNER]


class TestOffers:
    SHOPPER = Shopper(last_purchase={"store": NOW.isoformat()}, tier="silver", awards={})
    TIERS = ("base", "silver", "gold")

    def test_each_campaign_once_at_the_first_active_partner_where_the_shopper_qualifies(self):
        percent = _rules(campaign_id="cmp_p", earn_at=["cafe", "store"], reward={"type": "percent", "rate_bps": 500})
        multi = _rules(campaign_id="cmp_m", reward={"type": "multiplier", "factor_bps": 20_000}, min_amount_minor=900)
        partners = [
            _partner("store", campaigns={"cmp_p": percent}),
            _partner("cafe", campaigns={"cmp_p": percent, "cmp_m": multi}),
        ]
        assert offers_for(partners, self.SHOPPER, self.TIERS, NOW) == [
            Offer("percent", 500, "Store", 0),
            Offer("multiplier", 20_000, "Cafe", 900),
        ]

    def test_no_offers_from_suspended_partners_or_audiences_the_shopper_is_not_in(self):
        gold = _rules(audience={"min_tier": "gold"})
        new_only = _rules(campaign_id="cmp_n", earn_at=["store"], audience={"new_to_partner": True})
        assert (
            offers_for([_partner(status="suspended", campaigns={"cmp_1": _rules()})], self.SHOPPER, self.TIERS, NOW)
            == []
        )
        assert offers_for([_partner(campaigns={"cmp_1": gold})], self.SHOPPER, self.TIERS, NOW) == []
        assert offers_for([_partner("store", campaigns={"cmp_n": new_only})], self.SHOPPER, self.TIERS, NOW) == []
        assert offers_for([_partner(campaigns={"cmp_1": _rules()})], self.SHOPPER, self.TIERS, NOW) == [
            Offer("fixed", 50, "Cafe", 0)
        ]

    def test_offers_respect_the_window_and_the_per_customer_limit(self):
        later = _rules(starts_at=(NOW + timedelta(days=1)).isoformat())
        limited = _rules(per_customer_limit=1)
        used = Shopper(last_purchase={}, tier="base", awards={"cmp_1": 1})
        assert offers_for([_partner(campaigns={"cmp_1": later})], self.SHOPPER, self.TIERS, NOW) == []
        assert offers_for([_partner(campaigns={"cmp_1": limited})], used, self.TIERS, NOW) == []


# --- a named partner declines (over HTTP) --------------------------------------------------------------------------


def _three_partner_campaign(c) -> str:
    body = {
        "name": "Вместе",
        "earn_at": [c.ids["cafe"], c.ids["salon"]],
        "audience": {"purchased_at": c.ids["store"], "within_days": 30},
        "reward": {"type": "fixed", "points": 50},
        "budget_points": 1000,
    }
    r = c.cafe.post("/v1/campaigns", body)
    assert r.status == 201, r.json
    return str(r["campaign_id"])


def test_a_named_partner_declines_and_the_sponsor_cannot_run_the_campaign(coalition):
    c = coalition
    cid = _three_partner_campaign(c)
    store, salon = c.ids["store"], c.ids["salon"]
    assert c.salon.post(f"/v1/campaigns/{cid}/accept").status == 200
    declined = c.store.post(f"/v1/campaigns/{cid}/decline", headers={"Idempotency-Key": "dec-1"})
    assert declined.status == 200, declined.json
    assert declined["partner_states"] == {salon: "accepted", store: "declined"}
    assert declined["declined_by"] == [store] and declined["awaiting_acceptance"] == []
    # a retry after a lost answer replays it; declining again without a key answers the same state
    assert c.store.post(f"/v1/campaigns/{cid}/decline", headers={"Idempotency-Key": "dec-1"}).json == declined.json
    again = c.store.post(f"/v1/campaigns/{cid}/decline")
    assert again.status == 200 and again["partner_states"] == declined["partner_states"]
    assert c.cafe.get(f"/v1/campaigns/{cid}")["partner_states"][store] == "declined"  # the sponsor sees it
    refused = c.cafe.post(f"/v1/campaigns/{cid}/activate")
    assert refused.status == 409 and refused["code"] == "campaign_declined" and refused["declined"] == [store]
    assert c.cafe.get(f"/v1/campaigns/{cid}")["status"] == "pending_acceptance"
    # a change of mind before it runs: accepting clears the decline and the campaign can start
    assert c.store.post(f"/v1/campaigns/{cid}/accept")["partner_states"][store] == "accepted"
    assert c.cafe.post(f"/v1/campaigns/{cid}/activate")["status"] == "active"
    late = c.salon.post(f"/v1/campaigns/{cid}/decline")  # it runs: ask the sponsor to end it
    assert late.status == 409 and late["code"] == "invalid_campaign_state"


def test_only_a_named_partner_declines(coalition):
    c = coalition
    r = c.cafe.post(
        "/v1/campaigns",
        {"name": "Одна", "earn_at": [c.ids["store"]], "reward": {"type": "fixed", "points": 5}},
    )
    cid = r["campaign_id"]
    assert c.cafe.post(f"/v1/campaigns/{cid}/decline").status == 403  # the sponsor ends, never declines
    assert c.salon.post(f"/v1/campaigns/{cid}/decline").status == 404  # not named: not even its existence
    assert c.operator.post(f"/v1/campaigns/{cid}/decline").status in (401, 403)  # the operator is not a partner
    assert c.cafe.get(f"/v1/campaigns/{cid}")["partner_states"] == {c.ids["store"]: "awaiting"}


def test_declining_in_the_domain_keeps_the_first_answer_and_blocks_activation():
    waiting = new_campaign("cmp_1", "cafe", _rules(earn_at=["store"]), NOW.isoformat())
    no = transition(waiting, "store", "decline", NOW)
    assert no.partner_states() == {"store": "declined"} and no.awaiting_acceptance() == []
    assert transition(no, "store", "decline", NOW + timedelta(hours=1)) is no
    with pytest.raises(Declined):
        transition(no, "cafe", "activate", NOW)
    with pytest.raises(NotYours):
        transition(no, None, "decline", NOW)
