"""Payments against a period's settlement: the operator records one (amount signed like the statement's net, the
day it was paid, the bank's reference); both sides then read ``paid_minor`` and ``open_minor`` on the statement.

A payment is one transaction: the payment item, the partner's total moved from what was read (guarded, so two at
once both count), the request's replay record and the audit record. The period is one the coalition has had
(not after the current month); the partner exists; the amount is a signed integer, never 0."""

from __future__ import annotations

from datetime import date, datetime

from chalicelib import ids
from chalicelib.db import partners as partners_db
from chalicelib.db import payments as payments_db
from chalicelib.db.reads import Found
from chalicelib.domain.audit import Change
from chalicelib.domain.periods import period_of, zone
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.machinery import program
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import (
    CreatePayment,
    OperatorSettlement,
    PaymentList,
    PaymentOut,
    SettlementOut,
    SettlementTotals,
)

__all__ = ["in_report", "in_statement", "listed", "record"]


def _out(p: payments_db.Payment, paid_minor: int) -> PaymentOut:
    return PaymentOut(
        payment_id=p.payment_id,
        partner_id=p.partner_id,
        period=p.period,
        amount_minor=p.amount_minor,
        paid_on=p.paid_on,
        reference=p.reference,
        created_at=p.created_at,
        recorded_by=p.recorded_by,
        paid_minor=paid_minor,
    )


def _check_dates(period: str, paid_on: str, now: datetime) -> None:
    """A payment for a month that has begun, paid on a day that has come (program time zone)."""
    tz = program.load().timezone
    if period > period_of(now, tz):
        raise ValidationFailed.at(["path", "period"], "a payment is for a month that has begun", "range")
    if date.fromisoformat(paid_on) > now.astimezone(zone(tz)).date():
        raise ValidationFailed.at(["body", "paid_on"], "paid_on must not be after today", "date_in_future")


def record(req: WriteRequest, period: str, body: CreatePayment, now: datetime) -> Reply:
    """Record a payment (``period`` already checked as a month the coalition can have)."""
    _check_dates(period, body.paid_on, now)
    payment_id = ids.sortable_id("pay", now)  # once per request: a decision made again names the same payment
    partner_id = body.partner_id

    def decide(found: Found) -> Plan:
        if partners_db.from_found(found, partner_id) is None:
            raise NotFound(f"No partner {partner_id}.")
        read = payments_db.total_of(found, period, partner_id)
        payment = payments_db.Payment(
            payment_id=payment_id,
            partner_id=partner_id,
            period=period,
            amount_minor=body.amount_minor,
            paid_on=body.paid_on,
            reference=body.reference,
            created_at=req.now_iso,
            recorded_by=req.actor,
        )
        plan = Plan(created=True)
        partners_db.add_exists_check(plan.tx, partner_id)
        after = payments_db.add(plan.tx, payment, read)
        plan.response = _out(payment, after.paid_minor)
        was = {"paid_minor": read.paid_minor if read else 0}
        made = {"paid_minor": after.paid_minor, "amount_minor": body.amount_minor, "paid_on": body.paid_on}
        made["reference"] = body.reference
        target = f"payment:{payment_id}"
        plan.audit.append(Change("payment.recorded", target, partner_id, was, {**made, "period": period}))
        return plan

    reads = [partners_db.read_key(partner_id), payments_db.read_key(period, partner_id)]
    return execute(req, None, reads, decide)


def listed(period: str, partner_id: str) -> PaymentList:
    """One partner's payments for the period, oldest first, with their running total."""
    running, items = 0, []
    for p in payments_db.partner_payments(period, partner_id):
        running += p.amount_minor
        items.append(_out(p, running))
    return PaymentList(items=items, paid_minor=running)


def in_statement(row: SettlementOut) -> SettlementOut:
    """The statement with what is paid and still open, read now (a closed period's frozen figures included)."""
    paid = payments_db.partner_total(row.period, row.partner_id).paid_minor
    return row.model_copy(update={"paid_minor": paid, "open_minor": row.net_amount_minor - paid})


def in_report(report: OperatorSettlement) -> OperatorSettlement:
    """Every partner's statement with its payments, and the totals of both (one Query of the period's totals)."""
    totals = payments_db.period_totals(report.period)
    rows = []
    for row in report.partners:
        paid = totals[row.partner_id].paid_minor if row.partner_id in totals else 0
        rows.append(row.model_copy(update={"paid_minor": paid, "open_minor": row.net_amount_minor - paid}))
    paid_all = sum(r.paid_minor for r in rows)
    summed = report.totals.model_dump() | {
        "paid_minor": paid_all,
        "open_minor": report.totals.net_amount_minor - paid_all,
    }
    return report.model_copy(update={"partners": rows, "totals": SettlementTotals(**summed)})
