"""Cross-promo campaigns: a sponsor pays to bring other partners' customers through a door.

Lifecycle (``chalicelib/domain/campaign_lifecycle.py``): created ``pending_acceptance`` when other partners are named
(``draft`` when none are); every named partner accepts or declines; the sponsor activates (``409
campaign_not_accepted`` until all have accepted, ``409 campaign_declined`` while one declines), pauses, resumes,
ends; the operator may pause or end any campaign. A campaign whose budget is used up becomes ``exhausted`` in the
same transaction as its last award. The table is ``chalicelib/db/campaigns.py``.

While a campaign is active its rules are copied onto each ``earn_at`` partner's item (``active_campaigns``): the
accrual reads that item anyway, so finding the campaigns that apply costs no extra read. A snapshot whose campaign
was exhausted in a purchase or passed its ``ends_at`` stays until the next transition of a campaign earning at that
partner removes it: the campaign item is read fresh with every purchase (in the same batch read), so a stale
snapshot costs a key in that read, never an award, and there are never more than ``MAX_ACTIVE_PER_PARTNER``.

Limits (what one partner can impose on another, and what one request reads and writes):
``MAX_OPEN_PER_SPONSOR`` campaigns not ended per sponsor, ``MAX_ACTIVE_PER_PARTNER`` active campaigns earning at one
partner, ``schemas.MAX_EARN_AT`` partners per campaign; beyond them ``409 campaign_limit_reached``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from chalicelib import cache, ids
from chalicelib.db import campaigns as campaigns_db
from chalicelib.db import partners as partners_db
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain.audit import Change
from chalicelib.domain.campaign_lifecycle import (
    MAX_ACTIVE_PER_PARTNER,
    MAX_OPEN_PER_SPONSOR,
    TERMINAL,
    AwaitingAcceptance,
    Campaign,
    CampaignAction,
    Declined,
    LimitReached,
    NotYours,
    RulesSnapshot,
    SnapshotChange,
    TransitionRefused,
    check_open_slots,
    new_campaign,
    snapshot_change,
    transition,
    unaccepted,
)
from chalicelib.domain.campaigns import instant
from chalicelib.domain.events import CAMPAIGN_UPDATED
from chalicelib.domain.partners import Partner
from chalicelib.errors import (
    ApiError,
    CampaignDeclined,
    CampaignLimitReached,
    CampaignNotAccepted,
    CampaignStateConflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from chalicelib.machinery import events, program
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import CampaignDay, CampaignList, CampaignOut, CampaignReport, CreateCampaign

__all__ = [
    "MAX_ACTIVE_PER_PARTNER",
    "MAX_OPEN_PER_SPONSOR",
    "TERMINAL",
    "Partner",
    "accept",
    "activate",
    "create",
    "decline",
    "end",
    "get_visible",
    "list_for",
    "pause",
    "report",
    "to_out",
]


def _instant_out(value: str | None) -> str | None:
    return instant(value).isoformat() if value else None


def to_out(campaign: Campaign, now: datetime) -> CampaignOut:
    rules = campaign.rules
    budget, limit = rules.get("budget_points"), rules.get("per_customer_limit")
    return CampaignOut(
        campaign_id=campaign.campaign_id,
        name=str(rules["name"]),
        sponsor_partner_id=campaign.sponsor_partner_id,
        earn_at=[str(p) for p in rules["earn_at"]],
        audience=dict(rules["audience"]) if rules.get("audience") else None,
        reward=dict(rules["reward"]),
        min_amount_minor=int(rules.get("min_amount_minor") or 0),
        starts_at=_instant_out(rules.get("starts_at")),
        ends_at=_instant_out(rules.get("ends_at")),
        budget_points=int(budget) if budget is not None else None,
        per_customer_limit=int(limit) if limit is not None else None,
        status=campaign.status_at(now),
        accepted_by=sorted(campaign.accepted_by),
        awaiting_acceptance=campaign.awaiting_acceptance(),
        declined_by=campaign.declined(),
        partner_states=campaign.partner_states(),
        budget_used=campaign.budget_used,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def _over(campaign_ids: Iterable[str], now: datetime, known: dict[str, str] | None = None) -> set[str]:
    """Which of these campaigns are over for good (ended, exhausted or gone), read fresh; ``known`` caches statuses
    across calls of one request."""
    known = {} if known is None else known
    wanted = sorted(set(campaign_ids))
    unread = [c for c in wanted if c not in known]
    if unread:
        found = campaigns_db.load_many(unread)
        for c in unread:
            campaign = found.get(c)
            known[c] = campaign.status_at(now) if campaign is not None else "ended"
    return {c for c in wanted if known[c] in TERMINAL}


def _limit_reached(exc: LimitReached) -> CampaignLimitReached:
    if exc.partner_id is None:
        return CampaignLimitReached(str(exc), limit=exc.limit)
    return CampaignLimitReached(str(exc), limit=exc.limit, partner_id=exc.partner_id)


def _rules_of(body: CreateCampaign) -> RulesSnapshot:
    rules = body.model_dump(mode="json", exclude_none=True)
    for name, value in (("starts_at", body.starts_at), ("ends_at", body.ends_at)):
        if value is not None:
            rules[name] = value.isoformat()  # UTC (the schema normalises): one stored form for every instant
    return cast(RulesSnapshot, rules)


def _check_min_tier(body: CreateCampaign) -> None:
    if body.audience and body.audience.min_tier:
        tiers = [t.name for t in program.load().tiers]
        if body.audience.min_tier not in tiers:
            raise ValidationFailed.at(
                ["body", "audience", "min_tier"], f"unknown tier; the tiers are {', '.join(tiers)}", "unknown_tier"
            )


def _check_named(found: Found, named: Iterable[str]) -> None:
    unknown = [p for p in sorted(named) if not ((partner := partners_db.from_found(found, p)) and partner.active)]
    if unknown:
        raise ValidationFailed.at(["body", "earn_at"], f"no active partner {', '.join(unknown)}", "unknown_partner")


def _freed_slots(sponsor: Partner, now: datetime) -> set[str]:
    """The sponsor's open campaigns that are over since (ended or exhausted), when it is at its limit: their slots
    are free again; refused if that leaves no slot."""
    if len(sponsor.open_campaigns) < MAX_OPEN_PER_SPONSOR:
        return set()
    freed = _over(sponsor.open_campaigns, now)
    try:
        check_open_slots(len(sponsor.open_campaigns), len(freed))
    except LimitReached as exc:
        raise _limit_reached(exc) from None
    return freed


def create(req: WriteRequest, body: CreateCampaign, sponsor_id: str, now: datetime) -> Reply:
    rules = _rules_of(body)
    named = set(body.earn_at) | (
        {body.audience.purchased_at} if body.audience and body.audience.purchased_at else set()
    )
    _check_min_tier(body)
    reads: list[ReadKey] = [partners_db.read_key(p) for p in sorted(named | {sponsor_id})]

    campaign_id = ids.random_id("cmp")  # once per request, not per attempt

    def decide(found: Found) -> Plan:
        _check_named(found, named)
        sponsor = partners_db.from_found(found, sponsor_id)
        if sponsor is None:
            raise NotFound(f"No partner {sponsor_id}.")
        freed = _freed_slots(sponsor, now)
        item = new_campaign(campaign_id, sponsor_id, rules, now.isoformat())
        plan = Plan(created=True, response=to_out(item, now))
        campaigns_db.add_new(plan.tx, item, item.named_partners())
        campaigns_db.add_open_slot(plan.tx, sponsor_id, campaign_id, now.isoformat(), sponsor.open_campaigns, freed)
        created = {**body.model_dump(mode="json", exclude_none=True), "status": item.status}
        plan.audit.append(Change("campaign.created", f"campaign:{campaign_id}", sponsor_id, None, created))
        return plan

    return execute(req, None, reads, decide)


def _visible(campaign_id: str, partner_id: str | None) -> Campaign:
    """The campaign, if the caller sponsors it or is named in it (``None``: the operator, who sees every campaign);
    every other partner gets 404 (not even its existence)."""
    campaign = campaigns_db.load(campaign_id)
    if campaign is None or not campaign.visible_to(partner_id):
        raise NotFound(f"No campaign {campaign_id}.")
    return campaign


def list_for(partner_id: str, now: datetime) -> CampaignList:
    found = campaigns_db.load_many(campaigns_db.member_campaign_ids(partner_id))
    listed = sorted(found.values(), key=lambda c: c.created_at, reverse=True)
    return CampaignList(items=[to_out(c, now) for c in listed])


def get_visible(campaign_id: str, partner_id: str | None, now: datetime) -> CampaignOut:
    """The campaign as the caller may see it (see :func:`_visible`)."""
    return to_out(_visible(campaign_id, partner_id), now)


def _snapshot_changes(after: Campaign, now: datetime) -> list[SnapshotChange]:
    """Per earn_at partner (read fresh): this campaign's snapshot set (active) or removed, and the snapshots of
    campaigns over since dropped (exhausted in a purchase, past ``ends_at``); when it ended, also the sponsor's open
    slot freed. Activation is refused at a partner that already has ``MAX_ACTIVE_PER_PARTNER`` other live campaigns
    (and the count is guarded in the write, so two activations cannot both take the last slot)."""
    earn_at = sorted({str(p) for p in after.rules["earn_at"]})
    found = partners_db.load_many(earn_at)
    known: dict[str, str] = {}
    changes: list[SnapshotChange] = []
    for partner_id in earn_at:
        partner = found.get(partner_id)
        snapshots = partner.active_campaigns if partner is not None else {}
        stale = _over([c for c in snapshots if c != after.campaign_id], now, known)
        changes.append(snapshot_change(after, partner_id, snapshots, stale))
    sponsor = after.sponsor_partner_id
    if after.status == "ended" and sponsor not in earn_at:
        changes.append(SnapshotChange(sponsor, after.campaign_id, touch_snapshot=False, free_open_slot=True))
    return sorted(changes, key=lambda c: c.partner_id)


def _refused(exc: TransitionRefused) -> ApiError:
    if isinstance(exc, NotYours):
        return Forbidden(str(exc))
    if isinstance(exc, AwaitingAcceptance):
        return CampaignNotAccepted(str(exc), awaiting=exc.awaiting)
    if isinstance(exc, Declined):
        return CampaignDeclined(str(exc), declined=exc.declined)
    return CampaignStateConflict(str(exc))


_AUDITED: dict[CampaignAction, str] = {
    "accept": "campaign.accepted",
    "decline": "campaign.declined",
    "activate": "campaign.launched",
    "pause": "campaign.paused",
    "end": "campaign.ended",
}


def _audited(before: Campaign, after: Campaign, actor: str | None, action: CampaignAction) -> list[Change]:
    """The audit record of a transition that changed something: an answer is the answering partner's record, a
    state change the sponsor's (made by the sponsor or the operator)."""
    target = f"campaign:{before.campaign_id}"
    if action in ("accept", "decline"):
        if after is before or actor is None:
            return []
        was = "accepted" if actor in before.accepted_by else "declined" if actor in before.declined_by else None
        now_is = "accepted" if action == "accept" else "declined"
        return [Change(_AUDITED[action], target, actor, {"answer": was}, {"answer": now_is})]
    if after.status == before.status:
        return []
    change = Change(
        _AUDITED[action], target, before.sponsor_partner_id, {"status": before.status}, {"status": after.status}
    )
    return [change]


