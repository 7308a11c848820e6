"""Mutants of the till screen: its searches are look-ups of the key, its forms carry their token, a shift lists
only its cashier's receipts, a whole refund is what is left of the receipt."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_T = "tests/test_till.py::"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a till search not counted as a look-up",
        '    limits.check("lookup", scope)',
        "    pass",
        (_T + "test_each_search_is_a_look_up_of_the_cashier_and_the_wait_is_said_in_words",),
    ),
    Mutant(
        "till forms without their CSRF token",
        "        session.check_csrf(cashier, form)",
        "        pass",
        (_T + "test_a_press_without_the_forms_token_changes_nothing",),
    ),
    Mutant(
        "a shift lists every cashier's receipts",
        "            filter_condition=EntryItem.order_id.startswith(order_prefix),",
        "            filter_condition=None,",
        (_T + "test_the_shift_shows_only_this_cashiers_receipts",),
    ),
    Mutant(
        "a whole refund takes the receipt total, not what is left",
        "            amount = left or total",
        "            amount = total",
        (_T + "test_a_whole_refund_gives_back_what_is_left_of_the_receipt",),
    ),
)
