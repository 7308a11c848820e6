"""Mutants of exactly-once writes under faults: lost answers, request tokens, conflicts, limits, secrets."""

from __future__ import annotations

from bench.mutant_sets import Mutant

WIRE = "tests/test_faults_wire.py"
EDGES = "tests/test_edges_exactly_once.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a lost answer (timeout, closed connection) not recognised as an unknown outcome",
        "    return isinstance(cause, ReadTimeoutError | ConnectionClosedError)",
        "    return False",
        (f"{WIRE}::test_a_lost_answer_is_never_a_500_even_for_a_partner_creation_without_key",),
    ),
    Mutant(
        "DynamoDB's error code read from an answer that never came",
        "    if not isinstance(response, dict):",
        "    if response is not None and not isinstance(response, dict):",
        (f"{WIRE}::test_a_lost_answer_is_never_a_500_even_for_a_partner_creation_without_key",),
    ),
    Mutant(
        "one ClientRequestToken for every attempt of a request",
        '    return hashlib.blake2b(f"{req.nonce}:{attempt}".encode(), digest_size=18).hexdigest()',
        '    return hashlib.blake2b(f"{req.nonce}:0".encode(), digest_size=18).hexdigest()',
        (
            f"{WIRE}::test_each_attempt_of_one_request_has_its_own_token",
            f"{WIRE}::test_a_transaction_conflict_is_decided_again_with_a_new_token_each_time",
        ),
    ),
    Mutant(
        "a TransactionConflict cancellation answered 503 at once",
        '_RETRYABLE_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}',
        '_RETRYABLE_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded"}',
        (f"{WIRE}::test_a_transaction_conflict_is_decided_again_with_a_new_token_each_time",),
    ),
    Mutant(
        "a final write cancelled by a conflict not sent again",
        "                if not cancelled.retryable or attempt == CONFLICT_RETRIES:",
        "                if True:",
        (f"{WIRE}::test_a_final_write_cancelled_by_conflicts_is_sent_again",),
    ),
    Mutant(
        "a 100-item transaction refused",
        "    if items > MAX_ITEMS:",
        "    if items >= MAX_ITEMS:",
        (f"{WIRE}::test_a_transaction_of_100_items_commits_and_101_is_refused_before_sending",),
    ),
    Mutant(
        "a 101-item transaction sent",
        "    if items > MAX_ITEMS:",
        "    if items > MAX_ITEMS + 1:",
        (f"{WIRE}::test_a_transaction_of_100_items_commits_and_101_is_refused_before_sending",),
    ),
    Mutant(
        "messages counted per customer only: one partner uses up another's",
        '    check("spend_code", f"{customer_id}\\x00{partner_id}")',
        '    check("spend_code", customer_id)',
        ("tests/test_limits.py::test_one_partners_links_never_use_up_another_partners_spend_codes",),
    ),
    Mutant(
        "no per-customer ceiling on messages from all partners",
        '    check("customer_messages", customer_id)',
        "    pass",
        ("tests/test_limits.py::test_many_partners_together_stay_under_the_customers_ceiling",),
    ),
    Mutant(
        "periods unbounded (0000-01, 9999-12)",
        "    return FIRST_YEAR <= year <= now.year + YEARS_AHEAD",
        "    return True",
        (f"{EDGES}::test_a_period_out_of_range_is_422_and_closes_nothing",),
    ),
    Mutant(
        "names accept control characters (NUL, CR/LF)",
        '        if char in _BIDI_AND_BREAKS or unicodedata.category(char) == "Cc":',
        "        if char in _BIDI_AND_BREAKS:",
        (f"{EDGES}::test_a_name_with_control_or_bidi_characters_is_422_and_writes_nothing",),
    ),
    Mutant(
        "names accept bidirectional overrides",
        '        if char in _BIDI_AND_BREAKS or unicodedata.category(char) == "Cc":',
        '        if unicodedata.category(char) == "Cc":',
        (f"{EDGES}::test_a_name_with_control_or_bidi_characters_is_422_and_writes_nothing",),
    ),
    Mutant(
        "the webhook reads its body before its secret",
        "                route.guard(lambda name: _header(request.headers, name))",
        "                pass",
        (f"{EDGES}::test_the_webhook_checks_its_secret_before_reading_the_body",),
    ),
    Mutant(
        "Retry-After rounded down",
        "    return max(1, -(-milliseconds // 1000))",
        "    return max(1, milliseconds // 1000)",
        (f"{EDGES}::test_waiting_exactly_retry_after_is_enough", f"{EDGES}::test_retry_after_seconds_rounds_up"),
    ),
    Mutant(
        "an order sees its hold open at the deadline the wallet already released",
        '    return spent.status == "held" and is_due(spent.expires_at, now)',
        '    return spent.status == "held" and datetime.fromisoformat(spent.expires_at) < now',
        (f"{EDGES}::test_a_refund_at_a_holds_exact_deadline_finds_it_over",),
    ),
    Mutant(
        "a limit that guards people lets a request through when it cannot be checked",
        '        log.warning("rate limit %s not checked; refused for now", "+".join(rates), exc_info=True)\n'
        '        raise Unavailable("A limit could not be checked; nothing was done. Retry shortly.") from exc',
        '        log.warning("rate limit %s not checked; refused for now", "+".join(rates), exc_info=True)\n'
        "        return",
        ("tests/test_limits.py::test_a_limit_that_guards_people_refuses_for_now_when_it_cannot_be_checked",),
    ),
    Mutant(
        "the wrong-code allowance lets a key through when it cannot be read",
        '        log.warning("rate limit wrong_code not read; refused for now", exc_info=True)\n'
        '        raise Unavailable("A limit could not be checked; nothing was done. Retry shortly.") from exc',
        '        log.warning("rate limit wrong_code not read; refused for now", exc_info=True)\n        return',
        ("tests/test_limits.py::test_a_limit_that_guards_people_refuses_for_now_when_it_cannot_be_checked",),
    ),
)
