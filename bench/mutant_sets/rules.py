"""Mutants of the accrual decision's shortcuts: each skips work only when the long way would change nothing (a
wallet time did nothing to, an item nothing leaves, a change that moves no spend, a wallet with nothing to settle
but lots); taking the shortcut when it would change something must fail a test."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a settled wallet written without what time did",
        "    quiet = current is stored  # ``settle_into`` gives the wallet itself back when time did nothing",
        "    quiet = True",
        (
            "tests/test_lifecycle.py::TestHolds::test_expired_hold_stops_counting_without_any_call",
            "tests/test_lifecycle.py::TestPending::test_pending_until_available_at_then_spendable_without_any_call",
            "tests/test_lifecycle.py::TestExpiry::test_expired_points_are_not_spendable_even_before_the_job_runs",
        ),
    ),
    Mutant(
        "tidy keeps what should leave the item",
        "    if not drop_lots and not stale:",
        "    if True:",
        (
            "tests/test_customer_item_size.py::test_a_bonus_counter_stays_through_the_next_day_and_leaves_after",
            "tests/test_customer_item_size.py::test_monthly_spend_leaves_only_before_the_tier_window",
        ),
    ),
    Mutant(
        "the tier after a spend taken for the tier before it",
        "            after_tier = self._tier(after).name if change.spend or change.drop_spend else before_tier",
        "            after_tier = before_tier",
        ("tests/test_webhooks.py::test_every_kind_of_change_tells_its_partner",),
    ),
    Mutant(
        "a wallet with holds taken for one with nothing to settle",
        "    if not wallet.holds and not wallet.pending_lots:",
        "    if True:",
        (
            "tests/test_orders.py::TestExpiredHolds::test_more_than_ten_expired_holds_all_refuse_capture_and_the_quote_agrees",
        ),
    ),
)
