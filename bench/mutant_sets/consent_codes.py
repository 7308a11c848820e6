"""Mutants of one-time codes: single use, partner binding, attempts, the amount a code confirms."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_CODES = "tests/test_consent_codes.py"
_KEYS = "tests/test_customer_reach.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "codes: a used code is not deleted (single use)",
        "    tx.delete(_item(code), condition=_unchanged(code), tag=CODE_TAG)",
        "    pass",
        (f"{_KEYS}::test_the_code_the_till_asks_for_goes_to_the_customer_and_works_once",),
    ),
    Mutant(
        "codes: a sent code derived from the client's Idempotency-Key (a used code comes back)",
        "    seed = one_time_codes.new_seed()  # once per request: a decision made again after a lost answer keeps it",
        "    seed = req.secret_seed",
        (f"{_CODES}::test_a_used_code_never_comes_back_whatever_key_asks",),
    ),
    Mutant(
        "codes: a till's sent code usable by every partner (partner binding)",
        '    return f"till#{partner_id}"',
        '    return "till#"',
        (f"{_KEYS}::test_a_code_sent_for_one_partner_is_no_good_at_another",),
    ),
    Mutant(
        "codes: wrong tries counted once for every partner (per-partner attempts)",
        '    return f"tries#{partner_id}"',
        '    return "tries#"',
        (f"{_CODES}::test_one_partners_wrong_codes_never_lock_another_partners_till",),
    ),
    Mutant(
        "codes: a locked count lets the right code through (attempts)",
        "    if current is not None and tries >= MAX_ATTEMPTS:",
        "    if False:",
        (f"{_KEYS}::test_wrong_codes_are_counted_and_lock_the_code",),
    ),
    Mutant(
        "codes: the fifth wrong code answers 403, not the lock (attempts)",
        "    if tries + 1 >= MAX_ATTEMPTS:",
        "    if False:",
        (f"{_KEYS}::test_wrong_codes_are_counted_and_lock_the_code",),
    ),
    Mutant(
        "codes: wrong codes not charged to the key (per-key wrong-code limit)",
        "    (charge_wrong_code or limits.wrong_code(key_id))()  # 429 rate_limited past the key's allowance",
        "    pass",
        (f"{_CODES}::test_wrong_codes_of_one_key_across_customers_are_limited",),
    ),
    Mutant(
        "codes: a key over its wrong-code limit still gets right codes judged (per-key wrong-code limit)",
        "    limits.wrong_codes_left(key_id, now)  # a key that guessed too often learns nothing more, right or wrong",
        "    pass",
        (f"{_CODES}::test_wrong_codes_of_one_key_across_customers_are_limited",),
    ),
    Mutant(
        "codes: a code confirms any amount (amount)",
        "            if points > most:  # the right code for a smaller spend: kept for it, and no wrong try",
        "            if False:",
        (f"{_CODES}::test_a_sent_code_names_its_points_and_confirms_at_most_those",),
    ),
    Mutant(
        "codes: the page code ignores the amount the customer typed (amount)",
        "    most = min(wanted, available) if wanted > 0 else available",
        "    most = available",
        (f"{_CODES}::test_the_page_code_confirms_the_amount_the_customer_typed",),
    ),
    Mutant(
        "codes: a code sent where the policy needs none is not checked",
        "        if needs_code or body.customer_code is not None:",
        "        if needs_code:",
        (f"{_CODES}::test_a_code_that_is_sent_is_checked_where_the_policy_needs_none",),
    ),
    Mutant(
        "codes: wrong binding codes not counted (binding attempts)",
        "            one_time_codes.count_failures(refused.tx, outcome.failures)  # the fifth wrong try locks the code",
        "            pass",
        (f"{_CODES}::test_wrong_binding_codes_are_counted_and_the_fifth_locks",),
    ),
    Mutant(
        "codes: a wrong code says whether the customer holds a live code (one answer)",
        "    refused = Plan(error=CustomerCodeInvalid(one_time_codes.WRONG_AT_TILL))",
        "    refused = Plan(error=CustomerCodeInvalid(one_time_codes.WRONG_AT_TILL if page is None and till is None "
        'else "The code is not right."))',
        (f"{_CODES}::test_a_wrong_code_does_not_tell_whether_the_customer_holds_a_live_code",),
    ),
)
