"""Mutants of the partner's spend policy: the code-free ceiling, hold length, spends announced to the customer."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_TESTS = "tests/test_spend_policy.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "code-free ceiling decided per request, not per 24 hours",
        "    return used + points <= ceiling",
        "    return points <= ceiling",
        (
            f"{_TESTS}::test_the_ceiling_adds_up_small_spends_and_says_what_is_left",
            f"{_TESTS}::test_above_n_is_a_daily_ceiling_per_customer_and_partner_not_a_limit_per_request",
        ),
    ),
    Mutant(
        "code-free ceiling missing from the write's condition",
        "    condition: Condition = total <= ceiling - points + freed",
        "    condition: Condition = total.exists()",
        (f"{_TESTS}::test_two_code_free_spends_decided_on_the_same_read_cannot_both_pass",),
    ),
    Mutant(
        "code-free hold length unchecked",
        "        if hold_minutes is not None and hold_minutes > self.code_free_hold_minutes:",
        "        if False:",
        (
            f"{_TESTS}::test_code_free_holds_count_and_are_short_so_no_till_freezes_a_wallet_for_a_week",
            f"{_TESTS}::test_never_has_no_ceiling_but_its_holds_are_short",
        ),
    ),
    Mutant(
        "a partner stored before the policy existed spends without a code",
        '    spend_confirmation = UnicodeAttribute(default="always")',
        '    spend_confirmation = UnicodeAttribute(default="never")',
        (f"{_TESTS}::test_a_partner_stored_before_the_spend_policy_existed_asks_for_the_customers_code",),
    ),
    Mutant(
        "a customer releases a hold that is not hers",
        "        if order is None or order.spent is None or order.customer_id != customer_id:",
        "        if order is None or order.spent is None:",
        (f"{_TESTS}::test_a_customer_cannot_release_another_customers_hold",),
    ),
    Mutant(
        "a spend without the customer's code is not messaged to her",
        "        customer_messages.send(customer, NOTICE_PURPOSE, _text(customer, note))",
        "        pass",
        (f"{_TESTS}::test_a_spend_or_hold_without_a_code_is_messaged_to_the_customer_once",),
    ),
    Mutant(
        "a spend notice sent twice when the dispatcher sees its event twice",
        "    if not messages_db.claim(note.customer_id, NOTICE_PURPOSE, note.event_id, now):",
        "    if False:",
        (f"{_TESTS}::test_the_notice_goes_out_once_even_when_the_dispatcher_sees_the_event_twice",),
    ),
    Mutant(
        "a spend notice whose send failed is never sent",
        "        messages_db.give_back(note.customer_id, NOTICE_PURPOSE, note.event_id)",
        "        pass",
        (f"{_TESTS}::test_a_notice_whose_send_failed_goes_out_on_the_next_pass",),
    ),
    Mutant(
        "a spend with the customer's code announced as made without it",
        "    return event.type == REDEMPTION_CREATED and event.data.get(CODE_FREE) is True",
        "    return event.type == REDEMPTION_CREATED",
        (f"{_TESTS}::test_a_spend_or_hold_without_a_code_is_messaged_to_the_customer_once",),
    ),
    Mutant(
        "the internal code-free mark leaks into the partners' webhook payload",
        "        data = {k: v for k, v in self.data.items() if not k.startswith(INTERNAL_PREFIX)}",
        "        data = dict(self.data)",
        (f"{_TESTS}::test_the_partners_webhook_never_sees_the_internal_mark",),
    ),
)
