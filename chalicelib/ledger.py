"""Earning, spending, holding, refunding, bonuses and adjustments.

Each is one DynamoDB transaction: what time has done to the wallet (settled first), the wallet change, its ledger
entry, the natural-id record, and the idempotency record that ``idempotency.execute`` adds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import db, ids, program, wallet
from chalicelib.awards import award_campaigns
from chalicelib.db import keys
from chalicelib.domain import (
    cumulative_share,
    earn_points,
    period_of,
    redemption_cap_points,
    refill,
    spend_12m,
    tier_status,
)
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import Change, Hold, Wallet, hold_id, pending_key, settled, take
from chalicelib.errors import (
    BonusLimitReached,
    Conflict,
    DuplicateAdjustment,
    DuplicateBonus,
    DuplicateOrder,
    DuplicateRefund,
    HoldAlreadyResolved,
    HoldExpired,
    InsufficientPoints,
    NotFound,
    OrderNotFound,
    RedemptionCapExceeded,
    RefundExceedsOrder,
    ValidationFailed,
)
from chalicelib.idempotency import NaturalId, Plan, ReadKey, Reply, WriteRequest, execute
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
from chalicelib.session import Found, earn_lot, load_partner, open_session, reads_for

DEFAULT_HOLD_MINUTES = 15
S = db.ReplayItem.state


# --- accruals ----------------------------------------------------------------------------------------------------


def accrue(req: WriteRequest, body: CreateAccrual, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.accrual(partner_id, body.order_id), duplicate=DuplicateOrder)

    def decide(found: Found) -> Plan:
        plan = Plan(status=201)
        s = open_session(found, body.customer_id, now, plan)
        partner, prog = load_partner(partner_id), s.program
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
                details={"campaign_id": award.campaign_id, "sponsor_partner_id": award.sponsor},
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
        plan.natural_state = {
            "customer_id": body.customer_id,
            "amount_minor": body.amount_minor,
            "points": points,
            "lot": lot,
            "pending_bucket": bucket,
            "refunded_minor": 0,
            "reversed_points": 0,
            "awards": [a.state() for a in awards],
        }
        return plan

    return execute(req, natural, reads_for(body.customer_id, partner_id), decide)


# --- redemptions -------------------------------------------------------------------------------------------------


def _max_points(available: int, partner: db.PartnerItem, prog: Program, order_amount_minor: int) -> int:
    cap = redemption_cap_points(order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
    return max(0, min(cap, available))


def quote(body: QuoteRequest, partner_id: str, now: datetime) -> QuoteOut:
    found = db.get_many(reads_for(body.customer_id, partner_id))
    customer = found.get(keys.customer(body.customer_id))
    if customer is None:
        raise NotFound(f"No customer {body.customer_id}.")
    prog = program.load()
    current, _, _ = settled(wallet.of_item(customer), now, prog.timezone)
    max_points = _max_points(current.available, load_partner(partner_id), prog, body.order_amount_minor)
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
        plan = Plan(status=201)
        s = open_session(found, body.customer_id, now, plan)
        partner, prog = load_partner(partner_id), s.program
        cap = redemption_cap_points(body.order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
        if body.points > cap:
            max_points = _max_points(s.current.available, partner, prog, body.order_amount_minor)
            raise RedemptionCapExceeded(
                f"At most {max_points} points may pay for this order (cap {cap} points).", max_points=max_points
            )
        if body.points > s.current.available:
            raise InsufficientPoints(f"The customer has {s.current.available} available points, {body.points} asked.")
        change = take(s.current, body.points)
        consumed = {k: -d for k, d in change.lots.items()}
        redemption_id = redemption_ref(body.customer_id, body.order_id)
        expires_at: str | None = None
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
            details={"discount_minor": body.points * prog.point_value_minor, "expires_at": expires_at or ""},
        )
        plan.response = _redemption_out(body.order_id, body.customer_id, body.points, status, expires_at, prog, after)
        plan.natural_state = {
            "customer_id": body.customer_id,
            "order_amount_minor": body.order_amount_minor,
            "points": body.points,
            "lots": consumed,
            "returned": {},
            "refunded_minor": 0,
            "status": status,
            "expires_at": expires_at or "",
        }
        return plan

    return execute(req, natural, reads_for(body.customer_id, partner_id), decide)


def _resolve_hold(
    req: WriteRequest, redemption_id: str, partner_id: str, now: datetime, capture_points: int | None, capture: bool
) -> Reply:
    """Capture (all or part) or void a held redemption; exactly once, and never after it expired."""
    ref = ids.decode_ref("red", redemption_id) or ""
    customer_id, _, order_id = ref.partition(REF_SEPARATOR)
    if not customer_id or not order_id:
        raise NotFound(f"No redemption {redemption_id}.")
    record_key = keys.redemption(partner_id, order_id)

    def decide(found: Found) -> Plan:
        record = found.get(record_key)
        if record is None:
            raise NotFound(f"No redemption {redemption_id}.")
        state = wallet.as_dict(record.state)
        if state["status"] == "expired":
            raise HoldExpired(f"The hold expired at {state.get('expires_at')}; its points are back.")
        if state["status"] != "held":
            raise HoldAlreadyResolved(f"Redemption {redemption_id} is already {state['status']}.")
        if state["customer_id"] != customer_id:
            raise NotFound(f"No redemption {redemption_id}.")
        plan = Plan(status=200)
        s = open_session(found, customer_id, now, plan)
        hid = hold_id(partner_id, order_id)
        hold = s.current.holds.get(hid)
        if hold is None:  # time released it, now or at an earlier write
            s.commit(Change(), "", partner_id)
            plan.tx.update(record, [S["status"].set("expired")], condition=S["status"] == "held", tag="order")
            plan.error = HoldExpired(f"The hold expired at {state.get('expires_at')}; its points are back.")
            return plan
        keep = hold.points if capture_points is None else capture_points
        if not capture:
            keep = 0
        elif keep > hold.points:
            raise ValidationFailed(
                [
                    {
                        "loc": ["body", "points"],
                        "msg": f"at most {hold.points} points are held",
                        "type": "less_than_equal",
                    }
                ]
            )
        released = hold.points - keep
        # Released points go back to the latest-expiring lots, so the capture keeps the earliest ones.
        returned = refill(sorted(hold.lots.items(), reverse=True), {}, released)
        change = Change(held=-hold.points, available=released, remove_holds={hid})
        kept = dict(hold.lots)
        for key, points in returned:
            change.add_lot(key, points)
            kept[key] -= points
        status = "captured" if capture else "voided"
        after = s.commit(
            change,
            "capture" if capture else "void",
            partner_id,
            amount_minor=int(state["order_amount_minor"]),
            order_id=order_id,
            ref_id=redemption_id,
            details={
                "captured": keep,
                "released": released,
                "captured_lots": {k: v for k, v in kept.items() if v} if capture else {},
            },
        )
        plan.tx.update(
            record,
            [S["status"].set(status), S["points"].set(keep), S["lots"].set({k: v for k, v in kept.items() if v})],
            condition=S["status"] == "held",
            tag="order",
        )
        plan.response = _redemption_out(
            order_id, customer_id, keep if capture else hold.points, status, None, s.program, after
        )
        return plan

    # The id carries the customer, so the hold's record and the customer's wallet come in one batch read.
    return execute(req, None, [(db.ReplayItem, *record_key), *reads_for(customer_id)], decide)


def capture(req: WriteRequest, redemption_id: str, body: CaptureRedemption, partner_id: str, now: datetime) -> Reply:
    return _resolve_hold(req, redemption_id, partner_id, now, body.points, capture=True)


def void(req: WriteRequest, redemption_id: str, partner_id: str, now: datetime) -> Reply:
    return _resolve_hold(req, redemption_id, partner_id, now, None, capture=False)


# --- refunds -----------------------------------------------------------------------------------------------------


def refund(req: WriteRequest, body: CreateRefund, partner_id: str, now: datetime) -> Reply:
    """Pro-rata reversal of the order's accrual and return of its redeemed points, cumulative over partial refunds.

    The order's amount is the larger of the accrual's ``amount_minor`` and the redemption's ``order_amount_minor``.
    Reversed points come out of the accrual's pending bucket while it is pending, else out of the lot it created;
    what the customer already spent is the shortfall. Only captured redemptions return points.
    """
    natural = NaturalId(*keys.refund(partner_id, body.refund_id), duplicate=DuplicateRefund)
    accrual_key = keys.accrual(partner_id, body.order_id)
    redemption_key = keys.redemption(partner_id, body.order_id)

    def decide(found: Found) -> Plan:
        accrual, redemption = found.get(accrual_key), found.get(redemption_key)
        if accrual is None and redemption is None:
            raise OrderNotFound(f"No accrual or redemption for order {body.order_id}.")
        acc = wallet.as_dict(accrual.state) if accrual else {}
        red = wallet.as_dict(redemption.state) if redemption else {}
        customer_ids = {s["customer_id"] for s in (acc, red) if s}
        if len(customer_ids) != 1:
            raise Conflict("The order's accrual and redemption belong to different customers.")
        customer_id = str(customer_ids.pop())
        order_total = max(int(acc.get("amount_minor", 0)), int(red.get("order_amount_minor", 0)))
        before = max(int(acc.get("refunded_minor", 0)), int(red.get("refunded_minor", 0)))
        after = before + body.amount_minor
        if after > order_total:
            raise RefundExceedsOrder(
                f"Order {body.order_id} is {order_total}; {before} already refunded, so at most "
                f"{order_total - before} may be refunded now.",
                refundable_minor=order_total - before,
            )
        plan = Plan(status=201)
        s = open_session(db.get_many(reads_for(customer_id)), customer_id, now, plan)
        prog = s.program
        change = Change()
        returned_lots: list[tuple[str, int]] = []
        points_returned = 0
        if red and red.get("status") == "captured":
            points_returned = cumulative_share(int(red["points"]), before, after, order_total)
            consumed = sorted(wallet.ints(red["lots"]).items())
            returned_lots = refill(consumed, wallet.ints(red.get("returned")), points_returned)
            for key, points in returned_lots:
                change.add_lot(key, points)
            change.available += points_returned
        # What the order earned, each part reversed pro rata from where it landed: the base accrual (issuer: this
        # partner) and every campaign award (issuer: its sponsor).
        grants: list[tuple[str, str, int, str, str]] = []  # (kind, issuer or campaign, points, lot, bucket)
        if acc:
            grants.append(("base", partner_id, int(acc["points"]), str(acc["lot"]), str(acc.get("pending_bucket", ""))))
            for award in acc.get("awards") or []:
                grants.append(
                    (
                        "award",
                        str(award["campaign_id"]),
                        int(award["points"]),
                        str(award["lot"]),
                        str(award.get("bucket", "")),
                    )
                )
            spend_back = cumulative_share(int(acc["amount_minor"]), before, after, order_total)
            if spend_back:
                change.spend[period_of(now, prog.timezone)] = -spend_back
        taken_from_bucket: dict[str, int] = {}
        reversals: list[dict[str, Any]] = []
        for kind, who, granted, lot, bucket in grants:
            share = cumulative_share(granted, before, after, order_total)
            left_in_bucket = s.current.pending_lots.get(bucket, 0) - taken_from_bucket.get(bucket, 0) if bucket else 0
            if left_in_bucket > 0:
                got = min(share, left_in_bucket)
                taken_from_bucket[bucket] = taken_from_bucket.get(bucket, 0) + got
                change.pending -= got
            else:
                got = min(share, max(s.current.lots.get(lot, 0) + change.lots.get(lot, 0), 0))
                change.add_lot(lot, -got)
                change.available -= got
            reversals.append({"kind": kind, "ref": who, "lot": lot, "share": share, "taken": got})
        for bucket, got in taken_from_bucket.items():
            if got == s.current.pending_lots[bucket]:
                change.remove_pending[bucket] = got
            elif got:
                change.pending_lots[bucket] = -got
        points_reversed = sum(r["share"] for r in reversals)
        taken = sum(r["taken"] for r in reversals)
        for r in reversals:
            if r["kind"] == "award" and r["taken"]:
                plan.tx.update(
                    db.CampaignItem(*keys.campaign(r["ref"])), [db.CampaignItem.points_reversed.add(r["taken"])]
                )
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
                "points_returned": points_returned,
                "returned_lots": dict(returned_lots),
                "reversals": reversals,
            },
        )
        plan.response = RefundOut(
            refund_id=body.refund_id,
            order_id=body.order_id,
            customer_id=customer_id,
            amount_minor=body.amount_minor,
            points_reversed=points_reversed,
            points_shortfall=shortfall,
            shortfall_minor=shortfall * prog.point_value_minor,
            points_returned=points_returned,
            awards_reversed=[
                AwardReversed(campaign_id=r["ref"], points=r["share"]) for r in reversals if r["kind"] == "award"
            ],
            balance=wallet.summary(after_wallet),
        )
        plan.natural_state = {"order_id": body.order_id, "amount_minor": body.amount_minor}
        if accrual is not None:
            plan.tx.update(
                accrual,
                [S["refunded_minor"].set(after), S["reversed_points"].set(S["reversed_points"] + points_reversed)],
                condition=S["refunded_minor"] == int(acc["refunded_minor"]),
                tag="order",
            )
        if redemption is not None:
            returned_total = wallet.ints(red.get("returned"))
            for key, points in returned_lots:
                returned_total[key] = returned_total.get(key, 0) + points
            plan.tx.update(
                redemption,
                [S["refunded_minor"].set(after), S["returned"].set(returned_total)],
                condition=S["refunded_minor"] == int(red["refunded_minor"]),
                tag="order",
            )
        return plan

    reads: list[ReadKey] = [(db.ReplayItem, *accrual_key), (db.ReplayItem, *redemption_key)]
    return execute(req, natural, reads, decide)


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
