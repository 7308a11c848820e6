"""Earning, spending and refunding points: each one DynamoDB transaction of wallet change + ledger entry +
natural-id record (+ idempotency record, added by ``idempotency.execute``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import db, ids, program, wallet
from chalicelib.db import keys
from chalicelib.domain import (
    allocate,
    cumulative_share,
    earn_points,
    expiry_period,
    lot_key,
    period_of,
    redemption_cap_points,
    refill,
    spend_12m,
    tier_status,
)
from chalicelib.errors import (
    Conflict,
    DuplicateOrder,
    DuplicateRefund,
    InsufficientPoints,
    NotFound,
    OrderNotFound,
    RedemptionCapExceeded,
    RefundExceedsOrder,
)
from chalicelib.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.program import Program
from chalicelib.schemas import (
    AccrualOut,
    CreateAccrual,
    CreateRedemption,
    CreateRefund,
    QuoteOut,
    QuoteRequest,
    RedemptionOut,
    RefundOut,
)
from chalicelib.wallet import Wallet, WalletChange

Found = dict[tuple[str, str], Any]


def _context_reads(customer_id: str, partner_id: str) -> list[tuple[type[db.models._Item], str, str]]:
    return [
        (db.CustomerItem, *keys.customer(customer_id)),
        (db.PartnerItem, *keys.partner(partner_id)),
        program.READ_KEY,
    ]


def _context(found: Found, customer_id: str, partner_id: str) -> tuple[Wallet, db.PartnerItem, Program]:
    customer = found.get(keys.customer(customer_id))
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    partner = found[keys.partner(partner_id)]
    return Wallet.of(customer), partner, program.from_item(found.get(keys.program()))


def _ints(raw: Any) -> dict[str, int]:
    return wallet._ints(raw)


# --- accruals ----------------------------------------------------------------------------------------------------


def accrue(req: WriteRequest, body: CreateAccrual, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.accrual(partner_id, body.order_id), duplicate=DuplicateOrder)

    def decide(found: Found) -> Plan:
        current, partner, prog = _context(found, body.customer_id, partner_id)
        period = period_of(now, prog.timezone)
        tier = tier_status(spend_12m(current.spend, period), prog.tiers)
        points = earn_points(body.amount_minor, int(partner.earn_rate_bps), prog.point_value_minor, tier.multiplier_bps)
        lot = lot_key(expiry_period(now, prog.timezone, prog.expiry_months), partner_id)
        change = WalletChange(available=points, spend={period: body.amount_minor})
        if points:
            change.add_lot(lot, points)
        accrual_id = ids.encode_ref("acc", body.order_id)
        after = change.applied_to(current)
        response = AccrualOut(
            accrual_id=accrual_id,
            order_id=body.order_id,
            customer_id=body.customer_id,
            amount_minor=body.amount_minor,
            points=points,
            bonus_points=0,
            awards=[],
            status="available",
            available_at=now.isoformat(),
            balance=after.summary(),
        )
        plan = Plan(status=201, response=response, customer_id=body.customer_id)
        plan.natural_state = {
            "customer_id": body.customer_id,
            "amount_minor": body.amount_minor,
            "points": points,
            "lot": lot,
            "period": period,
            "refunded_minor": 0,
            "reversed_points": 0,
        }
        wallet.apply(plan.tx, body.customer_id, change)
        plan.tx.put(
            wallet.new_entry(
                body.customer_id,
                partner_id,
                "accrual",
                now,
                prog,
                change,
                amount_minor=body.amount_minor,
                order_id=body.order_id,
                ref_id=accrual_id,
                details={
                    "channel": body.channel,
                    "tier_multiplier_bps": tier.multiplier_bps,
                    "earn_rate_bps": int(partner.earn_rate_bps),
                },
            )
        )
        return plan

    return execute(req, natural, _context_reads(body.customer_id, partner_id), decide)


# --- redemptions -------------------------------------------------------------------------------------------------


def _max_points(current: Wallet, partner: db.PartnerItem, prog: Program, order_amount_minor: int) -> int:
    cap = redemption_cap_points(order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
    return max(0, min(cap, current.available))


def quote(body: QuoteRequest, partner_id: str) -> QuoteOut:
    found = db.get_many(_context_reads(body.customer_id, partner_id))
    current, partner, prog = _context(found, body.customer_id, partner_id)
    max_points = _max_points(current, partner, prog, body.order_amount_minor)
    return QuoteOut(
        available=current.available, max_points=max_points, max_discount_minor=max_points * prog.point_value_minor
    )


def redeem(req: WriteRequest, body: CreateRedemption, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.redemption(partner_id, body.order_id), duplicate=DuplicateOrder)

    def decide(found: Found) -> Plan:
        current, partner, prog = _context(found, body.customer_id, partner_id)
        cap = redemption_cap_points(body.order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
        if body.points > cap:
            max_points = _max_points(current, partner, prog, body.order_amount_minor)
            raise RedemptionCapExceeded(
                f"At most {max_points} points may pay for this order (cap {cap} points).", max_points=max_points
            )
        if body.points > current.available:
            raise InsufficientPoints(f"The customer has {current.available} available points, {body.points} asked.")
        taken = allocate(current.lots, body.points)
        change = WalletChange(available=-body.points)
        for key, points in taken:
            change.add_lot(key, -points)
        redemption_id = ids.encode_ref("red", body.order_id)
        discount = body.points * prog.point_value_minor
        response = RedemptionOut(
            redemption_id=redemption_id,
            order_id=body.order_id,
            customer_id=body.customer_id,
            points=body.points,
            discount_minor=discount,
            status="captured",
            expires_at=None,
            balance=change.applied_to(current).summary(),
        )
        plan = Plan(status=201, response=response, customer_id=body.customer_id)
        plan.natural_state = {
            "customer_id": body.customer_id,
            "order_amount_minor": body.order_amount_minor,
            "points": body.points,
            "lots": dict(taken),
            "returned": {},
            "refunded_minor": 0,
            "status": "captured",
        }
        wallet.apply(plan.tx, body.customer_id, change)
        plan.tx.put(
            wallet.new_entry(
                body.customer_id,
                partner_id,
                "redemption",
                now,
                prog,
                change,
                amount_minor=body.order_amount_minor,
                order_id=body.order_id,
                ref_id=redemption_id,
                details={"discount_minor": discount},
            )
        )
        return plan

    return execute(req, natural, _context_reads(body.customer_id, partner_id), decide)


# --- refunds -----------------------------------------------------------------------------------------------------


def refund(req: WriteRequest, body: CreateRefund, partner_id: str, now: datetime) -> Reply:
    """Pro-rata reversal of the order's accrual and return of its redeemed points, cumulative over partial refunds.

    The order's amount is the larger of the accrual's ``amount_minor`` and the redemption's ``order_amount_minor``.
    Reversed points come out of the lot the accrual created; what the customer already spent is the shortfall.
    """
    natural = NaturalId(*keys.refund(partner_id, body.refund_id), duplicate=DuplicateRefund)
    accrual_key = keys.accrual(partner_id, body.order_id)
    redemption_key = keys.redemption(partner_id, body.order_id)

    def decide(found: Found) -> Plan:
        accrual, redemption = found.get(accrual_key), found.get(redemption_key)
        if accrual is None and redemption is None:
            raise OrderNotFound(f"No accrual or redemption for order {body.order_id}.")
        acc: dict[str, Any] = accrual.state.as_dict() if accrual else {}
        red: dict[str, Any] = redemption.state.as_dict() if redemption else {}
        customer_ids = {s["customer_id"] for s in (acc, red) if s}
        if len(customer_ids) != 1:
            raise Conflict("The order's accrual and redemption belong to different customers.")
        customer_id = customer_ids.pop()
        order_total = max(int(acc.get("amount_minor", 0)), int(red.get("order_amount_minor", 0)))
        before = max(int(acc.get("refunded_minor", 0)), int(red.get("refunded_minor", 0)))
        after = before + body.amount_minor
        if after > order_total:
            raise RefundExceedsOrder(
                f"Order {body.order_id} is {order_total}; {before} already refunded, so at most "
                f"{order_total - before} may be refunded now.",
                refundable_minor=order_total - before,
            )
        more = db.get_many([(db.CustomerItem, *keys.customer(customer_id)), program.READ_KEY])
        customer = more.get(keys.customer(customer_id))
        if customer is None:
            raise NotFound(f"No customer {customer_id}.")
        current, prog = Wallet.of(customer), program.from_item(more.get(keys.program()))

        change = WalletChange()
        returned_lots: list[tuple[str, int]] = []
        points_returned = 0
        if red:
            points_returned = cumulative_share(int(red["points"]), before, after, order_total)
            consumed = sorted(_ints(red["lots"]).items())
            returned_lots = refill(consumed, _ints(red.get("returned")), points_returned)
            for key, points in returned_lots:
                change.add_lot(key, points)
            change.available += points_returned
        points_reversed = taken = 0
        if acc:
            points_reversed = cumulative_share(int(acc["points"]), before, after, order_total)
            lot = str(acc["lot"])
            in_lot = current.lots.get(lot, 0) + change.lots.get(lot, 0)
            taken = min(points_reversed, max(in_lot, 0))
            if taken:
                change.add_lot(lot, -taken)
            change.available -= taken
            spend_back = cumulative_share(int(acc["amount_minor"]), before, after, order_total)
            if spend_back:
                change.spend[period_of(now, prog.timezone)] = -spend_back
        shortfall = points_reversed - taken
        response = RefundOut(
            refund_id=body.refund_id,
            order_id=body.order_id,
            customer_id=customer_id,
            amount_minor=body.amount_minor,
            points_reversed=points_reversed,
            points_shortfall=shortfall,
            shortfall_minor=shortfall * prog.point_value_minor,
            points_returned=points_returned,
            balance=change.applied_to(current).summary(),
        )
        plan = Plan(status=201, response=response, customer_id=customer_id)
        plan.natural_state = {"order_id": body.order_id, "amount_minor": body.amount_minor}
        S = db.ReplayItem.state
        if accrual is not None:
            plan.tx.update(
                accrual,
                [S["refunded_minor"].set(after), S["reversed_points"].set(S["reversed_points"] + points_reversed)],
                condition=S["refunded_minor"] == int(acc["refunded_minor"]),
                tag="order",
            )
        if redemption is not None:
            actions = [S["refunded_minor"].set(after)]
            returned_total = _ints(red.get("returned"))
            for key, points in returned_lots:
                returned_total[key] = returned_total.get(key, 0) + points
            actions.append(S["returned"].set(returned_total))
            plan.tx.update(
                redemption, actions, condition=S["refunded_minor"] == int(red["refunded_minor"]), tag="order"
            )
        wallet.apply(plan.tx, customer_id, change)
        plan.tx.put(
            wallet.new_entry(
                customer_id,
                partner_id,
                "refund",
                now,
                prog,
                change,
                amount_minor=body.amount_minor,
                order_id=body.order_id,
                ref_id=body.refund_id,
                details={
                    "points_reversed": points_reversed,
                    "points_taken": taken,
                    "points_shortfall": shortfall,
                    "points_returned": points_returned,
                    "returned_lots": dict(returned_lots),
                    "reversed_lot": str(acc["lot"]) if acc and taken else "",
                },
            )
        )
        return plan

    reads = [(db.ReplayItem, *accrual_key), (db.ReplayItem, *redemption_key)]
    return execute(req, natural, reads, decide)
