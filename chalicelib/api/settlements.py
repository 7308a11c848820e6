"""Monthly settlements: a partner's statement, the operator's report, its closing and reconciliation. JSON, or CSV
for accountants (``?format=csv``). The settlement service loads on first use (``chalicelib/lazy.py``), like every
API module's use cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib.api.common import AUTH_ERRORS, WRITE_ERRORS
from chalicelib.domain.reconciliation import Run
from chalicelib.errors import Forbidden, ValidationFailed
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    CreatePayment,
    OperatorSettlement,
    PaymentList,
    PaymentOut,
    PaymentsQuery,
    Reconciliation,
    SettlementOut,
    SettlementQuery,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import payments, reconciliation, settlement, settlement_csv
else:
    payments = lazy_module("chalicelib.services.payments")
    settlement = lazy_module("chalicelib.services.settlement")
    settlement_csv = lazy_module("chalicelib.services.settlement_csv")
    reconciliation = lazy_module("chalicelib.services.reconciliation")

api = RouteTable(tag="settlements")
operator = RouteTable(tag="operator")
JSON_OR_CSV = ("application/json", "text/csv")


# The operator's file covers every partner; its name says so where a partner's says the partner's name.
ALL_PARTNERS = "all-partners"


def _csv(call: Call[None, SettlementQuery], report: SettlementOut | OperatorSettlement) -> Response:
    """One table per file, headers in the caller's language (Accept-Language: ru or en) or as field names."""
    q = call.query
    lang = settlement_csv.language(call.header("Accept-Language"))
    fields = q.headers == "fields"
    if isinstance(report, SettlementOut):
        text = settlement_csv.partner_csv(report, lang, q.table, fields)
        name = report.partner_name
    else:
        text = settlement_csv.operator_csv(report, lang, q.table, fields)
        name = ALL_PARTNERS
    headers: dict[str, str | list[str]] = {**settlement_csv.headers(name, report.period, q.table)}
    headers["Content-Language"] = lang
    return Response(body=text, status_code=200, headers=headers)


@api.route(
    "GET",
    "/v1/settlements/{period}",
    "partner",
    "Your settlement for a month (YYYY-MM); ?format=csv for accountants",
    query=SettlementQuery,
    response=SettlementOut,
    errors=(*AUTH_ERRORS, 404, 422),
    content=JSON_OR_CSV,
)
def partner_settlement(call: Call[None, SettlementQuery]) -> SettlementOut | Response:
    if call.query.partner_id not in (None, call.partner_id):
        raise Forbidden("A partner reads only its own settlement.")
    report = settlement.partner_settlement(call.partner_id, call.params["period"], call.now)
    if call.query.format == "csv":
        return _csv(call, report)
    return report


@operator.route(
    "GET",
    "/v1/admin/settlements/{period}",
    "operator",
    "Every partner, totals, the issuer x acceptor matrix and the reconciliation identity; ?format=csv",
    query=SettlementQuery,
    response=OperatorSettlement,
    errors=(*AUTH_ERRORS, 422),
    content=JSON_OR_CSV,
)
def admin_settlement(call: Call[None, SettlementQuery]) -> OperatorSettlement | Response:
    report = settlement.operator_report(call.params["period"], call.now)
    if call.query.format == "csv":
        return _csv(call, report)
    return report


@operator.route(
    "POST",
    "/v1/admin/settlements/{period}/close",
    "operator",
    "Freeze an ended month: every later read returns this snapshot",
    response=OperatorSettlement,
    errors=(*AUTH_ERRORS, 409, 422),
)
def admin_close_settlement(call: Call[None, None]) -> OperatorSettlement:
    return settlement.close(call.params["period"], call.now, call.stamp)


def _run_reply(run: Run) -> Reply:
    """202 while the run reads the period's entries, 200 with the result once it is done."""
    return Reply(created=run.status == "running", body=reconciliation.to_out(run).model_dump_json())


@operator.route(
    "GET",
    "/v1/admin/settlements/{period}/reconciliation",
    "operator",
    "The month's latest reconciliation: 200 done (matches, differences, finished_at) or 202 running (entries read "
    "so far); with none stored one starts and a small month is done at once",
    response=Reconciliation,
    status=202,
    also=(200,),
    errors=(*AUTH_ERRORS, 422),
)
def admin_reconcile_settlement(call: Call[None, None]) -> Reply:
    return _run_reply(reconciliation.read(call.params["period"], call.now))


@operator.route(
    "POST",
    "/v1/admin/settlements/{period}/reconciliation",
    "operator",
    "Recompute the month from the ledger entries and compare, as a job: 202 with its job_id (the run under way if "
    "there is one); GET reads its progress and result",
    response=Reconciliation,
    status=202,
    also=(200,),
    errors=(*AUTH_ERRORS, 422),
)
def admin_start_reconciliation(call: Call[None, None]) -> Reply:
    return _run_reply(reconciliation.request(call.params["period"], call.now))


@operator.route(
    "POST",
    "/v1/admin/settlements/{period}/payments",
    "operator",
    "Record a payment against a partner's statement (amount signed like its net): it shows as paid_minor and "
    "open_minor on the statement",
    body=CreatePayment,
    response=PaymentOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def admin_record_payment(call: Call[CreatePayment, None]) -> Reply:
    period = settlement.check_period(call.params["period"], call.now)
    return payments.record(call.writing, period, call.body, call.now)


@operator.route(
    "GET",
    "/v1/admin/settlements/{period}/payments",
    "operator",
    "A partner's payments for a month, oldest first (?partner_id=)",
    query=PaymentsQuery,
    response=PaymentList,
    errors=(*AUTH_ERRORS, 422),
)
def admin_payments(call: Call[None, PaymentsQuery]) -> PaymentList:
    period = settlement.check_period(call.params["period"], call.now)
    if call.query.partner_id is None:
        raise ValidationFailed.at(["query", "partner_id"], "name the partner whose payments to list", "missing")
    return payments.listed(period, call.query.partner_id)


@api.route(
    "GET",
    "/v1/settlements/{period}/payments",
    "partner",
    "Your payments for a month, oldest first",
    response=PaymentList,
    errors=(*AUTH_ERRORS, 422),
)
def partner_payments(call: Call[None, None]) -> PaymentList:
    period = settlement.check_period(call.params["period"], call.now)
    return payments.listed(period, call.partner_id)
