"""Payments recorded against a period's settlement (``PAYMENTS#<period>``): each payment an immutable item
(``PAY#<partner>#<payment id>``), and each partner's total (``TOTAL#<partner>``: ``paid_minor``, ``payments``)
written in the same transaction, guarded by the total as read, so two payments at once both count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db import keys
from chalicelib.db.models import _Item
from chalicelib.db.reads import Found, ReadKey, get_one
from chalicelib.db.tx import Transaction

__all__ = [
    "Payment",
    "PaymentItem",
    "PaymentTotalItem",
    "Total",
    "add",
    "partner_payments",
    "partner_total",
    "period_totals",
    "read_key",
    "total_of",
]


class PaymentItem(_Item):
    """``PAYMENTS#<period>`` / ``PAY#<partner>#<payment id>``: one payment, never changed."""

    payment_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    period = UnicodeAttribute()
    amount_minor = NumberAttribute()
    paid_on = UnicodeAttribute()
    reference = UnicodeAttribute()
    created_at = UnicodeAttribute()
    recorded_by = UnicodeAttribute()


class PaymentTotalItem(_Item):
    """``PAYMENTS#<period>`` / ``TOTAL#<partner>``: what the partner's payments for the period add up to."""

    partner_id = UnicodeAttribute()
    paid_minor = NumberAttribute(default=0)
    payments = NumberAttribute(default=0)
    updated_at = UnicodeAttribute()


@dataclass(frozen=True)
class Payment:
    payment_id: str
    partner_id: str
    period: str
    amount_minor: int
    paid_on: str
    reference: str
    created_at: str
    recorded_by: str


@dataclass(frozen=True)
class Total:
    paid_minor: int = 0
    payments: int = 0


def read_key(period: str, partner_id: str) -> ReadKey:
    return (PaymentTotalItem, *keys.payment_total(period, partner_id))


def total_of(found: Found, period: str, partner_id: str) -> Total | None:
    item = found.get(keys.payment_total(period, partner_id))
    return None if item is None else Total(int(item.paid_minor), int(item.payments))


def add(tx: Transaction, payment: Payment, read: Total | None) -> Total:
    """Put the payment and move its partner's total from what was ``read`` (None: no total yet) to the new one,
    under the condition that it still is what was read (else the transaction is cancelled and decided again)."""
    item = PaymentItem(
        *keys.payment(payment.period, payment.partner_id, payment.payment_id),
        payment_id=payment.payment_id,
        partner_id=payment.partner_id,
        period=payment.period,
        amount_minor=payment.amount_minor,
        paid_on=payment.paid_on,
        reference=payment.reference,
        created_at=payment.created_at,
        recorded_by=payment.recorded_by,
    )
    tx.put(item, condition=PaymentItem.pk.does_not_exist(), tag="payment")
    before = read or Total()
    after = Total(before.paid_minor + payment.amount_minor, before.payments + 1)
    total = PaymentTotalItem(*keys.payment_total(payment.period, payment.partner_id))
    unchanged = (
        PaymentTotalItem.pk.does_not_exist()
        if read is None
        else (PaymentTotalItem.paid_minor == read.paid_minor) & (PaymentTotalItem.payments == read.payments)
    )
    actions = [
        PaymentTotalItem.partner_id.set(payment.partner_id),
        PaymentTotalItem.paid_minor.set(after.paid_minor),
        PaymentTotalItem.payments.set(after.payments),
        PaymentTotalItem.updated_at.set(payment.created_at),
    ]
    tx.update(total, actions, condition=unchanged, tag="payment_total")
    return after


def _payment(item: PaymentItem) -> Payment:
    return Payment(
        payment_id=item.payment_id,
        partner_id=item.partner_id,
        period=item.period,
        amount_minor=int(item.amount_minor),
        paid_on=item.paid_on,
        reference=item.reference,
        created_at=item.created_at,
        recorded_by=item.recorded_by,
    )


def period_totals(period: str) -> dict[str, Total]:
    """Every partner's total for the period: one Query of the totals (``TOTAL#`` items) of the partition."""
    out: dict[str, Total] = {}
    for item in PaymentTotalItem.query(
        keys.payments(period), PaymentTotalItem.sk.startswith("TOTAL#"), consistent_read=True
    ):
        out[item.partner_id] = Total(int(item.paid_minor), int(item.payments))
    return out


def partner_payments(period: str, partner_id: str) -> list[Payment]:
    """A partner's payments for the period, oldest first (ids sort by time)."""
    prefix = keys.payment(period, partner_id, "")[1]
    found: Iterable[PaymentItem] = PaymentItem.query(
        keys.payments(period), PaymentItem.sk.startswith(prefix), consistent_read=True
    )
    return [_payment(item) for item in found]


def partner_total(period: str, partner_id: str) -> Total:
    item = get_one(PaymentTotalItem, *keys.payment_total(period, partner_id))
    return Total() if item is None else Total(int(item.paid_minor), int(item.payments))
