"""Refunds: pro-rata reversal of what an order earned and return of what it spent, cumulative over partial
refunds, meeting the order's hold while it is open."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib import db
from chalicelib.db import campaign_awards as campaign_awards_db
from chalicelib.db import keys
from chalicelib.db import orders as orders_db
from chalicelib.domain import period_of
from chalicelib.domain.orders import RefundTooLarge, hold_is_over, plan_refund, refund_shares, without_hold
from chalicelib.domain.wallet import hold_id
from chalicelib.errors import (
    DuplicateRefund,
    OrderNotFound,
    RefundExceedsOrder,
)
from chalicelib.machinery import wallets
from chalicelib.machinery.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.machinery.write_session import Found, open_session, reads_for
from chalicelib.schemas import (
    AwardReversed,
    CreateRefund,
    RefundOut,
)


def refund(req: WriteRequest, body: CreateRefund, partner_id: str, now: datetime) -> Reply:
    """Pro-rata reversal of what the order earned and return of what it spent, cumulative over partial refunds.

    Earned points come back out of the pending bucket while pending, else out of the lot they created; what the
    customer already spent is the shortfall the till withholds. Spent points come back out of the hold while it is
    open (so a later capture takes only what is left) or out of the captured lots.
    """
    natural = NaturalId(*keys.refund(partner_id, body.refund_id), duplicate=DuplicateRefund)

    def decide(found: Found) -> Plan:
        order = orders_db.load(found, partner_id, body.order_id)
        if order is None:
            raise OrderNotFound(f"No accrual or redemption for order {body.order_id}.")
        if order.spent is not None and hold_is_over(order.spent, now):
            order = replace(order, spent=without_hold(order.spent, "expired"))
        try:
            shares = refund_shares(order, body.amount_minor)
        except RefundTooLarge as exc:
            raise RefundExceedsOrder(
                f"Order {body.order_id} is {order.amount_minor}; {order.refunded_minor} already refunded, so at "
                f"most {exc.refundable_minor} may be refunded now.",
                refundable_minor=exc.refundable_minor,
            ) from exc
        plan = Plan(created=True)
        s = open_session(db.get_many(reads_for(order.customer_id)), order.customer_id, now, plan, allow_deleted=True)
        hold_key = hold_id(partner_id, body.order_id)
        refunded = plan_refund(order, shares, s.current, hold_key, period_of(now, s.program.timezone))
        for r in refunded.reversals:
            if r.kind == "award" and r.share:
                campaign_awards_db.reverse(plan.tx, r.ref, r.share)
        after_wallet = s.commit(
            refunded.change,
            "refund",
            partner_id,
            amount_minor=body.amount_minor,
            order_id=body.order_id,
            ref_id=body.refund_id,
            details={
                "points_reversed": refunded.points_reversed,
                "points_taken": refunded.points_taken,
                "points_shortfall": refunded.points_shortfall,
                "points_returned": shares.give_back,
                "returned_lots": {} if refunded.from_hold else refunded.given,
                "released_lots": refunded.given if refunded.from_hold else {},
                "reversals": [r.to_dict() for r in refunded.reversals],
                **dict(order.values),
            },
        )
        point_value_minor = dict(order.values).get("point_value_minor", s.program.point_value_minor)
        plan.response = RefundOut(
            refund_id=body.refund_id,
            order_id=body.order_id,
            customer_id=order.customer_id,
            amount_minor=body.amount_minor,
            points_reversed=refunded.points_reversed,
            points_shortfall=refunded.points_shortfall,
            shortfall_minor=refunded.points_shortfall * point_value_minor,
            points_returned=shares.give_back,
            awards_reversed=[
                AwardReversed(campaign_id=r.ref, points=r.share) for r in refunded.reversals if r.kind == "award"
            ],
            balance=wallets.summary(after_wallet),
        )
        after = replace(order, refunded_minor=shares.after_minor, spent=refunded.spent)
        orders_db.save(plan.tx, partner_id, body.order_id, after, order, now.isoformat())
        return plan

    return execute(req, natural, [orders_db.read_key(partner_id, body.order_id)], decide)
