"""Refunds: pro-rata reversal of what an order earned and return of what it spent, cumulative over partial
refunds, meeting the order's hold while it is open."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib import db
from chalicelib.db import keys
from chalicelib.db import orders as orders_db
from chalicelib.domain import (
    period_of,
    refill,
)
from chalicelib.domain.orders import (
    Order,
    RefundShares,
    RefundTooLarge,
    Spent,
    hold_is_over,
    refund_shares,
    without_hold,
)
from chalicelib.domain.wallet import Change, hold_id
from chalicelib.errors import (
    DuplicateRefund,
    OrderNotFound,
    RefundExceedsOrder,
)
from chalicelib.schemas import (
    AwardReversed,
    CreateRefund,
    RefundOut,
)
from chalicelib.services import wallets as wallet
from chalicelib.services.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.services.session import Found, Session, open_session, reads_for


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
        plan = Plan(status=201)
        s = open_session(db.get_many(reads_for(order.customer_id)), order.customer_id, now, plan, allow_deleted=True)
        change = Change()
        if shares.spend_back_minor:
            change.spend[period_of(now, s.program.timezone)] = -shares.spend_back_minor
        spent, given = _give_back(s, change, order, partner_id, body.order_id, shares.give_back)
        reversals = _reverse_grants(s, change, shares)
        for r in reversals:
            if r["kind"] == "award" and r["share"]:
                plan.tx.update(
                    db.CampaignItem(*keys.campaign(r["ref"])), [db.CampaignItem.points_reversed.add(r["share"])]
                )
        points_reversed = sum(r["share"] for r in reversals)
        taken = sum(r["taken"] for r in reversals)
        shortfall = points_reversed - taken
        after_wallet = s.commit(
            change,
            "refund",
            partner_id,
            amount_minor=body.amount_minor,
            order_id=body.order_id,
            ref_id=body.refund_id,
            details={
                "points_reversed": points_reversed,
                "points_taken": taken,
                "points_shortfall": shortfall,
                "points_returned": shares.give_back,
                "returned_lots": given if spent is None or spent.status != "held" else {},
                "released_lots": given if spent is not None and spent.status == "held" else {},
                "reversals": reversals,
                **dict(order.values),
            },
        )
        plan.response = RefundOut(
            refund_id=body.refund_id,
            order_id=body.order_id,
            customer_id=order.customer_id,
            amount_minor=body.amount_minor,
            points_reversed=points_reversed,
            points_shortfall=shortfall,
            shortfall_minor=shortfall * dict(order.values).get("point_value_minor", s.program.point_value_minor),
            points_returned=shares.give_back,
            awards_reversed=[
                AwardReversed(campaign_id=r["ref"], points=r["share"]) for r in reversals if r["kind"] == "award"
            ],
            balance=wallet.summary(after_wallet),
        )
        new_spent = None
        if spent is not None:
            left = dict(spent.lots)
            for key, points in given.items():
                left[key] -= points
            new_spent = replace(
                spent, lots={k: v for k, v in left.items() if v}, returned=spent.returned + sum(given.values())
            )
            if new_spent.status == "held" and not new_spent.lots:
                new_spent = replace(new_spent, status="refunded", expires_at="")
        refunded = replace(order, refunded_minor=shares.after_minor, spent=new_spent)
        orders_db.save(plan.tx, partner_id, body.order_id, refunded, order, now.isoformat())
        return plan

    return execute(req, natural, [orders_db.read_key(partner_id, body.order_id)], decide)


def _give_back(
    s: Session, change: Change, order: Order, partner_id: str, order_id: str, points: int
) -> tuple[Spent | None, dict[str, int]]:
    """Give ``points`` the order spent back to the customer: out of the open hold (latest-expiring lots first, so
    a later capture keeps the earliest), or out of the captured lots in the order they were taken. Returns the
    spent state the points came from and the lots they went back to."""
    spent = order.spent
    if spent is None or points == 0:
        return spent, {}
    if spent.status == "held":
        hid = hold_id(partner_id, order_id)
        hold = s.current.holds[hid]
        moved = dict(refill(sorted(hold.lots.items(), reverse=True), {}, points))
        change.held -= points
        if points == hold.points:
            change.remove_holds.add(hid)
        else:
            left = {k: v - moved.get(k, 0) for k, v in hold.lots.items() if v - moved.get(k, 0)}
            change.replace_holds[hid] = replace(hold, points=hold.points - points, lots=left)
    else:
        moved = dict(refill(sorted(spent.lots.items()), {}, points))
    change.available += points
    for key, n in moved.items():
        change.add_lot(key, n)
    return spent, moved


def _reverse_grants(s: Session, change: Change, shares: RefundShares) -> list[dict[str, Any]]:
    """Take each grant's share back from where it landed: its pending bucket while pending, else its lot; what the
    customer no longer has is the shortfall (recorded per grant so settlement can charge it to the till that
    withholds it and relieve the funder)."""
    taken_from_bucket: dict[str, int] = {}
    reversals: list[dict[str, Any]] = []
    for grant, share in shares.reversals:
        bucket = grant.bucket
        left_in_bucket = s.current.pending_lots.get(bucket, 0) - taken_from_bucket.get(bucket, 0) if bucket else 0
        if left_in_bucket > 0:
            got = min(share, left_in_bucket)
            taken_from_bucket[bucket] = taken_from_bucket.get(bucket, 0) + got
            change.pending -= got
        else:
            got = min(share, max(s.current.lots.get(grant.lot, 0) + change.lots.get(grant.lot, 0), 0))
            change.add_lot(grant.lot, -got)
            change.available -= got
        reversals.append(
            {
                "kind": grant.kind,
                "ref": grant.ref,
                "funder": grant.funder,
                "lot": grant.lot,
                "share": share,
                "taken": got,
            }
        )
    for bucket, got in taken_from_bucket.items():
        if got == s.current.pending_lots[bucket]:
            change.remove_pending[bucket] = got
        elif got:
            change.pending_lots[bucket] = -got
    return reversals
