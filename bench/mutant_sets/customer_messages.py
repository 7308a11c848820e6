"""Mutants of the guards on messages the program sends on its own: quiet hours, once per message, consent and the
weekly cap for marketing, the unsubscribe token, the operator's texts."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_TESTS = "tests/test_customer_reminders.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "messages sent in quiet hours",
        "    if is_quiet(now, prog.timezone, config.quiet_from_hour, config.quiet_to_hour):",
        "    if False:",
        (f"{_TESTS}::test_nothing_goes_out_in_quiet_hours_and_the_first_run_after_them_sends",),
    ),
    Mutant(
        "a message's mark claimed without its condition",
        "        item.save(condition=MessageMarkItem.sk.does_not_exist())",
        "        item.save()",
        (f"{_TESTS}::test_a_week_before_points_expire_each_customer_gets_one_reminder_in_their_language",),
    ),
    Mutant(
        "a failed send keeps its mark",
        "        messages_db.give_back(customer_id, EXPIRY_REMINDER, month)",
        "        pass",
        (f"{_TESTS}::test_a_failed_send_is_tried_again_by_the_next_run",),
    ),
    Mutant(
        "marketing without consent",
        "    if not customer.marketing_consent or not customer_messages.reachable(customer):",
        "    if not customer_messages.reachable(customer):",
        (f"{_TESTS}::TestBirthdays::test_only_customers_who_agreed_get_a_greeting_once_with_an_unsubscribe_link",),
    ),
    Mutant(
        "no weekly cap",
        "            condition=MessageMarkItem.sent.does_not_exist() | (MessageMarkItem.sent < cap),",
        "            condition=None,",
        (f"{_TESTS}::TestBirthdays::test_the_weekly_cap_holds_marketing_back",),
    ),
    Mutant(
        "any unsubscribe token accepted",
        "    if not signing.verify(token, unsubscribe_token(customer_id)):",
        "    if not token:",
        (f"{_TESTS}::TestBirthdays::test_a_forged_unsubscribe_changes_nothing",),
    ),
    Mutant(
        "unknown placeholders in the operator's texts",
        "            if unknown:",
        "            if False:",
        (f"{_TESTS}::test_a_text_the_job_could_not_fill_is_refused_when_saved",),
    ),
    Mutant(
        "a reminder for points already spent",
        "    if points <= 0 or not messages_db.claim(customer_id, EXPIRY_REMINDER, month, now):",
        "    if not messages_db.claim(customer_id, EXPIRY_REMINDER, month, now):",
        (f"{_TESTS}::test_the_reminder_names_only_the_points_that_expire_and_not_spent_ones",),
    ),
)