def _transition(req: WriteRequest, campaign_id: str, actor: str | None, now: datetime, action: CampaignAction) -> Reply:
    """``actor`` is the calling partner, or ``None`` for the operator (who may pause and end any campaign)."""

    def decide(_: Found) -> Plan:
        before = _visible(campaign_id, actor)
        try:
            after = transition(before, actor, action, now)
            answering = action in ("accept", "decline")
            changes = [] if answering else _snapshot_changes(after, now)
        except TransitionRefused as exc:
            raise _refused(exc) from None
        except LimitReached as exc:
            raise _limit_reached(exc) from None
        plan = Plan()
        if answering:
            if after is not before:  # declining twice changes nothing (and answers the same)
                campaigns_db.add_update(plan.tx, before, now.isoformat(), answers=after)
        else:
            if after.status == "ended":
                campaigns_db.add_member_removals(plan.tx, campaign_id, unaccepted(after))
            for change in changes:
                campaigns_db.add_snapshot_change(plan.tx, change)
            campaigns_db.add_update(plan.tx, before, now.isoformat(), status=after.status)
        cache.clear()  # the earn_at partners' rules change: this instance sees them at once, others within the TTL
        plan.response = to_out(after, now)
        plan.audit += _audited(before, after, actor, action)
        if after.status != before.status:  # told to the sponsor; answers (accept, decline) change no state
            plan.events.append(
                events.new(
                    CAMPAIGN_UPDATED,
                    after.sponsor_partner_id,
                    now,
                    campaign_id=campaign_id,
                    status=after.status,
                    status_before=before.status,
                )
            )
        return plan

    return execute(req, None, [], decide)


