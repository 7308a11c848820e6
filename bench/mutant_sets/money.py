"""Mutants of the money guards: wallet arithmetic, campaign budgets and limits, replay records, settlement."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "no per-lot guard on a spend",
        "            u.x.guard(_AT_LEAST, lot, typed(-delta))",
        "            pass",
        (
            "tests/test_interleaving.py::test_a_spend_committed_between_another_spends_read_and_commit_takes_no_lot_below_zero",
            "tests/test_races.py::test_parallel_spends_across_two_issuers_never_take_a_lot_below_zero",
        ),
    ),
    Mutant(
        "no per-customer campaign limit in the write",
        '    _capped_counts(u, "campaign_awards", change.campaign_awards, change.campaign_limits)',
        '    _capped_counts(u, "campaign_awards", change.campaign_awards, {})',
        (
            "tests/test_campaign_races.py::test_simultaneous_purchases_of_one_customer_never_exceed_the_per_customer_limit",
            "tests/test_db_repositories.py::test_a_limited_counter_stops_at_its_limit[campaign per customer]",
        ),
    ),
    Mutant(
        "no campaign budget guard in the write",
        "        guard &= CampaignShardItem.used.does_not_exist() | (CampaignShardItem.used <= limit)",
        "        pass",
        (
            "tests/test_concurrency.py::test_simultaneous_eligible_purchases_never_exceed_a_campaign_budget",
            "tests/test_db_repositories.py::test_an_award_is_guarded_by_its_shard_allowance_and_its_sponsor",
        ),
    ),
    Mutant(
        "a suspended sponsor not checked in the award's write",
        '        tx.check(PartnerItem, pk, sk, condition=PartnerItem.status == "active", tag=f"sponsor:{sponsor}")',
        "        pass",
        ("tests/test_campaigns.py",),
    ),
    Mutant(
        "a campaign window's offset ignored",
        "    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)",
        "    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value[:19])",
        ("tests/test_campaigns.py",),
    ),
    Mutant(
        "no bonus daily cap in the write",
        '    _capped_counts(u, "bonus_days", change.bonus_days, change.bonus_limits)',
        '    _capped_counts(u, "bonus_days", change.bonus_days, {})',
        (
            "tests/test_races.py::test_parallel_bonuses_never_exceed_the_daily_cap",
            "tests/test_db_repositories.py::test_a_limited_counter_stops_at_its_limit[bonus per day]",
        ),
    ),
    Mutant(
        "replay records written without attribute_not_exists",
        "    tx.put_raw(ReplayItem, item, condition=_FREE_RAW[over_errors], tag=tag)",
        "    tx.put_raw(ReplayItem, item, condition=None, tag=tag)",
        ("tests/test_concurrency.py", "tests/test_idempotency.py"),
    ),
    Mutant(
        "fingerprint ignores points",
        '    return "".join(_ENCODE(body, 0))',
        '    return "".join(_ENCODE({k: v for k, v in body.items() if k != "points"} if isinstance(body, dict) '
        "else body, 0))",
        ("tests/test_idempotency.py", "tests/test_api_ledger.py"),
    ),
    Mutant(
        "sign flip in accepted_refunded",
        '        f.counts["accepted_refunded_points"] += int(n)',
        '        f.counts["accepted_refunded_points"] -= int(n)',
        ("tests/test_orders.py", "tests/test_settlement.py"),
    ),
    Mutant(
        "sponsor statement ignores reversed awards",
        '        promo_points_funded=c["promo_points_funded"] - c["promo_points_reversed"],',
        '        promo_points_funded=c["promo_points_funded"],',
        ("tests/test_orders.py", "tests/test_settlement.py"),
    ),
    Mutant(
        "award shortfall not charged to the till",
        '        f.counts["issued_points"] += share - taken',
        "        pass",
        ("tests/test_orders.py",),
    ),
    Mutant(
        "order written without its version guard",
        '        condition.guard("{0} = {1}", ("version",), typed(previous.version))',
        "        pass",
        (
            "tests/test_interleaving.py::test_a_refund_committed_between_another_refunds_read_and_commit_is_not_lost",
            "tests/test_races.py::test_parallel_refunds_of_one_order_never_exceed_it",
        ),
    ),
    Mutant(
        "another amount joins an order",
        "        if amount_minor != self.amount_minor:",
        "        if False:",
        ("tests/test_orders.py",),
    ),
    Mutant(
        "a refund ignores the open hold",
        '    if order.spent is not None and order.spent.status in ("held", "captured"):',
        '    if order.spent is not None and order.spent.status == "captured":',
        ("tests/test_orders.py",),
    ),
    Mutant(
        "earned points rounded up on refunds",
        "    return pro_rata(total, refunded_after_minor, whole_minor) - pro_rata(total, refunded_before_minor, "
        "whole_minor)",
        "    return -(-total * (refunded_after_minor - refunded_before_minor) // whole_minor)",
        ("tests/test_orders.py", "tests/test_api_ledger.py"),
    ),
    Mutant(
        "hold capture allowed after expiry posted partially",
        '    return len([e for e in settle(wallet, now, tz_name, max_events=max_events + 1) if e.type != "expiry"]) '
        "<= max_events",
        "    return True",
        ("tests/test_orders.py::TestExpiredHolds",),
    ),
    Mutant(
        "an account erased with a hold placed since the deletion's settlement",
        "    condition &= CustomerItem.holds.does_not_exist() | (size(CustomerItem.holds) == 0)",
        "    condition &= CustomerItem.pk.exists()",
        ("tests/test_customer_reach.py::test_a_hold_placed_while_the_account_is_being_deleted_refuses_the_deletion",),
    ),
    Mutant(
        "points earned during a forfeiting deletion left on the erased account",
        "    if pointless:",
        "    if False:",
        ("tests/test_customer_reach.py::test_points_earned_while_the_account_is_being_deleted_are_forfeited_too",),
    ),
    Mutant(
        "points returned to an ended month left spendable in the stored wallet",
        "        lapsed = _lapsed(change, after, self.period)",
        "        lapsed = None",
        ("tests/test_lifecycle.py::test_points_a_void_returns_after_their_month_ended_expire_in_the_same_write",),
    ),
    Mutant(
        "a lot expires while its month still runs",
        "        if points > 0 and split_lot_key(lot)[0] < period:",
        "        if points > 0 and split_lot_key(lot)[0] <= period:",
        ("tests/test_lifecycle.py::TestExpiry::test_points_expire_at_the_end_of_the_month_in_moscow",),
    ),
    Mutant(
        "points after a return window live from the purchase's month",
        "        lot = earn_lot(pending_until or now, prog, partner_id)  # points live from when they can be spent",
        "        lot = earn_lot(now, prog, partner_id)",
        ("tests/test_lifecycle.py::test_points_after_a_return_window_live_their_months_from_when_they_can_be_spent",),
    ),
    Mutant(
        "a campaign's points after a return window live from the purchase's month",
        "    lot = earn_lot(pending_until or session.now, session.program, rules.sponsor)  # live from when spendable",
        "    lot = earn_lot(session.now, session.program, rules.sponsor)",
        (
            "tests/test_lifecycle.py::"
            "test_a_campaigns_points_after_a_return_window_live_their_months_from_when_they_can_be_spent_too",
        ),
    ),
)
