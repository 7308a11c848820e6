"""Mutants of the guards that keep the customer item bounded: what leaves it with a write (emptied and zero lots,
spend months before the tier window, past bonus days), under which condition, and how many per write; and the
guards of its compact spelling (a lot moved from its old key, a partner's position in the item's list)."""

from __future__ import annotations

from bench.mutant_sets import Mutant

TESTS = "tests/test_customer_item_size.py::"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "an emptied lot removed without checking it still holds what was read",
        "                u.x.guard(_EQUAL, lot, typed(as_read))",
        "                pass",
        (TESTS + "test_points_credited_to_a_lot_while_a_spend_empties_it_are_never_removed_with_it",),
    ),
    Mutant(
        "a zero lot removed without checking it is still zero",
        "                u.x.guard(_ABSENT_OR_EQUAL, lot, _ZERO)",
        "                pass",
        (TESTS + "test_a_lot_left_at_zero_leaves_with_the_next_write_but_never_takes_a_concurrent_credit",),
    ),
    Mutant(
        "a lot the change only partly spends taken for emptied",
        "    drop_lots = {k: -change.lots[k] for k in touched if after.lots.get(k) == 0 and change.lots[k] < 0}",
        "    drop_lots = {k: -change.lots[k] for k in touched if change.lots[k] < 0}",
        (TESTS + "test_a_change_that_credits_or_keeps_a_lot_never_drops_it",),
    ),
    Mutant(
        "every stale key removed in one write",
        "    for what, key in stale[:room]:",
        "    for what, key in stale:",
        (TESTS + "test_lots_left_at_zero_leave_a_bounded_number_per_write",),
    ),
    Mutant(
        "stale keys removed whatever the write already names",
        "    room = max(0, min(TIDY_PER_WRITE, KEYS_PER_WRITE - named))",
        "    room = TIDY_PER_WRITE",
        (TESTS + "test_a_write_naming_many_keys_removes_fewer_stale_ones",),
    ),
    Mutant(
        "a month inside the tier window removed",
        "    first_month = add_months(period_of(now, tz_name), -(ROLLING_MONTHS - 1))",
        "    first_month = add_months(period_of(now, tz_name), -(ROLLING_MONTHS - 2))",
        (TESTS + "test_a_spend_eleven_months_back_still_counts_for_the_tier_after_later_writes",),
    ),
    Mutant(
        "yesterday's bonus counter removed",
        "    oldest_day = now.astimezone(zone(tz_name)).date() - timedelta(days=1)",
        "    oldest_day = now.astimezone(zone(tz_name)).date()",
        (TESTS + "test_a_bonus_counter_stays_through_the_next_day_and_leaves_after",),
    ),
    Mutant(
        "a lot moved to the compact spelling without checking its old key still holds what was read",
        '                u.x.guard(_EQUAL, ("lots", stored), typed(points))',
        "                pass",
        (TESTS + "test_a_lot_moved_to_the_compact_spelling_never_loses_a_credit_to_its_old_key",),
    ),
    Mutant(
        "partners appended to the item's list without checking it is the list read",
        "    u.x.guard(_SIZE if length else _ABSENT_OR_SIZE, partners, typed(length))",
        "    pass",
        (TESTS + "test_two_partners_new_to_a_customer_at_once_never_share_a_position",),
    ),
    Mutant(
        "a first partner appended to a list another write has started",
        "    u.x.guard(_SIZE if length else _ABSENT_OR_SIZE, partners, typed(length))",
        "    u.x.guard(_SIZE, partners, typed(length)) if length else None",
        (TESTS + "test_two_partners_new_to_a_customer_at_once_never_share_a_position[first partner]",),
    ),
    Mutant(
        "every old-spelled lot a write touches moved at once",
        "        if len(parts) == 1 and u.moved >= MOVES_PER_WRITE:",
        "        if False:",
        (TESTS + "test_a_spend_across_many_old_lots_moves_a_bounded_number_of_them",),
    ),
)
