"""Campaign awards on a purchase: which active campaigns award, guarded budgets and limits, in the accrual's
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib import campaigns, db, wallet
from chalicelib.db import keys
from chalicelib.domain.campaigns import Rules, Shopper, qualifies, reward_points
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import Change, pending_key
from chalicelib.idempotency import Plan
from chalicelib.schemas import CreateAccrual
from chalicelib.session import Found, Session, earn_lot

MAX_AWARDS_PER_PURCHASE = 10  # campaigns stacking on one purchase (in campaign-id order)

__all__ = ["MAX_AWARDS_PER_PURCHASE", "Award", "award_campaigns"]


def _take_off_partners(plan: Plan, retired: list[Rules]) -> None:
    """One update per partner item (a transaction may touch an item once) removing the retired campaigns."""
    PI = db.PartnerItem
    by_partner: dict[str, list[str]] = {}
    for rules in retired:
        for earn_at in rules.earn_at:
            by_partner.setdefault(earn_at, []).append(rules.campaign_id)
    for partner_id, campaign_ids in sorted(by_partner.items()):
        removals = [PI.active_campaigns[c].remove() for c in sorted(set(campaign_ids))]
        plan.tx.update(PI(*keys.partner(partner_id)), removals, condition=PI.pk.exists())


@dataclass
class Award:
    campaign_id: str
    sponsor: str
    points: int
    lot: str
    bucket: str
    points_change: Change  # what the award's ledger entry records
    change: Change  # the same plus the customer's per-campaign award counter

    def state(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "sponsor": self.sponsor,
            "points": self.points,
            "lot": self.lot,
            "bucket": self.bucket,
        }


def award_campaigns(
    plan: Plan,
    s: Session,
    partner: db.PartnerItem,
    body: CreateAccrual,
    base_points: int,
    tier: str,
    pending_until: datetime | None,
    prefetched: Found,
) -> list[Award]:
    """Evaluate the active campaigns earning at this partner and add their awards to the accrual's transaction.

    Budgets are read fresh (strongly consistent) and guarded in the write (``budget_used <= budget - points``): if a
    concurrent award used the budget first, the whole accrual is decided again. The award that uses the budget up
    also moves the campaign to ``exhausted`` and takes it off its earn_at partners."""
    rules = campaigns.active_rules(partner)
    if not rules:
        return []
    shopper = Shopper(s.current.last_purchase, tier, s.current.campaign_awards)
    tier_names = [t.name for t in sorted(s.program.tiers, key=lambda t: t.min_spend_12m_minor)]
    eligible = [r for r in rules if qualifies(r, partner.partner_id, body.amount_minor, shopper, tier_names, s.now)]
    # Each award is about four transaction items; with the settlement's at most 21 entries and the accrual's own,
    # this keeps one purchase's transaction far inside DynamoDB's 100 items.
    eligible = eligible[:MAX_AWARDS_PER_PURCHASE]
    if not eligible:
        return []
    wanted = [keys.campaign(r.campaign_id) for r in eligible]
    found = {k: v for k, v in prefetched.items() if k in wanted}
    missing = [(db.CampaignItem, *k) for k in wanted if k not in found]
    if missing:  # rules newer than this instance's cached partner: read those budgets now
        found |= db.get_many(missing)
    day = s.now.astimezone(zone(s.program.timezone)).date().isoformat()
    new_here = partner.partner_id not in s.current.last_purchase
    CI, DI = db.CampaignItem, db.CampaignDayItem
    awards: list[Award] = []
    retired: list[Rules] = []
    for r in eligible:
        item = found.get(keys.campaign(r.campaign_id))
        if item is None or item.status != "active":
            continue
        points = reward_points(r, body.amount_minor, base_points, s.program.point_value_minor)
        budget = wallet.as_dict(item.rules).get("budget_points")
        remaining = int(budget) - int(item.budget_used) if budget is not None else None
        if remaining is not None:
            points = min(points, remaining)
        if remaining is not None and remaining <= 0:
            # used up by concurrent awards that each saw some budget left: persist what status_of already shows
            plan.tx.update(
                CI(*keys.campaign(r.campaign_id)),
                [CI.status.set("exhausted")],
                condition=CI.status == "active",
                tag=f"campaign:{r.campaign_id}",
            )
            retired.append(r)
            continue
        if points <= 0:
            continue
        first_for_customer = s.current.campaign_awards.get(r.campaign_id, 0) == 0
        actions: list[Action] = [
            CI.budget_used.add(points),
            CI.awards.add(1),
            CI.points_awarded.add(points),
            CI.revenue_minor.add(body.amount_minor),
            CI.customers.add(1 if first_for_customer else 0),
            CI.new_customers.add(1 if new_here and first_for_customer else 0),
        ]
        guard = CI.status == "active"
        if budget is not None:
            guard &= CI.budget_used <= int(budget) - points
            if points == remaining:
                actions.append(CI.status.set("exhausted"))
                retired.append(r)
        plan.tx.update(CI(*keys.campaign(r.campaign_id)), actions, condition=guard, tag=f"campaign:{r.campaign_id}")
        plan.tx.update(
            DI(*keys.campaign_day(r.campaign_id, day)),
            [DI.awards.add(1), DI.points_awarded.add(points), DI.revenue_minor.add(body.amount_minor)],
        )
        lot = earn_lot(s.now, s.program, r.sponsor)
        bucket = pending_key(pending_until.isoformat(), lot) if pending_until else ""
        if bucket:
            points_change = Change(pending=points, pending_lots={bucket: points})
        else:
            points_change = Change(available=points, lots={lot: points})
        counter = Change(campaign_awards={r.campaign_id: 1})
        if r.per_customer_limit is not None:
            counter.campaign_limits[r.campaign_id] = r.per_customer_limit
        awards.append(Award(r.campaign_id, r.sponsor, points, lot, bucket, points_change, points_change.merge(counter)))
    _take_off_partners(plan, retired)
    return awards
