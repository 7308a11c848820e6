"""Cross-promo campaigns: a sponsor pays to bring other partners' customers through a door.

Lifecycle: created ``pending_acceptance`` when other partners are named (``draft`` when none are); every named
partner accepts; the sponsor activates (``409 campaign_not_accepted`` until all have), pauses, resumes, ends. A
campaign whose budget is used up becomes ``exhausted`` in the same transaction as its last award.

While a campaign is active its rules are copied onto each ``earn_at`` partner's item (``active_campaigns``): the
accrual reads that item anyway, so finding the campaigns that apply costs no extra read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import cache, db, ids, program
from chalicelib.db import keys
from chalicelib.domain.campaigns import Rules
from chalicelib.errors import CampaignNotAccepted, CampaignStateConflict, Forbidden, NotFound, ValidationFailed
from chalicelib.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import CampaignDay, CampaignList, CampaignOut, CampaignReport, CreateCampaign
from chalicelib.wallet import as_dict

CI = db.CampaignItem
PI = db.PartnerItem


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
    if item.status in ("active", "paused") and rules.get("ends_at") and now.isoformat() >= str(rules["ends_at"]):
        return "ended"
    return str(item.status)


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
        starts_at=rules.get("starts_at") or None,
        ends_at=rules.get("ends_at") or None,
        budget_points=int(rules["budget_points"]) if rules.get("budget_points") is not None else None,
        per_customer_limit=int(rules["per_customer_limit"]) if rules.get("per_customer_limit") is not None else None,
        status=status_of(item, now),  # type: ignore[arg-type]
        accepted_by=accepted,
        awaiting_acceptance=[p for p in named_partners(rules) if p not in accepted],
        budget_used=int(item.budget_used),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def create(req: WriteRequest, body: CreateCampaign, sponsor_id: str, now: datetime) -> Reply:
    rules: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
    named = set(body.earn_at) | (
        {body.audience.purchased_at} if body.audience and body.audience.purchased_at else set()
    )
    found = db.get_many([(db.PartnerItem, *keys.partner(p)) for p in sorted(named)])
    unknown = [p for p in sorted(named) if keys.partner(p) not in found or found[keys.partner(p)].status != "active"]
    if unknown:
        raise ValidationFailed(
            [{"loc": ["body", "earn_at"], "msg": f"no active partner {', '.join(unknown)}", "type": "unknown_partner"}]
        )
    if body.audience and body.audience.min_tier:
        tiers = [t.name for t in program.load().tiers]
        if body.audience.min_tier not in tiers:
            raise ValidationFailed(
                [
                    {
                        "loc": ["body", "audience", "min_tier"],
                        "msg": f"unknown tier; the tiers are {', '.join(tiers)}",
                        "type": "unknown_tier",
                    }
                ]
            )

    campaign_id = ids.random_id("cmp")  # once per request, not per attempt

    def decide(_: dict[tuple[str, str], Any]) -> Plan:
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
        plan = Plan(status=201, response=to_out(item, now))
        plan.tx.put(item, condition=CI.pk.does_not_exist())
        plan.tx.put(db.CampaignMemberItem(*keys.campaign_member(sponsor_id, campaign_id), role="sponsor"))
        for partner_id in others:
            plan.tx.put(db.CampaignMemberItem(*keys.campaign_member(partner_id, campaign_id), role="named"))
        return plan

    return execute(req, None, [], decide)


def _visible(campaign_id: str, partner_id: str) -> db.CampaignItem:
    """The campaign, if the caller sponsors it or is named in it; everyone else gets 404 (not even its existence)."""
    item = db.get_one(db.CampaignItem, *keys.campaign(campaign_id))
    if item is None or (
        item.sponsor_partner_id != partner_id and partner_id not in named_partners(as_dict(item.rules))
    ):
        raise NotFound(f"No campaign {campaign_id}.")
    return item


def list_for(partner_id: str, now: datetime) -> CampaignList:
    pk, _ = keys.campaign_member(partner_id, "")
    campaign_ids = [m.sk for m in db.CampaignMemberItem.query(pk, consistent_read=True)]
    found = db.get_many([(db.CampaignItem, *keys.campaign(c)) for c in campaign_ids])
    items = sorted(found.values(), key=lambda i: i.created_at, reverse=True)
    return CampaignList(items=[to_out(i, now) for i in items])


def get(campaign_id: str, partner_id: str, now: datetime) -> CampaignOut:
    return to_out(_visible(campaign_id, partner_id), now)


def _transition(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime, action: str) -> Reply:
    def decide(_: dict[tuple[str, str], Any]) -> Plan:
        item = _visible(campaign_id, partner_id)
        rules = as_dict(item.rules)
        status = status_of(item, now)
        plan = Plan(status=200)
        guard = (CI.status == item.status) & (CI.updated_at == item.updated_at)
        actions = [CI.updated_at.set(now.isoformat())]
        new_status = status
        if action == "accept":
            if partner_id == item.sponsor_partner_id:
                raise Forbidden("The sponsor does not accept its own campaign; named partners do.")
            if status in ("ended", "exhausted"):
                raise CampaignStateConflict(f"The campaign is {status}.")
            actions.append(CI.accepted_by[partner_id].set(now.isoformat()))
        else:
            if partner_id != item.sponsor_partner_id:
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
            for earn_at in rules["earn_at"]:
                partner_item = db.PartnerItem(*keys.partner(str(earn_at)))
                path = PI.active_campaigns[campaign_id]
                change = path.set(rules) if new_status == "active" else path.remove()
                plan.tx.update(partner_item, [change], condition=PI.pk.exists())
        plan.tx.update(item, actions, condition=guard, tag="campaign")
        cache.clear()  # the earn_at partners' rules change: this instance sees them at once, others within the TTL
        updated = db.CampaignItem(**{**item.attribute_values, "status": new_status, "updated_at": now.isoformat()})
        if action == "accept":
            updated.accepted_by = {**as_dict(item.accepted_by), partner_id: now.isoformat()}
        plan.response = to_out(updated, now)
        return plan

    return execute(req, None, [], decide)


def accept(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "accept")


def activate(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "activate")


def pause(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "pause")


def end(req: WriteRequest, campaign_id: str, partner_id: str, now: datetime) -> Reply:
    return _transition(req, campaign_id, partner_id, now, "end")


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
    return [Rules.from_snapshot(as_dict(v)) for _, v in sorted(as_dict(partner.active_campaigns).items())]
