"""Cross-promo campaigns: a sponsor pays to bring other partners' customers through a door.

Lifecycle: created ``pending_acceptance`` when other partners are named (``draft`` when none are); every named
partner accepts; the sponsor activates (``409 campaign_not_accepted`` until all have), pauses, resumes, ends; the
operator may pause or end any campaign. A campaign whose budget is used up becomes ``exhausted`` in the same
transaction as its last award.

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
from typing import Any

from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from chalicelib import cache, db, ids
from chalicelib.db import keys
from chalicelib.domain.campaigns import Rules, instant, is_over
from chalicelib.errors import (
    CampaignLimitReached,
    CampaignNotAccepted,
    CampaignStateConflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from chalicelib.schemas import CampaignDay, CampaignList, CampaignOut, CampaignReport, CreateCampaign
from chalicelib.services import program
from chalicelib.services.idempotency import Plan, ReadKey, Reply, WriteRequest, execute
from chalicelib.services.wallets import as_dict

CI = db.CampaignItem
PI = db.PartnerItem

MAX_OPEN_PER_SPONSOR = 50  # campaigns a partner sponsors that are not ended (each may name up to 10 partners)
MAX_ACTIVE_PER_PARTNER = 20  # active campaigns earning at one partner: rules snapshots on its item, read per accrual
TERMINAL = ("ended", "exhausted")  # no way back: such a campaign never awards again


def named_partners(rules: dict[str, Any]) -> list[str]:
    """Partners other than the sponsor whose customers or tills the campaign involves: they must accept."""
    named = set(rules["earn_at"])
    audience = rules.get("audience") or {}
    if audience.get("purchased_at"):
        named.add(str(audience["purchased_at"]))
    named.discard(str(rules["sponsor_partner_id"]))
    return sorted(named)


def status_of(item: db.CampaignItem, now: datetime) -> str:
    """The state as users should see it: past ``ends_at`` is ended, a used-up budget is exhausted (concurrent awards
    can use it up together without either being the one that noticed; the next purchase persists the state)."""
    rules = as_dict(item.rules)
    budget = rules.get("budget_points")
    if item.status in ("active", "paused") and budget is not None and int(item.budget_used) >= int(budget):
        return "exhausted"
    if item.status not in TERMINAL and is_over(rules.get("ends_at"), now):
        return "ended"
    return str(item.status)


def _instant_out(value: Any) -> str | None:
    return instant(value).isoformat() if value else None


def to_out(item: db.CampaignItem, now: datetime) -> CampaignOut:
    rules = as_dict(item.rules)
    accepted = sorted(as_dict(item.accepted_by))
    return CampaignOut(
        campaign_id=item.campaign_id,
        name=str(rules["name"]),
        sponsor_partner_id=item.sponsor_partner_id,
        earn_at=[str(p) for p in rules["earn_at"]],
        audience=dict(rules["audience"]) if rules.get("audience") else None,
        reward=dict(rules["reward"]),
        min_amount_minor=int(rules.get("min_amount_minor") or 0),
        starts_at=_instant_out(rules.get("starts_at")),
        ends_at=_instant_out(rules.get("ends_at")),
        budget_points=int(rules["budget_points"]) if rules.get("budget_points") is not None else None,
        per_customer_limit=int(rules["per_customer_limit"]) if rules.get("per_customer_limit") is not None else None,
        status=status_of(item, now),  # type: ignore[arg-type]
        accepted_by=accepted,
        awaiting_acceptance=[p for p in named_partners(rules) if p not in accepted],
        budget_used=int(item.budget_used),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _terminal(campaign_ids: Iterable[str], now: datetime, known: dict[str, str] | None = None) -> set[str]:
    """Which of these campaigns are over for good (ended, exhausted or gone), read fresh; ``known`` caches statuses
    across calls of one request."""
    known = {} if known is None else known
    wanted = sorted(set(campaign_ids))
    unread = [c for c in wanted if c not in known]
    if unread:
        found = db.get_many([(CI, *keys.campaign(c)) for c in unread])
        for c in unread:
            item = found.get(keys.campaign(c))
            known[c] = status_of(item, now) if item is not None else "ended"
    return {c for c in wanted if known[c] in TERMINAL}


def create(req: WriteRequest, body: CreateCampaign, sponsor_id: str, now: datetime) -> Reply:
    rules: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
    for name, value in (("starts_at", body.starts_at), ("ends_at", body.ends_at)):
        if value is not None:
            rules[name] = value.isoformat()  # UTC (the schema normalises): one stored form for every instant
    named = set(body.earn_at) | (
        {body.audience.purchased_at} if body.audience and body.audience.purchased_at else set()
    )
    if body.audience and body.audience.min_tier:
        tiers = [t.name for t in program.load().tiers]
        if body.audience.min_tier not in tiers:
            raise ValidationFailed.at(
                ["body", "audience", "min_tier"], f"unknown tier; the tiers are {', '.join(tiers)}", "unknown_tier"
            )
    reads: list[ReadKey] = [(PI, *keys.partner(p)) for p in sorted(named | {sponsor_id})]

    campaign_id = ids.random_id("cmp")  # once per request, not per attempt

    def decide(found: dict[tuple[str, str], Any]) -> Plan:
        unknown = [
            p for p in sorted(named) if keys.partner(p) not in found or found[keys.partner(p)].status != "active"
        ]
        if unknown:
            raise ValidationFailed.at(["body", "earn_at"], f"no active partner {', '.join(unknown)}", "unknown_partner")
        sponsor = found.get(keys.partner(sponsor_id))
        if sponsor is None:
            raise NotFound(f"No partner {sponsor_id}.")
        open_now = as_dict(sponsor.open_campaigns)
        closed: set[str] = set()
        if len(open_now) >= MAX_OPEN_PER_SPONSOR:
            closed = _terminal(open_now, now)  # ended or exhausted since: their slots are free again
            if len(open_now) - len(closed) >= MAX_OPEN_PER_SPONSOR:
                raise CampaignLimitReached(
                    f"A partner may sponsor at most {MAX_OPEN_PER_SPONSOR} campaigns that are not ended; end one "
                    "first.",
                    limit=MAX_OPEN_PER_SPONSOR,
                )
        snapshot = {**rules, "campaign_id": campaign_id, "sponsor_partner_id": sponsor_id}
        others = named_partners(snapshot)
        item = db.CampaignItem(
            *keys.campaign(campaign_id),
            campaign_id=campaign_id,
            sponsor_partner_id=sponsor_id,
            rules=snapshot,
            status="pending_acceptance" if others else "draft",
            accepted_by={},
            created_at=now.isoformat(),
            updated_at=now.isoformat(),
        )
        plan = Plan(created=True, response=to_out(item, now))
        plan.tx.put(item, condition=CI.pk.does_not_exist())
        plan.tx.put(db.CampaignMemberItem(*keys.campaign_member(sponsor_id, campaign_id), role="sponsor"))
        for partner_id in others:
            plan.tx.put(db.CampaignMemberItem(*keys.campaign_member(partner_id, campaign_id), role="named"))
        # The limit, guarded in the write: two creates racing for the last slot cannot both take it.
        opened, created_at = PI.open_campaigns, now.isoformat()
        guard: Condition = PI.pk.exists()
        if open_now:
            actions = [opened[campaign_id].set(created_at), *[opened[c].remove() for c in sorted(closed)]]
            guard &= size(opened) < MAX_OPEN_PER_SPONSOR + len(closed)
            for c in sorted(closed):
                guard &= opened[c].exists()
        else:  # a nested set needs the map; a partner written before it existed has none: set it whole
            actions = [opened.set({campaign_id: created_at})]
            guard &= opened.does_not_exist() | (size(opened) == 0)
        plan.tx.update(PI(*keys.partner(sponsor_id)), actions, condition=guard, tag="open_campaigns")
        return plan

    return execute(req, None, reads, decide)


def _visible(campaign_id: str, partner_id: str | None) -> db.CampaignItem:
    """The campaign, if the caller sponsors it or is named in it (``None``: the operator, who sees every campaign);
    every other partner gets 404 (not even its existence)."""
    item = db.get_one(db.CampaignItem, *keys.campaign(campaign_id))
    if item is None or (
        partner_id is not None
        and item.sponsor_partner_id != partner_id
        and partner_id not in named_partners(as_dict(item.rules))
    ):
        raise NotFound(f"No campaign {campaign_id}.")
    return item


def list_for(partner_id: str, now: datetime) -> CampaignList:
    pk, _ = keys.campaign_member(partner_id, "")
    campaign_ids = [m.sk for m in db.CampaignMemberItem.query(pk, consistent_read=True)]
    found = db.get_many([(db.CampaignItem, *keys.campaign(c)) for c in campaign_ids])
    items = sorted(found.values(), key=lambda i: i.created_at, reverse=True)
    return CampaignList(items=[to_out(i, now) for i in items])


def get(campaign_id: str, partner_id: str | None, now: datetime) -> CampaignOut:
    return to_out(_visible(campaign_id, partner_id), now)


def _snapshot_updates(
    campaign_id: str, rules: dict[str, Any], new_status: str, now: datetime
) -> dict[str, tuple[list[Action], Condition]]:
    """Per earn_at partner: set (active) or remove (otherwise) this campaign's snapshot and drop the snapshots of
    campaigns that are over since (exhausted in a purchase, past ``ends_at``), read fresh. Activation is refused
    when the partner already has ``MAX_ACTIVE_PER_PARTNER`` other live campaigns, and the count is guarded in the
    write so that two activations cannot both take the last slot."""
    earn_at = sorted({str(p) for p in rules["earn_at"]})
    partners_found = db.get_many([(PI, *keys.partner(p)) for p in earn_at])
    known: dict[str, str] = {}
    updates: dict[str, tuple[list[Action], Condition]] = {}
    for partner_id in earn_at:
        partner = partners_found.get(keys.partner(partner_id))
        snapshots = as_dict(partner.active_campaigns) if partner is not None else {}
        stale = _terminal([c for c in snapshots if c != campaign_id], now, known)
        actions: list[Action] = [PI.active_campaigns[c].remove() for c in sorted(stale)]
        guard: Condition = PI.pk.exists()
        if new_status == "active":
            live = [c for c in snapshots if c != campaign_id and c not in stale]
            if len(live) >= MAX_ACTIVE_PER_PARTNER:
                raise CampaignLimitReached(
                    f"Partner {partner_id} already has {MAX_ACTIVE_PER_PARTNER} active campaigns earning there; "
                    "one of them must pause or end first.",
                    limit=MAX_ACTIVE_PER_PARTNER,
                    partner_id=partner_id,
                )
            actions.append(PI.active_campaigns[campaign_id].set(rules))
            guard &= PI.active_campaigns[campaign_id].exists() | (
                size(PI.active_campaigns) < MAX_ACTIVE_PER_PARTNER + len(stale)
            )
            for c in sorted(stale):
                guard &= PI.active_campaigns[c].exists()
        else:
            actions.append(PI.active_campaigns[campaign_id].remove())
        updates[partner_id] = (actions, guard)
    return updates


def _transition(req: WriteRequest, campaign_id: str, actor: str | None, now: datetime, action: str) -> Reply:
    """``actor`` is the calling partner, or ``None`` for the operator (who may pause and end any campaign)."""

    def decide(_: dict[tuple[str, str], Any]) -> Plan:
        item = _visible(campaign_id, actor)
        rules = as_dict(item.rules)
        status = status_of(item, now)
        plan = Plan()
        guard = (CI.status == item.status) & (CI.updated_at == item.updated_at)
        actions = [CI.updated_at.set(now.isoformat())]
        new_status = status
        if action == "accept":
            if actor is None or actor == item.sponsor_partner_id:
                raise Forbidden("The sponsor does not accept its own campaign; named partners do.")
            if status in TERMINAL:
                raise CampaignStateConflict(f"The campaign is {status}.")
            actions.append(CI.accepted_by[actor].set(now.isoformat()))
        else:
            if actor is None and action == "activate":
                raise Forbidden("Only the sponsor activates its campaign.")
            if actor is not None and actor != item.sponsor_partner_id:
                raise Forbidden("Only the sponsor activates, pauses or ends its campaign.")
            allowed = {
                "activate": ("draft", "pending_acceptance", "paused", "active"),
                "pause": ("active", "paused"),
                "end": ("draft", "pending_acceptance", "active", "paused", "ended"),
            }[action]
            if status not in allowed:
                raise CampaignStateConflict(f"A campaign that is {status} cannot {action}.")
            if action == "activate":
                awaiting = [p for p in named_partners(rules) if p not in as_dict(item.accepted_by)]
                if awaiting:
                    raise CampaignNotAccepted(f"Waiting for {', '.join(awaiting)} to accept.", awaiting=awaiting)
            new_status = {"activate": "active", "pause": "paused", "end": "ended"}[action]
            actions.append(CI.status.set(new_status))
            updates = _snapshot_updates(campaign_id, rules, new_status, now)
            if new_status == "ended":
                # the sponsor's slot is free again; partners that never accepted no longer list the campaign (so
                # creating and ending campaigns cannot fill another partner's list)
                sponsor_actions, sponsor_guard = updates.get(item.sponsor_partner_id, ([], PI.pk.exists()))
                sponsor_actions.append(PI.open_campaigns[campaign_id].remove())
                updates[item.sponsor_partner_id] = (sponsor_actions, sponsor_guard)
                accepted = as_dict(item.accepted_by)
                for partner_id in named_partners(rules):
                    if partner_id not in accepted:
                        plan.tx.delete(db.CampaignMemberItem(*keys.campaign_member(partner_id, campaign_id)))
            for partner_id, (partner_actions, partner_guard) in sorted(updates.items()):
                plan.tx.update(
                    PI(*keys.partner(partner_id)), partner_actions, condition=partner_guard, tag=f"partner:{partner_id}"
                )
        plan.tx.update(item, actions, condition=guard, tag="campaign")
        cache.clear()  # the earn_at partners' rules change: this instance sees them at once, others within the TTL
        updated = db.CampaignItem(**{**item.attribute_values, "status": new_status, "updated_at": now.isoformat()})
        if action == "accept" and actor is not None:
            updated.accepted_by = {**as_dict(item.accepted_by), actor: now.isoformat()}
        plan.response = to_out(updated, now)
        return plan

    return execute(req, None, [], decide)


def accept(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "accept")


def activate(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "activate")


def pause(req: WriteRequest, campaign_id: str, actor: str | None, now: datetime) -> Reply:
    """``actor`` None: the operator (e.g. for a suspended sponsor, which cannot call the API itself)."""
    return _transition(req, campaign_id, actor, now, "pause")


def end(req: WriteRequest, campaign_id: str, actor: str | None, now: datetime) -> Reply:
    return _transition(req, campaign_id, actor, now, "end")


def report(campaign_id: str, partner_id: str, now: datetime) -> CampaignReport:
    item = _visible(campaign_id, partner_id)
    rules = as_dict(item.rules)
    budget = int(rules["budget_points"]) if rules.get("budget_points") is not None else None
    point_value = program.load().point_value_minor
    net_points = int(item.points_awarded) - int(item.points_reversed)
    cost = net_points * point_value
    revenue = int(item.revenue_minor)
    pk, _ = keys.campaign_day(campaign_id, "")
    days = [
        CampaignDay(
            date=d.sk, awards=int(d.awards), points_awarded=int(d.points_awarded), revenue_minor=int(d.revenue_minor)
        )
        for d in db.CampaignDayItem.query(pk, consistent_read=True)
    ]
    return CampaignReport(
        campaign_id=campaign_id,
        status=status_of(item, now),  # type: ignore[arg-type]
        awards=int(item.awards),
        customers=int(item.customers),
        new_customers=int(item.new_customers),
        points_awarded=int(item.points_awarded),
        points_reversed=int(item.points_reversed),
        budget_points=budget,
        budget_remaining=budget - int(item.budget_used) if budget is not None else None,
        cost_minor=cost,
        revenue_minor=revenue,
        revenue_per_cost_bps=(revenue * 10_000) // cost if cost > 0 else None,
        daily=days,
    )


def active_rules(partner: db.PartnerItem) -> list[Rules]:
    """The campaigns a purchase at this partner may award, from the snapshots on its item (what its partners
    accepted and its sponsors activated), in campaign-id order. At most ``MAX_ACTIVE_PER_PARTNER``: activation keeps
    the snapshots within it, and the cap keeps a partner written before the limit inside one batch read."""
    snapshots = sorted(as_dict(partner.active_campaigns).items())[:MAX_ACTIVE_PER_PARTNER]
    return [Rules.from_snapshot(as_dict(v)) for _, v in snapshots]


def till_reads(partner: db.PartnerItem) -> list[ReadKey]:
    """What a write at this partner's till reads in its one batch besides the customer: the items of the campaigns
    earning here (their state and budget must be fresh) and their sponsors' partner items (a suspended sponsor's
    campaigns stop awarding at once, not when a cache expires). At most 2 x ``MAX_ACTIVE_PER_PARTNER`` keys."""
    rules = active_rules(partner)
    reads: list[ReadKey] = [(CI, *keys.campaign(r.campaign_id)) for r in rules]
    reads += [(PI, *keys.partner(sponsor)) for sponsor in sorted({r.sponsor for r in rules})]
    return reads
