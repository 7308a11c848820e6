"""Points not tied to a purchase: partner-funded bonuses (capped per reason per day) and operator adjustments."""

from __future__ import annotations

from datetime import datetime

from chalicelib.db import keys
from chalicelib.domain.audit import Change as AuditChange
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import Change, take
from chalicelib.errors import (
    BonusLimitReached,
    DuplicateAdjustment,
    DuplicateBonus,
    InsufficientPoints,
)
from chalicelib.machinery import wallets
from chalicelib.machinery.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.machinery.write_session import Found, campaign_reads, earn_lot, open_session, reads_for
from chalicelib.schemas import (
    AdjustmentOut,
    BonusOut,
    CreateAdjustment,
    CreateBonus,
)


def bonus(req: WriteRequest, body: CreateBonus, partner_id: str, now: datetime) -> Reply:
    """Partner-funded points for an action, at most ``bonus_daily_limits[reason]`` per customer per day."""
    natural = NaturalId(*keys.bonus(partner_id, body.bonus_id), duplicate=DuplicateBonus)

    def decide(found: Found) -> Plan:
        plan = Plan(created=True)
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
            balance=wallets.summary(after),
        )
        plan.natural_state = {"customer_id": body.customer_id, "points": body.points}
        return plan

    return execute(req, natural, reads_for(body.customer_id, partner_id), decide, later=campaign_reads(partner_id))


def adjust(req: WriteRequest, body: CreateAdjustment, now: datetime) -> Reply:
    """Operator correction: credits go to a coalition-funded lot, debits take earliest-expiring points first."""
    natural = NaturalId(*keys.adjustment(body.adjustment_id), duplicate=DuplicateAdjustment)

    def decide(found: Found) -> Plan:
        plan = Plan(created=True)
        s = open_session(found, body.customer_id, now, plan, allow_deleted=True)
        if body.points > 0:
            change = Change(available=body.points)
            change.add_lot(earn_lot(now, s.program, wallets.SYSTEM_PARTNER), body.points)
        else:
            if -body.points > s.current.available:
                raise InsufficientPoints(
                    f"The customer has {s.current.available} available points; a debit cannot overdraw them."
                )
            change = take(s.current, -body.points)
        after = s.commit(
            change, "adjustment", wallets.SYSTEM_PARTNER, ref_id=body.adjustment_id, details={"reason": body.reason}
        )
        plan.response = AdjustmentOut(
            adjustment_id=body.adjustment_id,
            customer_id=body.customer_id,
            points=body.points,
            reason=body.reason,
            balance=wallets.summary(after),
        )
        plan.natural_state = {"customer_id": body.customer_id, "points": body.points}
        made = {"adjustment_id": body.adjustment_id, "points": body.points, "reason": body.reason}
        was, made_to = {"available": s.current.available}, {**made, "available": after.available}
        plan.audit.append(AuditChange("adjustment.created", f"customer:{body.customer_id}", None, was, made_to))
        return plan

    return execute(req, natural, reads_for(body.customer_id), decide)
