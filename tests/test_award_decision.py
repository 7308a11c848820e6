"""The campaign award decision, pure: which campaigns award how many points on one purchase, within their budgets,
their per-customer limits and the transaction's room (chalicelib/domain/campaigns.py)."""

from datetime import UTC, datetime

from chalicelib.domain.campaigns import (
    CampaignState,
    Purchase,
    Rules,
    Shopper,
    decide_awards,
    eligible_campaigns,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TIERS = ["base", "silver", "gold"]
PURCHASE = Purchase(partner_id="cafe", amount_minor=100_000, base_points=50, point_value_minor=100)
NEWCOMER = Shopper(last_purchase={}, tier="base", awards={})


def rules(campaign_id: str, sponsor: str = "cafe", points: int = 10, **extra: object) -> Rules:
    snapshot = {
        "campaign_id": campaign_id,
        "sponsor_partner_id": sponsor,
        "earn_at": ["cafe"],
        "reward": {"type": "fixed", "points": points},
        **extra,
    }
    return Rules.from_snapshot(snapshot)


def active(budget: int | None = None, used: int = 0) -> CampaignState:
    return CampaignState("active", budget, used)


def test_every_live_campaign_awards_its_reward_in_order():
    eligible = [rules("cmp_a"), rules("cmp_b", sponsor="store", points=7)]
    decision = decide_awards(
        eligible, {"cmp_a": active(), "cmp_b": active()}, {"cafe", "store"}, 10, PURCHASE, NEWCOMER
    )
    assert [(a.rules.campaign_id, a.points) for a in decision.awards] == [("cmp_a", 10), ("cmp_b", 7)]
    assert decision.exhausted == ()
    assert all(a.budget_points is None and not a.exhausts for a in decision.awards)


def test_paused_missing_and_suspended_sponsors_award_nothing():
    eligible = [rules("cmp_paused"), rules("cmp_gone"), rules("cmp_suspended", sponsor="store"), rules("cmp_ok")]
    states = {
        "cmp_paused": CampaignState("paused", None, 0),
        "cmp_suspended": active(),
        "cmp_ok": active(),
    }
    decision = decide_awards(eligible, states, {"cafe"}, 10, PURCHASE, NEWCOMER)
    assert [a.rules.campaign_id for a in decision.awards] == ["cmp_ok"]


def test_an_award_is_cut_to_what_is_left_of_the_budget_and_then_exhausts_it():
    decision = decide_awards([rules("cmp_a")], {"cmp_a": active(budget=100, used=96)}, {"cafe"}, 10, PURCHASE, NEWCOMER)
    (award,) = decision.awards
    assert (award.points, award.budget_points, award.exhausts) == (4, 100, True)


def test_an_award_that_leaves_budget_does_not_exhaust_it():
    decision = decide_awards([rules("cmp_a")], {"cmp_a": active(budget=100, used=80)}, {"cafe"}, 10, PURCHASE, NEWCOMER)
    (award,) = decision.awards
    assert (award.points, award.exhausts) == (10, False)


def test_a_budget_already_used_up_awards_nothing_and_is_marked_exhausted():
    decision = decide_awards(
        [rules("cmp_a"), rules("cmp_b")],
        {"cmp_a": active(budget=100, used=100), "cmp_b": active(budget=50, used=60)},
        {"cafe"},
        10,
        PURCHASE,
        NEWCOMER,
    )
    assert decision.awards == () and decision.exhausted == ("cmp_a", "cmp_b")


def test_a_zero_award_is_no_award():
    multiplier = Rules.from_snapshot(
        {
            "campaign_id": "cmp_x1",
            "sponsor_partner_id": "cafe",
            "earn_at": ["cafe"],
            "reward": {"type": "multiplier", "factor_bps": 10_000},  # x1: nothing on top of the base
        }
    )
    decision = decide_awards([multiplier], {"cmp_x1": active()}, {"cafe"}, 10, PURCHASE, NEWCOMER)
    assert decision.awards == () and decision.exhausted == ()


def test_only_as_many_live_campaigns_as_the_transaction_has_room_for():
    eligible = [rules(f"cmp_{i}") for i in range(5)]
    states = {f"cmp_{i}": active() for i in range(5)}
    states["cmp_0"] = CampaignState("ended", None, 0)  # not live: does not use room
    decision = decide_awards(eligible, states, {"cafe"}, 2, PURCHASE, NEWCOMER)
    assert [a.rules.campaign_id for a in decision.awards] == ["cmp_1", "cmp_2"]
    assert decide_awards(eligible, states, {"cafe"}, 0, PURCHASE, NEWCOMER).awards == ()


def test_first_awards_and_new_customers_are_told_apart():
    states = {"cmp_a": active(), "cmp_b": active()}
    eligible = [rules("cmp_a"), rules("cmp_b")]
    regular = Shopper(last_purchase={"cafe": "2026-03-01T10:00:00+00:00"}, tier="base", awards={"cmp_a": 1})
    a, b = decide_awards(eligible, states, {"cafe"}, 10, PURCHASE, regular).awards
    assert (a.first_for_customer, a.new_customer) == (False, False)
    assert (b.first_for_customer, b.new_customer) == (True, False)
    (first,) = decide_awards([rules("cmp_a")], states, {"cafe"}, 10, PURCHASE, NEWCOMER).awards
    assert (first.first_for_customer, first.new_customer) == (True, True)


def test_eligibility_applies_the_rules_per_customer_limits_included():
    limited = rules("cmp_limited", per_customer_limit=2)
    elsewhere = Rules.from_snapshot(
        {
            "campaign_id": "cmp_store",
            "sponsor_partner_id": "store",
            "earn_at": ["store"],
            "reward": {"type": "fixed", "points": 5},
        }
    )
    big = rules("cmp_big", min_amount_minor=200_000)
    gold = rules("cmp_gold", audience={"min_tier": "gold"})
    everyone = rules("cmp_all")
    candidates = [limited, elsewhere, big, gold, everyone]
    assert [r.campaign_id for r in eligible_campaigns(candidates, PURCHASE, NEWCOMER, TIERS, NOW)] == [
        "cmp_limited",
        "cmp_all",
    ]
    twice = Shopper(last_purchase={}, tier="gold", awards={"cmp_limited": 2})
    assert [r.campaign_id for r in eligible_campaigns(candidates, PURCHASE, twice, TIERS, NOW)] == [
        "cmp_gold",
        "cmp_all",
    ]
