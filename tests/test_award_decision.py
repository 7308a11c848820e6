"""The campaign award decision, pure: which campaigns award how many points on one purchase, within their budgets,
their per-customer limits and the transaction's room (chalicelib/domain/campaigns.py)."""

from datetime import UTC, datetime

from chalicelib.domain.campaigns import (
    CampaignState,
    Purchase,
    Rules,
    Shopper,
    allocate,
    allowances,
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
    """A campaign read whole, its budget on one shard."""
    if budget is None:
        return CampaignState("active", None, used)
    return CampaignState("active", budget, used, {0: budget - used}, True, 0, {0: budget})


def sharded(budget: int, used: dict[int, int], shards: int = 4, complete: bool = True) -> CampaignState:
    """A campaign whose budget is spread over ``shards``; ``used`` says what the shards read have used."""
    share = dict(enumerate(allowances(budget, shards)))
    rooms = {k: share[k] - u for k, u in used.items()}
    pick = next(iter(used))
    return CampaignState("active", budget, sum(used.values()), rooms, complete, pick, share)


def test_every_live_campaign_awards_its_reward_in_order():
    eligible = [rules("cmp_a"), rules("cmp_b", sponsor="store", points=7)]
    decision = decide_awards(
        eligible, {"cmp_a": active(), "cmp_b": active()}, {"cafe", "store"}, 10, PURCHASE, NEWCOMER
    )
    assert [(a.rules.campaign_id, a.points) for a in decision.awards] == [("cmp_a", 10), ("cmp_b", 7)]
    assert decision.exhausted == ()
    assert all(a.allowances is None and not a.exhausts for a in decision.awards)


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
    state = {"cmp_a": active(budget=100, used=96)}
    (award,) = decide_awards([rules("cmp_a")], state, {"cafe"}, 10, PURCHASE, NEWCOMER, spare_items=1).awards
    assert (award.points, dict(award.shares), award.exhausts) == (4, {0: 4}, True)  # marking it takes an item


def test_an_award_that_leaves_budget_does_not_exhaust_it():
    decision = decide_awards([rules("cmp_a")], {"cmp_a": active(budget=100, used=80)}, {"cafe"}, 10, PURCHASE, NEWCOMER)
    (award,) = decision.awards
    assert (award.points, award.exhausts) == (10, False)


def test_a_budget_already_used_up_awards_nothing_and_is_marked_exhausted():
    decision = decide_awards(
        [rules("cmp_a"), rules("cmp_b")],
        {"cmp_a": active(budget=100, used=100), "cmp_b": sharded(50, {0: 13, 1: 13, 2: 12, 3: 12})},
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


def test_a_budget_splits_into_allowances_that_sum_to_it_exactly():
    assert allowances(500, 8) == [63, 63, 63, 63, 62, 62, 62, 62]
    assert allowances(3, 8) == [1, 1, 1, 0, 0, 0, 0, 0]
    assert all(sum(allowances(b, n)) == b for b in (0, 1, 7, 500, 10_001) for n in (1, 3, 8, 16))


def test_allocation_takes_the_fullest_shards_first_and_no_more_than_it_may():
    assert allocate(100, {0: 10, 1: 63, 2: 50}, 8) == {1: 63, 2: 37}
    assert allocate(100, {0: 10, 1: 63, 2: 50}, 1) == {1: 63}
    assert allocate(5, {0: 0, 1: 0}, 8) == {}


def test_an_award_that_fits_its_drawn_shard_goes_there_alone():
    state = sharded(400, {2: 40}, complete=False)  # shard 2 may still award 60
    (award,) = decide_awards([rules("cmp_a")], {"cmp_a": state}, {"cafe"}, 10, PURCHASE, NEWCOMER).awards
    assert (award.points, dict(award.shares), award.allowances[2], award.exhausts) == (10, {2: 10}, 100, False)


def test_an_award_too_big_for_its_drawn_shard_asks_for_every_shard_then_borrows_from_others():
    drawn = sharded(400, {1: 95}, complete=False)  # shard 1 has 5 left: the reward is 10
    decision = decide_awards([rules("cmp_a")], {"cmp_a": drawn}, {"cafe"}, 10, PURCHASE, NEWCOMER, spare_items=3)
    assert (decision.awards, decision.needs_every_shard) == ((), ("cmp_a",))
    whole = sharded(400, {0: 100, 1: 95, 2: 97, 3: 100})  # 5 + 3 left
    (award,) = decide_awards([rules("cmp_a")], {"cmp_a": whole}, {"cafe"}, 10, PURCHASE, NEWCOMER, 3).awards
    assert (award.points, dict(award.shares), award.exhausts) == (8, {1: 5, 2: 3}, True)  # the last 8, exactly


def test_without_a_spare_item_an_award_stays_on_one_shard_and_the_rest_waits():
    whole = sharded(400, {0: 100, 1: 95, 2: 97, 3: 100})
    (award,) = decide_awards([rules("cmp_a")], {"cmp_a": whole}, {"cafe"}, 10, PURCHASE, NEWCOMER, 0).awards
    assert (award.points, dict(award.shares), award.exhausts) == (5, {1: 5}, False)