def accept(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "accept")


def decline(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    """A named partner says no: the campaign cannot run (activation is refused) until it accepts after all."""
    return _transition(req, campaign_id, partner_id, now, "decline")


def activate(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "activate")


def pause(req: WriteRequest, campaign_id: str, actor: str | None, now: datetime) -> Reply:
    """``actor`` None: the operator (e.g. for a suspended sponsor, which cannot call the API itself)."""
    return _transition(req, campaign_id, actor, now, "pause")


def end(req: WriteRequest, campaign_id: str, actor: str | None, now: datetime) -> Reply:
    return _transition(req, campaign_id, actor, now, "end")


def report(campaign_id: str, partner_id: str, now: datetime) -> CampaignReport:
    campaign = _visible(campaign_id, partner_id)
    budget, totals = campaign.budget_points, campaign.totals
    point_value = program.load().point_value_minor
    cost = (totals.points_awarded - totals.points_reversed) * point_value
    revenue = totals.revenue_minor
    return CampaignReport(
        campaign_id=campaign_id,
        status=campaign.status_at(now),
        awards=totals.awards,
        customers=totals.customers,
        new_customers=totals.new_customers,
        points_awarded=totals.points_awarded,
        points_reversed=totals.points_reversed,
        budget_points=budget,
        budget_remaining=budget - campaign.budget_used if budget is not None else None,
        cost_minor=cost,
        revenue_minor=revenue,
        revenue_per_cost_bps=(revenue * 10_000) // cost if cost > 0 else None,
        daily=[
            CampaignDay(date=d.date, awards=d.awards, points_awarded=d.points_awarded, revenue_minor=d.revenue_minor)
            for d in campaigns_db.daily(campaign_id)
        ],
    )
