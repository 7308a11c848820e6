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

from chalicelib.db import campaign_awards as campaign_awards_db
from chalicelib.db.reads import Found
from chalicelib.db.tx import MAX_ITEMS
from chalicelib.domain.campaigns import CampaignAward, Purchase, Shopper, decide_awards, eligible_campaigns
from chalicelib.domain.partners import Partner
from chalicelib.domain.periods import zone
from chalicelib.domain.wallet import Change, earn, pending_key
from chalicelib.machinery.campaign_reads import active_rules
from chalicelib.machinery.idempotency import Plan
from chalicelib.machinery.write_session import Session, earn_lot
from chalicelib.schemas import CreateAccrual

MAX_AWARDS_PER_PURCHASE = 10  # campaigns stacking on one purchase (in campaign-id order)
# an award writes one budget shard of the campaign, its day, its ledger entry and up to two settlement counters (the
# till's, the sponsor's), and checks that its sponsor is still active
ITEMS_PER_AWARD = 6
# the purchase's own: the wallet, the accrual entry and its counter, an expiry-index marker, the order record, the
# idempotency and order replay records, its events in the outbox (the accrual, a tier change), and three to spare
ACCRUAL_OWN_ITEMS = 12

__all__ = [
    "ACCRUAL_OWN_ITEMS",
    "ITEMS_PER_AWARD",
    "MAX_AWARDS_PER_PURCHASE",
    "Award",
    "award_campaigns",
    "award_room",
    "spare_items",
]


def _items_left(plan: Plan, session: Session) -> int:
    """What this accrual's transaction still has room for: what is in it already (the settlement's entries and
    counters), less the purchase's own items and an expiry-index marker per month the settlement credits (at most
    one per credited lot or bucket)."""
    credited = sum(1 for d in session.settlement.lots.values() if d > 0)
    credited += sum(1 for d in session.settlement.pending_lots.values() if d > 0)
    return MAX_ITEMS - (len(plan.tx) + ACCRUAL_OWN_ITEMS + credited)


def award_room(plan: Plan, session: Session) -> int:
    """How many awards fit in this accrual's transaction, ``ITEMS_PER_AWARD`` each; never more than
    ``MAX_AWARDS_PER_PURCHASE``."""
    return max(0, min(MAX_AWARDS_PER_PURCHASE, _items_left(plan, session) // ITEMS_PER_AWARD))


def spare_items(plan: Plan, session: Session) -> int:
    """The items left once ``award_room`` awards are counted: an award spread over more than one budget shard, or
    the one that marks its campaign exhausted, uses them."""
    return max(0, _items_left(plan, session) - award_room(plan, session) * ITEMS_PER_AWARD)


@dataclass
class Award:
    campaign_id: str
    sponsor: str
    points: int
    lot: str
    bucket: str
    points_change: Change  # what the award's ledger entry records
    change: Change  # the same plus the customer's per-campaign award counter


def _award(decided: CampaignAward, session: Session, pending_until: datetime | None) -> Award:
    """Where the award's points land (the sponsor's lot, or its pending bucket) and the wallet change it makes."""
    rules, points = decided.rules, decided.points
    lot = earn_lot(pending_until or session.now, session.program, rules.sponsor)  # live from when spendable
    bucket = pending_key(pending_until.isoformat(), lot) if pending_until else ""
    points_change = earn(points, lot, bucket)  # points > 0: an award of nothing is no award
    counter = Change(campaign_awards={rules.campaign_id: 1})
    if rules.per_customer_limit is not None:
        counter.campaign_limits[rules.campaign_id] = rules.per_customer_limit
    return Award(rules.campaign_id, rules.sponsor, points, lot, bucket, points_change, points_change.merge(counter))


def award_campaigns(
    plan: Plan,
    session: Session,
    partner: Partner,
    body: CreateAccrual,
    base_points: int,
    tier: str,
    pending_until: datetime | None,
    prefetched: Found,
) -> list[Award]:
    """Evaluate the active campaigns earning at this partner and add their awards to the accrual's transaction.

    Campaign items, one budget shard of each and their sponsors' partner items are read fresh (strongly consistent,
    in the accrual's batch); an award too big for that shard reads every shard of its campaign (one more batch).
    Budgets are guarded in the write on each shard (``used <= allowance - points``), and so is each awarding
    sponsor's ``status = active``: if a concurrent award used the room first, the campaign was paused or the sponsor
    suspended meanwhile, the whole accrual is decided again. The award that uses the budget up also moves the
    campaign to ``exhausted``."""
    rules = active_rules(partner)
    if not rules:  # most tills: no campaign earns there
        return []
    current, program = session.current, session.program
    shopper = Shopper(current.last_purchase, tier, current.campaign_awards)
    tier_names = [t.name for t in sorted(program.tiers, key=lambda t: t.min_spend_12m_minor)]
    purchase = Purchase(partner.partner_id, body.amount_minor, base_points, program.point_value_minor)
    eligible = eligible_campaigns(rules, purchase, shopper, tier_names, session.now)
    if not eligible:
        return []
    campaign_ids = [r.campaign_id for r in eligible]
    sponsors = {r.sponsor for r in eligible}
    found = campaign_awards_db.fresh(prefetched, campaign_ids, sponsors)
    states, active_sponsors = campaign_awards_db.states_of(found, campaign_ids, sponsors)
    room, spare = award_room(plan, session), spare_items(plan, session)
    decision = decide_awards(eligible, states, active_sponsors, room, purchase, shopper, spare)
    if decision.needs_every_shard:  # an award fits in no shard read with the purchase: read them all, decide again
        found = campaign_awards_db.with_every_shard(found, decision.needs_every_shard)
        states, active_sponsors = campaign_awards_db.states_of(found, campaign_ids, sponsors)
        decision = decide_awards(eligible, states, active_sponsors, room, purchase, shopper, spare)
    for campaign_id in decision.exhausted:
        campaign_awards_db.mark_exhausted(plan.tx, campaign_id)
    day = session.now.astimezone(zone(program.timezone)).date().isoformat()
    for decided in decision.awards:
        campaign_awards_db.record(plan.tx, decided, day, body.amount_minor)
    return [_award(decided, session, pending_until) for decided in decision.awards]
