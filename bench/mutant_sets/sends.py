"""Mutants of the guards of messages a write asks for (codes, links): each attempt claimed once, under a lease, the
poll waiting for the retry's time, only a code still waiting is sent, a permanent failure not retried, and no
partner's endpoint hears of a message."""

from __future__ import annotations

from bench.mutant_sets import Mutant

SENDS = "tests/test_message_outbox.py"
KEYS = "tests/test_customer_reach.py"
SESSIONS = "tests/test_customer_sessions.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a message's attempt claimed without its guard",
        '    tx.update(item, actions, condition=OutboxItem.pk.exists() & free, tag=f"claim:{event_id}")',
        '    tx.update(item, actions, tag=f"claim:{event_id}")',
        (f"{SENDS}::test_a_pass_that_sees_the_message_twice_sends_it_once",),
    ),
    Mutant(
        "a message's attempt under way ignored",
        "    free = OutboxItem.lease_until.does_not_exist() | (OutboxItem.lease_until <= now_iso)",
        "    free = OutboxItem.pk.exists()",
        (f"{SENDS}::test_an_attempt_under_way_is_not_made_twice",),
    ),
    Mutant(
        "the poll does not wait for a message's retry time",
        "        free = free & (OutboxItem.not_before.does_not_exist() | (OutboxItem.not_before <= now_iso))",
        "        free = free",
        (f"{SENDS}::test_a_throttled_provider_is_asked_again_after_its_own_wait",),
    ),
    Mutant(
        "the request's own retry waits for the poll's time",
        "    if not eager:",
        "    if True:",
        (f"{KEYS}::test_a_spend_code_whose_message_failed_is_delivered_by_the_retry",),
    ),
    Mutant(
        "a message sent with a code no longer waiting",
        "    return code if one_time_codes.judge(stored, owner, slot, code, now) is Verdict.OK else None",
        "    return code",
        (f"{SENDS}::test_a_message_whose_code_was_replaced_meanwhile_is_not_sent",),
    ),
    Mutant(
        "a permanent failure retried",
        "    if not cause.retryable:",
        "    if False:",
        (f"{SENDS}::test_a_failure_the_port_calls_permanent_is_not_retried",),
    ),
    Mutant(
        "a message handed to partners' endpoints",
        "        if event.type == MESSAGE_REQUESTED:  # the coalition's own message: never a partner's",
        "        if False:",
        (f"{SENDS}::test_no_partner_endpoint_hears_of_a_message",),
    ),
    Mutant(
        "an endpoint subscribed to everything hears of internal events",
        "    if event_type in INTERNAL_EVENTS:",
        "    if False:",
        (f"{SENDS}::test_a_failure_the_port_calls_permanent_is_not_retried",),
    ),
    Mutant(
        "a channel-change notice sent when the channel did not change",
        "    if before is None or after is None or after == before:",
        "    if before is None or after is None:",
        (f"{SESSIONS}::test_a_channel_change_is_announced_on_the_old_channel",),
    ),
)
