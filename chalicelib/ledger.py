"""Earning, spending, holding, refunding, bonuses and adjustments.

Each is one DynamoDB transaction: what time has done to the wallet (settled first), the wallet change, its ledger
entry, the natural-id record, and the idempotency record that ``idempotency.execute`` adds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import db, ids, program, wallet
from chalicelib.awards import award_campaigns
from chalicelib.db import keys
from chalicelib.db import orders as orders_db
from chalicelib.domain import (
    earn_points,
    period_of,
    redemption_cap_points,
    refill,
    spend_12m,
    tier_status,
)
from chalicelib.domain.orders import (
    Grant,
    Order,
    RefundShares,
    RefundTooLarge,
    Spent,
    SpentStatus,
    hold_is_over,
    refund_shares,
    without_hold,
)
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import Change, Hold, Wallet, hold_id, pending_key, settled, take
from chalicelib.errors import (
    BonusLimitReached,
    DuplicateAdjustment,
    DuplicateBonus,
    DuplicateOrder,
    DuplicateRefund,
    HoldAlreadyResolved,
    HoldExpired,
    InsufficientPoints,
    NotFound,
    OrderConflict,
    OrderNotFound,
    RedemptionCapExceeded,
    RefundExceedsOrder,
    ValidationFailed,
)
from chalicelib.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.program import Program
from chalicelib.schemas import (
    AccrualOut,
    AdjustmentOut,
    Award,
    AwardReversed,
    BonusOut,
    CaptureRedemption,
    CreateAccrual,
    CreateAdjustment,
    CreateBonus,
    CreateRedemption,
    CreateRefund,
    QuoteOut,
    QuoteRequest,
    RedemptionOut,
    RefundOut,
)
from chalicelib.session import Found, Session, earn_lot, load_partner, open_session, reads_for

DEFAULT_HOLD_MINUTES = 15
S = db.ReplayItem.state


# --- accruals ----------------------------------------------------------------------------------------------------


def accrue(req: WriteRequest, body: CreateAccrual, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.accrual(partner_id, body.order_id), duplicate=DuplicateOrder)

    def decide(found: Found) -> Plan:
        previous = _order_for(found, partner_id, body.order_id, body.customer_id, body.amount_minor)
        plan = Plan(status=201)
        s = open_session(found, body.customer_id, now, plan)
        partner, prog = load_partner(partner_id, now), s.program
        period = period_of(now, prog.timezone)
        tier = tier_status(spend_12m(s.current.spend, period), prog.tiers)
        points = earn_points(body.amount_minor, int(partner.earn_rate_bps), prog.point_value_minor, tier.multiplier_bps)
        lot = earn_lot(now, prog, partner_id)
        pending_until = now + timedelta(days=int(partner.pending_days)) if int(partner.pending_days) > 0 else None
        bucket = pending_key(pending_until.isoformat(), lot) if pending_until else ""
        if bucket:
            earned = Change(pending=points, pending_lots={bucket: points} if points else {})
        else:
            earned = Change(available=points, lots={lot: points} if points else {})
        base = previous or _new_order(body.customer_id, body.amount_minor, prog)
        awards = award_campaigns(plan, s, partner, body, points, tier.name, pending_until, found)
        change = earned.merge(Change(spend={period: body.amount_minor}, last_purchase={partner_id: now.isoformat()}))
        for award in awards:
            change = change.merge(award.change)
            wallet.post(
                plan.tx,
                body.customer_id,
                partner_id,
                "campaign_award",
                now,
                prog,
                award.points_change,
                amount_minor=body.amount_minor,
                order_id=body.order_id,
                ref_id=award.campaign_id,
                details={"campaign_id": award.campaign_id, "sponsor_partner_id": award.sponsor, **dict(base.values)},
            )
        accrual_id = ids.encode_ref("acc", body.order_id)
        after = s.commit_with_entry(
            change,
            earned,
            "accrual",
            partner_id,
            amount_minor=body.amount_minor,
            order_id=body.order_id,
            ref_id=accrual_id,
            details={
                "channel": body.channel,
                "tier_multiplier_bps": tier.multiplier_bps,
                "earn_rate_bps": int(partner.earn_rate_bps),
                "pending_bucket": bucket,
                **dict(base.values),
            },
        )
        plan.response = AccrualOut(
            accrual_id=accrual_id,
            order_id=body.order_id,
            customer_id=body.customer_id,
            amount_minor=body.amount_minor,
            points=points,
            bonus_points=sum(a.points for a in awards),
            awards=[Award(campaign_id=a.campaign_id, points=a.points) for a in awards],
            status="pending" if bucket else "available",
            available_at=(pending_until or now).isoformat(),
            balance=wallet.summary(after),
        )
        grants = [Grant("base", partner_id, partner_id, points, lot, bucket)]
        grants += [Grant("award", a.campaign_id, a.sponsor, a.points, a.lot, a.bucket) for a in awards]
        order = replace(previous or base, grants=tuple(grants), accrued=True)
        orders_db.save(plan.tx, partner_id, body.order_id, order, previous, now.isoformat())
        return plan

    reads = [*reads_for(body.customer_id, partner_id), orders_db.read_key(partner_id, body.order_id)]
    return execute(req, natural, reads, decide)


def _new_order(customer_id: str, amount_minor: int, prog: Program) -> Order:
    values = (("operator_fee_bps", prog.operator_fee_bps), ("point_value_minor", prog.point_value_minor))
    return Order(customer_id, amount_minor, values=values)


def _order_for(found: Found, partner_id: str, order_id: str, customer_id: str, amount_minor: int) -> Order | None:
    """The order this operation joins, if another operation made it: same customer, same amount, no refunds yet."""
    order = orders_db.load(found, partner_id, order_id)
    if order is not None:
        reason = order.conflict(customer_id, amount_minor)
        if reason is not None:
            raise OrderConflict(f"Order {order_id}: {reason}")
    return order


# --- redemptions -------------------------------------------------------------------------------------------------


def _max_points(available: int, partner: db.PartnerItem, prog: Program, order_amount_minor: int) -> int:
    cap = redemption_cap_points(order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
    return max(0, min(cap, available))


def quote(body: QuoteRequest, partner_id: str, now: datetime) -> QuoteOut:
    found = db.get_many(reads_for(body.customer_id, partner_id))
    customer = found.get(keys.customer(body.customer_id))
    if customer is None:
        raise NotFound(f"No customer {body.customer_id}.")
    prog = program.load(now)
    current, _, _ = settled(wallet.of_item(customer), now, prog.timezone)
    max_points = _max_points(current.available, load_partner(partner_id, now), prog, body.order_amount_minor)
    return QuoteOut(
        available=current.available, max_points=max_points, max_discount_minor=max_points * prog.point_value_minor
    )


REF_SEPARATOR = "|"  # cannot occur in an order id


def redemption_ref(customer_id: str, order_id: str) -> str:
    """The public redemption id: the customer and the partner's order id, so capture and void need one read."""
    return ids.encode_ref("red", f"{customer_id}{REF_SEPARATOR}{order_id}")


