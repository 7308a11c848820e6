"""Campaign awards on a purchase: which active campaigns award, guarded budgets and limits, in the accrual's
transaction.

The accrual's transaction is budgeted against DynamoDB's 100 items: each award costs at most ``ITEMS_PER_AWARD``
items, and only as many awards are made as fit next to what the purchase and the settlement already hold. Nothing
here grows with the number of partners a campaign names: an exhausted campaign is not taken off its partners in the
purchase (its item, read fresh, says it is over; the next campaign transition at that partner removes the
snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib import db
from chalicelib.db import keys
from chalicelib.db.tx import MAX_ITEMS
from chalicelib.domain.campaigns import Shopper, qualifies, reward_points
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import Change, pending_key
from chalicelib.schemas import CreateAccrual
from chalicelib.services import campaigns
from chalicelib.services import wallets as wallet
from chalicelib.services.idempotency import Plan, ReadKey
from chalicelib.services.session import Found, Session, earn_lot

MAX_AWARDS_PER_PURCHASE = 10  # campaigns stacking on one purchase (in campaign-id order)
# an award writes the campaign, its day, its ledger entry and up to two settlement counters (the till's, the
# sponsor's), and checks that its sponsor is still active
ITEMS_PER_AWARD = 6
# the purchase's own: the wallet, the accrual entry and its counter, an expiry-index marker, the order record, the
# idempotency and order replay records, and three to spare
ACCRUAL_OWN_ITEMS = 10

__all__ = ["ACCRUAL_OWN_ITEMS", "ITEMS_PER_AWARD", "MAX_AWARDS_PER_PURCHASE", "Award", "award_campaigns", "award_room"]


def award_room(plan: Plan, s: Session) -> int:
    """How many awards fit in this accrual's transaction: what is in it already (the settlement's entries and
    counters), the purchase's own items, an expiry-index marker per month the settlement credits (at most one per
    credited lot or bucket), and ``ITEMS_PER_AWARD`` per award; never more than ``MAX_AWARDS_PER_PURCHASE``."""
    credited = sum(1 for d in s.settlement.lots.values() if d > 0)
    credited += sum(1 for d in s.settlement.pending_lots.values() if d > 0)
    used = len(plan.tx) + ACCRUAL_OWN_ITEMS + credited
    return max(0, min(MAX_AWARDS_PER_PURCHASE, (MAX_ITEMS - used) // ITEMS_PER_AWARD))


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
    partner: campaigns.Partner,
    body: CreateAccrual,
    base_points: int,
    tier: str,
    pending_until: datetime | None,
    prefetched: Found,
) -> list[Award]:
    """Evaluate the active campaigns earning at this partner and add their awards to the accrual's transaction.

    Campaign items and their sponsors' partner items are read fresh (strongly consistent, in the accrual's batch).
    Budgets are guarded in the write (``budget_used <= budget - points``), and so is each awarding sponsor's
    ``status = active``: if a concurrent award used the budget first, or the sponsor was suspended meanwhile, the
    whole accrual is decided again. The award that uses the budget up also moves the campaign to ``exhausted``."""
    rules = campaigns.active_rules(partner)
    if not rules:
        return []
    shopper = Shopper(s.current.last_purchase, tier, s.current.campaign_awards)
    tier_names = [t.name for t in sorted(s.program.tiers, key=lambda t: t.min_spend_12m_minor)]
    eligible = [r for r in rules if qualifies(r, partner.partner_id, body.amount_minor, shopper, tier_names, s.now)]
    if not eligible:
        return []
    wanted: list[ReadKey] = [(db.CampaignItem, *keys.campaign(r.campaign_id)) for r in eligible]
    wanted += [(db.PartnerItem, *keys.partner(sponsor)) for sponsor in sorted({r.sponsor for r in eligible})]
    found = {(pk, sk): prefetched[(pk, sk)] for _, pk, sk in wanted if (pk, sk) in prefetched}
    missing = [(model, pk, sk) for model, pk, sk in wanted if (pk, sk) not in prefetched]
    if missing:  # rules newer than this instance's cached partner: read those now
        found |= db.get_many(missing)

    def live(campaign_id: str, sponsor_id: str) -> db.CampaignItem | None:
        item = found.get(keys.campaign(campaign_id))
        sponsor = found.get(keys.partner(sponsor_id))
        if item is None or item.status != "active" or sponsor is None or sponsor.status != "active":
            return None  # paused, ended, exhausted, or its sponsor is suspended
        return item  # type: ignore[no-any-return]

    candidates = [(r, item) for r in eligible if (item := live(r.campaign_id, r.sponsor)) is not None]
    candidates = candidates[: award_room(plan, s)]
    day = s.now.astimezone(zone(s.program.timezone)).date().isoformat()
    new_here = partner.partner_id not in s.current.last_purchase
    CI, DI, PI = db.CampaignItem, db.CampaignDayItem, db.PartnerItem
    awards: list[Award] = []
    for r, item in candidates:
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
        plan.tx.update(CI(*keys.campaign(r.campaign_id)), actions, condition=guard, tag=f"campaign:{r.campaign_id}")
        plan.tx.update(
            DI(*keys.campaign_day(r.campaign_id, day)),
            [DI.awards.add(1), DI.points_awarded.add(points), DI.revenue_minor.add(body.amount_minor)],
        )
        sponsor_pk, sponsor_sk = keys.partner(r.sponsor)
        if not plan.tx.touches(sponsor_pk, sponsor_sk):  # one check per sponsor: a suspension racing this purchase
            plan.tx.check(PI, sponsor_pk, sponsor_sk, condition=PI.status == "active", tag=f"sponsor:{r.sponsor}")
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
    return awards
