"""Mutants of one receipt paid partly in points: what the accrual earns on, and the natural-id records that let a
refused attempt bind only its own body."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_REFUSED = (
    "tests/test_idempotency.py::test_a_refused_body_under_a_natural_id_replays_its_error_and_a_corrected_body_executes"
)
_ACCRUAL = "tests/test_idempotency.py::test_a_refused_accrual_on_a_spent_receipt_then_the_corrected_body_earns"
_PARTLY = "tests/test_orders.py::TestAReceiptPaidPartlyInPoints"
_LEGACY = "tests/test_idempotency.py::test_a_refusal_recorded_at_the_order_id_itself_binds_only_its_body"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "the accrual earns on the receipt total",
        "        money_minor = base.paid_in_money_minor(now)",
        "        money_minor = body.amount_minor",
        (_PARTLY, _ACCRUAL),
    ),
    Mutant(
        "an open hold's points not counted as paid",
        '        if spent is None or spent.status not in ("held", "captured") or hold_is_over(spent, now):',
        '        if spent is None or spent.status != "captured":',
        (_PARTLY,),
    ),
    Mutant(
        "a hold over at its deadline still counted as paid",
        '        if spent is None or spent.status not in ("held", "captured") or hold_is_over(spent, now):',
        '        if spent is None or spent.status not in ("held", "captured"):',
        (_PARTLY,),
    ),
    Mutant(
        "points paid valued at today's point value",
        '        value = dict(self.values).get("point_value_minor", 0)',
        "        value = 200",
        (f"{_PARTLY}::test_points_spent_are_valued_as_the_redemption_valued_them", _ACCRUAL),
    ),
    Mutant(
        "one refusal record per natural id, whatever the body",
        '    return f"{sk}#REFUSED#{body_fingerprint[:32]}"',
        '    return f"{sk}#REFUSED#"',
        (_REFUSED,),
    ),
    Mutant(
        "a refusal recorded at the natural id itself",
        '        out.append(_Record(natural.pk, refused_sk, req.body_fingerprint, "refused", natural.duplicate))',
        '        out.append(_Record(natural.pk, natural.sk, req.body_fingerprint, "refused", natural.duplicate))',
        (_REFUSED, _ACCRUAL),
    ),
    Mutant(
        "a refusal recorded over another body's success",
        "            replays_db.check_free(plan.tx, r.pk, r.sk, tag=r.tag, over_errors=True)",
        "            pass",
        ("tests/test_idempotency.py::test_a_refusal_decided_while_the_same_body_succeeded_answers_that_success",),
    ),
    Mutant(
        "a success recorded over its own body's refusal",
        "            replays_db.check_free(plan.tx, r.pk, r.sk, tag=r.tag)",
        "            pass",
        ("tests/test_idempotency.py::test_a_success_decided_while_the_same_body_was_refused_answers_that_refusal",),
    ),
    Mutant(
        "a refusal at the natural id itself binds every body",
        '        if item.fingerprint != r.fingerprint and r.tag == "natural" and item.is_error:',
        "        if False:",
        (_LEGACY,),
    ),
    Mutant(
        "a success cannot take the place of a refusal at the natural id itself",
        '        free.guard("(attribute_not_exists ({0}) OR {1} >= {2})", ("pk",), ("status_code",), typed(400))',
        '        free.guard("attribute_not_exists ({0})", ("pk",))',
        (_LEGACY,),
    ),
)
