"""Earning at a till: the accrual, its campaign awards, and the order it starts or joins, in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import ids
from chalicelib.db import keys
from chalicelib.db import orders as orders_db
from chalicelib.domain import earn_points
from chalicelib.domain.orders import (
    Grant,
)
from chalicelib.domain.periods import iso_instant
from chalicelib.domain.wallet import earn, pending_key
from chalicelib.errors import (
    DuplicateOrder,
)
from chalicelib.machinery import wallets
from chalicelib.machinery.awards import award_campaigns
from chalicelib.machinery.built import built
from chalicelib.machinery.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.machinery.orders import new_order, order_for
from chalicelib.machinery.write_session import Found, campaign_reads, earn_lot, load_partner, open_session, reads_for
from chalicelib.schemas import (
    AccrualOut,
    Award,
    CreateAccrual,
)


def accrue(req: WriteRequest, body: CreateAccrual, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.accrual(partner_id, body.order_id), duplicate=DuplicateOrder)

    def decide(found: Found) -> Plan:
        previous = order_for(found, partner_id, body.order_id, body.customer_id, body.amount_minor)
        plan = Plan(created=True)
        s = open_session(found, body.customer_id, now, plan)
        partner, prog = load_partner(partner_id, now), s.program
        period, tier = s.period, s.tier
        base = previous or new_order(body.customer_id, body.amount_minor, prog)
        values = dict(base.values)  # the order's money settings, recorded on each of its entries
        # A receipt paid partly in points: the till names the receipt total, and only the part paid in money earns
        # (base points and campaign rewards alike). The tier's spend and refunds stay on the receipt total.
        money_minor = base.paid_in_money_minor(now)
        earn_rate_bps, pending_days = int(partner.earn_rate_bps), int(partner.pending_days)
        points = earn_points(money_minor, earn_rate_bps, prog.point_value_minor, tier.multiplier_bps)
        now_iso = iso_instant(now)
        pending_until = now + timedelta(days=pending_days) if pending_days > 0 else None
        lot = earn_lot(pending_until or now, prog, partner_id)  # points live from when they can be spent
        available_at = pending_until.isoformat() if pending_until else now_iso
        bucket = pending_key(available_at, lot) if pending_until else ""
        earned = earn(points, lot, bucket)
        paid = body if money_minor == body.amount_minor else body.model_copy(update={"amount_minor": money_minor})
        awards = award_campaigns(plan, s, partner, paid, points, tier.name, pending_until, found)
        change = earn(points, lot, bucket)  # what was earned, plus the purchase's spend (tiers) and the visit here
        change.spend[period] = body.amount_minor
        change.last_purchase[partner_id] = now_iso
        for award in awards:
            change = change.merge(award.change)
            wallets.post(
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
                details={"campaign_id": award.campaign_id, "sponsor_partner_id": award.sponsor, **values},
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
                "earn_rate_bps": earn_rate_bps,
                "pending_bucket": bucket,
                "paid_in_points_minor": body.amount_minor - money_minor,
                **values,
            },
        )
        # Built without validation: every value is already of its field's type (the validated body's, ints the
        # rules computed, a status of the two); tests/test_hot_path_copies.py holds its JSON to the validated one's.
        plan.response = built(
            AccrualOut,
            accrual_id=accrual_id,
            order_id=body.order_id,
            customer_id=body.customer_id,
            amount_minor=body.amount_minor,
            points=points,
            bonus_points=sum(a.points for a in awards),
            awards=[built(Award, campaign_id=a.campaign_id, points=a.points) for a in awards],
            status="pending" if bucket else "available",
            available_at=available_at,
            balance=wallets.summary(after),
        )
        grants = [Grant.of("base", partner_id, partner_id, points, lot, bucket)]
        grants += [Grant.of("award", a.campaign_id, a.sponsor, a.points, a.lot, a.bucket) for a in awards]
        orders_db.save(plan.tx, partner_id, body.order_id, base.accrued_with(tuple(grants)), previous, now_iso)
        return plan

    reads = [*reads_for(body.customer_id, partner_id), orders_db.read_key(partner_id, body.order_id)]
    return execute(req, natural, reads, decide, later=campaign_reads(partner_id))