def _redemption_out(
    order_id: str, customer_id: str, points: int, status: Any, expires_at: str | None, prog: Program, after: Wallet
) -> RedemptionOut:
    return RedemptionOut(
        redemption_id=redemption_ref(customer_id, order_id),
        order_id=order_id,
        customer_id=customer_id,
        points=points,
        discount_minor=points * prog.point_value_minor,
        status=status,
        expires_at=expires_at,
        balance=wallet.summary(after),
    )


def redeem(req: WriteRequest, body: CreateRedemption, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.redemption(partner_id, body.order_id), duplicate=DuplicateOrder)

    def decide(found: Found) -> Plan:
        previous = _order_for(found, partner_id, body.order_id, body.customer_id, body.order_amount_minor)
        plan = Plan(status=201)
        s = open_session(found, body.customer_id, now, plan)
        partner, prog = load_partner(partner_id, now), s.program
        cap = redemption_cap_points(body.order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
        if body.points > cap:
            max_points = _max_points(s.current.available, partner, prog, body.order_amount_minor)
            raise RedemptionCapExceeded(
                f"At most {max_points} points may pay for this order (cap {cap} points).", max_points=max_points
            )
        if body.points > s.current.available:
            raise InsufficientPoints(f"The customer has {s.current.available} available points, {body.points} asked.")
        base = previous or _new_order(body.customer_id, body.order_amount_minor, prog)
        change = take(s.current, body.points)
        consumed = {k: -d for k, d in change.lots.items()}
        redemption_id = redemption_ref(body.customer_id, body.order_id)
        expires_at: str | None = None
        status: SpentStatus
        if body.capture:
            status, entry_type = "captured", "redemption"
        else:
            status, entry_type = "held", "hold"
            expires_at = (now + timedelta(minutes=body.hold_minutes or DEFAULT_HOLD_MINUTES)).isoformat()
            change.held = body.points
            hid = hold_id(partner_id, body.order_id)
            change.add_holds[hid] = Hold(body.points, expires_at, consumed, partner_id, body.order_id)
        after = s.commit(
            change,
            entry_type,
            partner_id,
            amount_minor=body.order_amount_minor,
            order_id=body.order_id,
            ref_id=redemption_id,
            details={
                "discount_minor": body.points * prog.point_value_minor,
                "expires_at": expires_at or "",
                **dict(base.values),
            },
        )
        plan.response = _redemption_out(body.order_id, body.customer_id, body.points, status, expires_at, prog, after)
        spent = Spent(status, body.points, consumed, expires_at=expires_at or "")
        order = replace(previous or base, spent=spent)
        orders_db.save(plan.tx, partner_id, body.order_id, order, previous, now.isoformat())
        return plan

    reads = [*reads_for(body.customer_id, partner_id), orders_db.read_key(partner_id, body.order_id)]
    return execute(req, natural, reads, decide)


def _resolve_hold(
    req: WriteRequest, redemption_id: str, partner_id: str, now: datetime, capture_points: int | None, capture: bool
) -> Reply:
    """Capture (all or part) or void a held redemption; exactly once, and never after its deadline or a refund
    that released it."""
    ref = ids.decode_ref("red", redemption_id) or ""
    customer_id, _, order_id = ref.partition(REF_SEPARATOR)
    if not customer_id or not order_id:
        raise NotFound(f"No redemption {redemption_id}.")

    def decide(found: Found) -> Plan:
        order = orders_db.load(found, partner_id, order_id)
        if order is None or order.spent is None or order.customer_id != customer_id:
            raise NotFound(f"No redemption {redemption_id}.")
        spent = order.spent
        if spent.status == "expired":
            raise HoldExpired(f"The hold expired at {spent.expires_at}; its points are back.")
        if spent.status != "held":
            raise HoldAlreadyResolved(f"Redemption {redemption_id} is already {spent.status}.")
        plan = Plan(status=200)
        s = open_session(found, customer_id, now, plan)
        hid = hold_id(partner_id, order_id)
        hold = s.current.holds.get(hid)
        if hold is None or hold_is_over(spent, now):  # time released it, now or at an earlier write
            s.commit(Change(), "", partner_id)
            expired = replace(order, spent=without_hold(spent, "expired"))
            orders_db.save(plan.tx, partner_id, order_id, expired, order, now.isoformat())
            plan.error = HoldExpired(f"The hold expired at {spent.expires_at}; its points are back.")
            return plan
        keep = hold.points if capture_points is None else capture_points
        if not capture:
            keep = 0
        elif keep > hold.points:
            raise ValidationFailed.at(["body", "points"], f"at most {hold.points} points are held", "less_than_equal")
        released = hold.points - keep
        # Released points go back to the latest-expiring lots, so the capture keeps the earliest ones.
        returned = refill(sorted(hold.lots.items(), reverse=True), {}, released)
        change = Change(held=-hold.points, available=released, remove_holds={hid})
        kept = dict(hold.lots)
        for key, points in returned:
            change.add_lot(key, points)
            kept[key] -= points
        kept = {k: v for k, v in kept.items() if v}
        status: SpentStatus = "captured" if capture else "voided"
        after = s.commit(
            change,
            "capture" if capture else "void",
            partner_id,
            amount_minor=order.amount_minor,
            order_id=order_id,
            ref_id=redemption_id,
            details={
                "captured": keep,
                "released": released,
                "captured_lots": kept if capture else {},
                **dict(order.values),
            },
        )
        if capture:
            resolved = replace(spent, status="captured", points=spent.returned + keep, lots=kept, expires_at="")
        else:
            resolved = without_hold(spent, "voided")
        orders_db.save(plan.tx, partner_id, order_id, replace(order, spent=resolved), order, now.isoformat())
        plan.response = _redemption_out(
            order_id, customer_id, keep if capture else hold.points, status, None, s.program, after
        )
        return plan

    # The id carries the customer, so the order and the customer's wallet come in one batch read.
    return execute(req, None, [orders_db.read_key(partner_id, order_id), *reads_for(customer_id)], decide)


def capture(req: WriteRequest, redemption_id: str, body: CaptureRedemption, partner_id: str, now: datetime) -> Reply:
    return _resolve_hold(req, redemption_id, partner_id, now, body.points, capture=True)


def void(req: WriteRequest, redemption_id: str, partner_id: str, now: datetime) -> Reply:
    return _resolve_hold(req, redemption_id, partner_id, now, None, capture=False)


# --- refunds -----------------------------------------------------------------------------------------------------


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
        s = open_session(db.get_many(reads_for(order.customer_id)), order.customer_id, now, plan)
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


# --- bonuses and adjustments -------------------------------------------------------------------------------------


def bonus(req: WriteRequest, body: CreateBonus, partner_id: str, now: datetime) -> Reply:
    """Partner-funded points for an action, at most ``bonus_daily_limits[reason]`` per customer per day."""
    natural = NaturalId(*keys.bonus(partner_id, body.bonus_id), duplicate=DuplicateBonus)

    def decide(found: Found) -> Plan:
        plan = Plan(status=201)
        s = open_session(found, body.customer_id, now, plan)
        prog = s.program
        day = now.astimezone(zone(prog.timezone)).date().isoformat()
        counter = f"{day}|{body.reason}"
        limit = prog.bonus_daily_limits.get(body.reason, 0)
        if s.current.bonus_days.get(counter, 0) + 1 > limit:
            raise BonusLimitReached(f"A customer may get {limit} '{body.reason}' bonus(es) a day; try tomorrow.")
        change = Change(available=body.points, bonus_days={counter: 1}, bonus_limits={counter: limit})
        change.add_lot(earn_lot(now, prog, partner_id), body.points)
        after = s.commit(change, "bonus", partner_id, ref_id=body.bonus_id, details={"reason": body.reason})
        plan.response = BonusOut(
            bonus_id=body.bonus_id,
            customer_id=body.customer_id,
            reason=body.reason,
            points=body.points,
            balance=wallet.summary(after),
        )
        plan.natural_state = {"customer_id": body.customer_id, "points": body.points}
        return plan

    return execute(req, natural, reads_for(body.customer_id, partner_id), decide)


def adjust(req: WriteRequest, body: CreateAdjustment, now: datetime) -> Reply:
    """Operator correction: credits go to a coalition-funded lot, debits take earliest-expiring points first."""
    natural = NaturalId(*keys.adjustment(body.adjustment_id), duplicate=DuplicateAdjustment)

    def decide(found: Found) -> Plan:
        plan = Plan(status=201)
        s = open_session(found, body.customer_id, now, plan)
        if body.points > 0:
            change = Change(available=body.points)
            change.add_lot(earn_lot(now, s.program, wallet.SYSTEM_PARTNER), body.points)
        else:
            if -body.points > s.current.available:
                raise InsufficientPoints(
                    f"The customer has {s.current.available} available points; a debit cannot overdraw them."
                )
            change = take(s.current, -body.points)
        after = s.commit(
            change, "adjustment", wallet.SYSTEM_PARTNER, ref_id=body.adjustment_id, details={"reason": body.reason}
        )
        plan.response = AdjustmentOut(
            adjustment_id=body.adjustment_id,
            customer_id=body.customer_id,
            points=body.points,
            reason=body.reason,
            balance=wallet.summary(after),
        )
        plan.natural_state = {"customer_id": body.customer_id, "points": body.points}
        return plan

    return execute(req, natural, reads_for(body.customer_id), decide)
