"""Mutants of the hot path's guards: what rides with a request's read (authentication, the rate-limit bucket) is
checked before anything leaves, leases never take a token the bucket has not got, credit only on a bucket with a
token, a sent code is always read, and the expiry marker is written where none exists."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "no HSTS on HTTPS answers of the routes",
        "        if over_https(headers):",
        "        if False:",
        ("tests/test_customer_sessions.py::test_https_answers_carry_hsts_pages_and_api_alike",),
    ),
    Mutant(
        "HSTS only where the gateway says https, not on every host but loopback",
        '    return proto == "https" or (host or "").partition(":")[0] not in _LOOPBACK',
        '    return proto == "https"',
        ("tests/test_customer_sessions.py::test_https_answers_carry_hsts_pages_and_api_alike",),
    ),
    Mutant(
        "a known partner's campaigns read again with other budget shards",
        "    if campaigns_known(partner_id) is not None:\n        return lambda: []",
        "    if campaigns_known(partner_id) is None:\n        return lambda: []",
        ("tests/test_round_trips.py::test_an_accrual_at_a_till_with_campaigns_is_one_read_and_one_write_warm",),
    ),
    Mutant(
        "carried authentication not landed before an error answer",
        "        db.land_riders()\n    except ApiError as refused:",
        "        pass\n    except ApiError as refused:",
        (
            "tests/test_round_trips.py::test_a_made_up_key_naming_a_partner_gets_401_even_for_a_body_that_does_not_validate",
        ),
    ),
    Mutant(
        "a made-up key told that the partner it names is suspended",
        '    if key is not None and partner is not None and partner.status != "active":',
        '    if partner is not None and partner.status != "active":',
        ("tests/test_round_trips.py::test_a_made_up_key_naming_a_suspended_partner_learns_nothing_but_401",),
    ),
    Mutant(
        "a suspended partner known here not told to its key read with the request",
        '    if partner is not None and partner.status != "active":',
        "    if False:",
        ("tests/test_round_trips.py::test_a_made_up_key_naming_a_suspended_partner_learns_nothing_but_401",),
    ),
    Mutant(
        "a key's named partner id believed whatever its shape",
        '_PARTNER_ID = re.compile(r"ptn_[0-9a-z]{1,32}")',
        '_PARTNER_ID = re.compile(r"ptn_.*")',
        ("tests/test_round_trips.py::test_a_made_up_key_naming_a_partner_id_of_any_other_shape_gets_401_not_500",),
    ),
    Mutant(
        "a carried key's status not checked",
        '        if key is None or key.status != "active" or (key.key_id, _role(key), key.partner_id) != binding:',
        "        if key is None or (key.key_id, _role(key), key.partner_id) != binding:",
        ("tests/test_round_trips.py::test_a_revoked_key_is_refused_by_a_cold_instance",),
    ),
    Mutant(
        "a lease taken past the bucket's tokens",
        "        refused = {n: r for n, r in rates.items() if want[n] < owed[n] + 1}",
        "        refused = {n: r for n, r in rates.items() if want[n] < 0}",
        ("tests/test_limits.py::test_a_burst_from_one_key_is_429_while_another_key_is_unaffected",),
    ),
    Mutant(
        "a held lease spent past its last token",
        "            if lease.left == 0:",
        "            if lease.left < 0:",
        ("tests/test_limits.py::test_a_burst_from_one_key_is_429_while_another_key_is_unaffected",),
    ),
    Mutant(
        "a key's leases and rates kept from another runtime (other limits, table or clock)",
        "    if held is not None and held.owner is rt:",
        "    if held is not None:",
        ("tests/test_limits.py::test_a_refused_write_leaves_its_idempotency_key_free",),
    ),
    Mutant(
        "a made-up key's rate record and leases made before its read shows it real",
        "    if db.riders_pending():  # the request's first read comes anyway: the bucket rides with it",
        "    if False:",
        ("tests/test_limits.py::test_made_up_keys_leave_nothing_behind_in_the_instance",),
    ),
    Mutant(
        "the instance's per-key rate records unbounded",
        "    if len(_held) >= _HINTS_MAX:",
        "    if False:",
        ("tests/test_limits.py::test_the_instances_rate_records_stay_bounded_with_the_key_limit_off",),
    ),
    Mutant(
        "credit on an empty bucket",
        "    if not all(admit(_hints.get((key[0], n)), now_ms, rates[n]).allowed for n in short):",
        "    if False:",
        ("tests/test_limits.py::test_a_cold_instance_gives_no_credit_on_an_empty_bucket",),
    ),
    Mutant(
        "a sent customer code not read with the redemption",
        "    code_reads = spend_codes.reads(body.customer_id, partner_id) if body.customer_code is not None else []",
        "    code_reads = []",
        ("tests/test_consent_codes.py",),
    ),
    Mutant(
        "no expiry marker for a month first credited",
        "    for expiry in sorted(months) if months else ():",
        "    for expiry in ():",
        ("tests/test_round_trips.py::test_an_accrual_writes_its_months_expiry_marker_once",),
    ),
    Mutant(
        "a deleted account's balance answered from its item read raw",
        "    return None if raw is None or _deleted(raw) else wallet_of_raw(raw)",
        "    return None if raw is None else wallet_of_raw(raw)",
        (
            "tests/test_item_codec.py::test_a_customer_item_decodes_straight_into_the_wallet_and_customer_pynamodb_gives",
            "tests/test_customer_reach.py::test_deleting_the_account_erases_personal_data_and_the_books_still_add_up",
        ),
    ),
    Mutant(
        "a deleted account read raw in a batch taken as live",
        '    return bool(deleted_at.get("S"))  # a string attribute (absent or NULL: not deleted)',
        "    return False",
        (
            "tests/test_item_codec.py::test_a_customer_item_decodes_straight_into_the_wallet_and_customer_pynamodb_gives",
        ),
    ),
    Mutant(
        "a campaign's budget shard drawn among all eight, not its own",
        "        drawn = secrets.randbelow(shards_for(r.budget_points, keys.CAMPAIGN_SHARDS))",
        "        drawn = secrets.randbelow(keys.CAMPAIGN_SHARDS)",
        (
            "tests/test_round_trips.py::"
            "test_an_accrual_at_a_till_with_a_small_budgeted_campaign_is_one_read_and_one_write_warm",
        ),
    ),
)
