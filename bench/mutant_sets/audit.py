"""Mutants of the audit log's and the payments' guards: who reads which records, the cursor, the record in the
change's own transaction, a payment's checks and its guarded total."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_AUDIT = "tests/test_audit.py"
_PAY = "tests/test_payments.py"
_WIRE = "tests/test_faults_wire.py::test_a_fault_at_the_wire_has_one_effect_and_the_fault_free_answer"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "audit cursor signature not checked",
        "    if not signing.verify(signature, _sign(scope, payload)):",
        "    if False:",
        (f"{_AUDIT}::test_a_cursor_from_another_partner_or_another_filter_or_tampered_is_refused",),
    ),
    Mutant(
        "audit cursor may name another partition",
        "    if not isinstance(start, dict) or start.get(attr) != value or not all(isinstance(v, str) for v in "
        "start.values()):",
        "    if not isinstance(start, dict) or not all(isinstance(v, str) for v in start.values()):",
        (f"{_AUDIT}::test_a_signed_cursor_still_cannot_leave_the_callers_partition",),
    ),
    Mutant(
        "a partner reads the whole audit log",
        '    return _list("partner", partner_id, q, f"partner:{partner_id}")',
        '    return _list("all", "", q, f"partner:{partner_id}")',
        (f"{_AUDIT}::test_a_partner_reads_its_own_records_and_never_another_partners",),
    ),
    Mutant(
        "an audit value kept whole whatever its size",
        "    if size <= MAX_VALUE_BYTES:",
        "    if True:",
        (f"{_AUDIT}::test_a_value_too_large_is_kept_as_a_marker_not_refused",),
    ),
    Mutant(
        "a resent call that finds its own audit record is a failure",
        "            if isinstance(failure, TxCancelled) and failure.failed & self._marks:",
        "            if False:",
        (f"{_WIRE}[admin_revoke_key-answer lost once, no key]",),
    ),
    Mutant(
        "a payment's total written over what was not read",
        "        else (PaymentTotalItem.paid_minor == read.paid_minor) & (PaymentTotalItem.payments == read.payments)",
        "        else PaymentTotalItem.pk.exists()",
        (f"{_PAY}::test_a_payment_decided_on_a_stale_total_is_decided_again_not_lost",),
    ),
    Mutant(
        "a payment's first total written over one that appeared",
        "        PaymentTotalItem.pk.does_not_exist()",
        "        PaymentTotalItem.pk.does_not_exist() | PaymentTotalItem.pk.exists()",
        (f"{_PAY}::test_a_payment_decided_on_a_stale_total_is_decided_again_not_lost",),
    ),
    Mutant(
        "a payment for an unknown partner not refused",
        "        if partners_db.from_found(found, partner_id) is None:",
        "        if False:",
        (f"{_PAY}::test_a_payment_for_an_unknown_partner_or_month_is_refused_without_a_record",),
    ),
    Mutant(
        "a payment for a month not begun",
        "    if period > period_of(now, tz):",
        "    if False:",
        (f"{_PAY}::test_a_payment_for_an_unknown_partner_or_month_is_refused_without_a_record",),
    ),
    Mutant(
        "a payment paid on a day to come",
        "    if date.fromisoformat(paid_on) > now.astimezone(zone(tz)).date():",
        "    if False:",
        (f"{_PAY}::test_a_bad_payment_is_refused_and_changes_nothing",),
    ),
    Mutant(
        "a payment of 0",
        '            raise ValueError("a payment of 0 moves no money")',
        "            pass",
        (f"{_PAY}::test_a_bad_payment_is_refused_and_changes_nothing",),
    ),
    Mutant(
        "a payment not audited",
        '        plan.audit.append(Change("payment.recorded", target, partner_id, was, {**made, "period": period}))',
        "        pass",
        (f"{_PAY}::test_a_payment_shows_as_paid_and_open_on_both_sides",),
    ),
)
