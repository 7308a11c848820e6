"""Campaigns in the table: the campaign item (``CAMP#<id>``), its members (``PCAMP#<partner>``: a partner's list),
its daily series (``CAMPDAY#<id>``), and the campaign maps on partner items (``open_campaigns`` of the sponsor,
``active_campaigns`` snapshots of the ``earn_at`` partners), each limit guarded in the write.

What an award writes on a purchase is ``chalicelib/db/campaign_awards.py``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.campaign_awards import close_shards, shard_count, shard_totals
from chalicelib.db.maps import as_dict
from chalicelib.db.models import CampaignDayItem, CampaignItem, CampaignMemberItem, PartnerItem
from chalicelib.db.reads import ReadKey, get_many, get_one
from chalicelib.db.scale_models import CampaignShardItem
from chalicelib.db.tx import Transaction
from chalicelib.domain.campaign_lifecycle import (
    MAX_ACTIVE_PER_PARTNER,
    MAX_OPEN_PER_SPONSOR,
    Campaign,
    CampaignStatus,
    CampaignTotals,
    RulesSnapshot,
    SnapshotChange,
)
from chalicelib.domain.campaigns import shard_count as shards_for

__all__ = [
    "CampaignDay",
    "add_member_removals",
    "add_new",
    "add_open_slot",
    "add_snapshot_change",
    "add_update",
    "campaign_of",
    "daily",
    "load",
    "load_many",
    "member_campaign_ids",
    "read_key",
]


def read_key(campaign_id: str) -> ReadKey:
    return (CampaignItem, *keys.campaign(campaign_id))


def campaign_of(item: CampaignItem, shards: Mapping[tuple[str, str], CampaignShardItem] | None = None) -> Campaign:
    """The campaign from its item and its budget shards (what awards counted: added to what the item counted before
    campaigns had shards)."""
    shards = shards or {}
    count = shard_count(item)
    summed = shard_totals({k: shards[k] for k in keys.campaign_shards(item.campaign_id, count) if k in shards})
    return Campaign(
        campaign_id=item.campaign_id,
        sponsor_partner_id=item.sponsor_partner_id,
        rules=cast(RulesSnapshot, as_dict(item.rules)),
        status=cast(CampaignStatus, str(item.status)),
        accepted_by={str(k): str(v) for k, v in as_dict(item.accepted_by).items()},
        declined_by={str(k): str(v) for k, v in as_dict(item.declined_by).items()},
        created_at=item.created_at,
        updated_at=item.updated_at,
        budget_used=int(item.budget_used) + summed["used"],
        totals=CampaignTotals(
            awards=int(item.awards) + summed["awards"],
            customers=int(item.customers) + summed["customers"],
            new_customers=int(item.new_customers) + summed["new_customers"],
            points_awarded=int(item.points_awarded) + summed["points_awarded"],
            points_reversed=int(item.points_reversed),
            revenue_minor=int(item.revenue_minor) + summed["revenue_minor"],
        ),
        budget_shards=count,
    )


def _with_shards(items: Iterable[CampaignItem]) -> list[Campaign]:
    """The campaigns with their shards, read in one batch (100 keys a call)."""
    items = list(items)
    wanted: list[ReadKey] = [
        (CampaignShardItem, pk, sk) for i in items for pk, sk in keys.campaign_shards(i.campaign_id, shard_count(i))
    ]
    found = get_many(wanted)
    shards = {key: item for key, item in found.items() if isinstance(item, CampaignShardItem)}
    return [campaign_of(i, shards) for i in items]


def load(campaign_id: str) -> Campaign | None:
    item = get_one(CampaignItem, *keys.campaign(campaign_id))
    return None if item is None else _with_shards([item])[0]


def load_many(campaign_ids: Iterable[str]) -> dict[str, Campaign]:
    """The campaigns that exist among ``campaign_ids`` (strongly consistent batch reads), by id."""
    found = get_many([read_key(c) for c in campaign_ids])
    items = [item for item in found.values() if isinstance(item, CampaignItem)]
    return {c.campaign_id: c for c in _with_shards(items)}


def member_campaign_ids(partner_id: str) -> list[str]:
    """The campaigns a partner sponsors or is named in (one query of its list)."""
    pk, _ = keys.campaign_member(partner_id, "")
    return [m.sk for m in CampaignMemberItem.query(pk, consistent_read=True)]


@dataclass(frozen=True)
class CampaignDay:
    date: str  # YYYY-MM-DD in the program time zone
    awards: int
    points_awarded: int
    revenue_minor: int


def daily(campaign_id: str) -> list[CampaignDay]:
    """The report's daily series, oldest first (one query): each day's shard items summed."""
    pk, _ = keys.campaign_day(campaign_id, "")
    days: dict[str, list[int]] = {}
    for d in CampaignDayItem.query(pk, consistent_read=True):
        total = days.setdefault(d.sk.split("#", 1)[0], [0, 0, 0])
        total[0] += int(d.awards)
        total[1] += int(d.points_awarded)
        total[2] += int(d.revenue_minor)
    return [CampaignDay(day, *total) for day, total in sorted(days.items())]


def add_new(tx: Transaction, campaign: Campaign, named: Iterable[str]) -> None:
    """Create the campaign (its id must be new) and list it for its sponsor and the ``named`` partners."""
    item = CampaignItem(
        *keys.campaign(campaign.campaign_id),
        campaign_id=campaign.campaign_id,
        sponsor_partner_id=campaign.sponsor_partner_id,
        rules=dict(campaign.rules),
        status=campaign.status,
        accepted_by=dict(campaign.accepted_by),
        declined_by=dict(campaign.declined_by),
        budget_shards=shards_for(campaign.budget_points, keys.CAMPAIGN_SHARDS),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )
    tx.put(item, condition=CampaignItem.pk.does_not_exist())
    sponsor = campaign.sponsor_partner_id
    tx.put(CampaignMemberItem(*keys.campaign_member(sponsor, campaign.campaign_id), role="sponsor"))
    for partner_id in named:
        tx.put(CampaignMemberItem(*keys.campaign_member(partner_id, campaign.campaign_id), role="named"))


def add_open_slot(
    tx: Transaction, sponsor_id: str, campaign_id: str, created_at: str, open_now: Mapping[str, str], freed: set[str]
) -> None:
    """Take one of the sponsor's open-campaign slots for ``campaign_id`` and free the ``freed`` ones (campaigns over
    since). The limit is guarded in the write: two creates racing for the last slot cannot both take it."""
    opened = PartnerItem.open_campaigns
    guard: Condition = PartnerItem.pk.exists()
    actions: list[Action]
    if open_now:
        actions = [opened[campaign_id].set(created_at), *[opened[c].remove() for c in sorted(freed)]]
        guard &= size(opened) < MAX_OPEN_PER_SPONSOR + len(freed)
        for c in sorted(freed):
            guard &= opened[c].exists()
    else:  # a nested set needs the map; a partner written before it existed has none: set it whole
        actions = [opened.set({campaign_id: created_at})]
        guard &= opened.does_not_exist() | (size(opened) == 0)
    tx.update(PartnerItem(*keys.partner(sponsor_id)), actions, condition=guard, tag="open_campaigns")


def add_update(
    tx: Transaction,
    before: Campaign,
    now_iso: str,
    *,
    status: CampaignStatus | None = None,
    answers: Campaign | None = None,
) -> None:
    """Change the campaign's ``status``, or store the named partners' ``answers`` (both maps whole: the guard makes
    the read-then-set safe, and a campaign written before declines has no map to set a key in), only if it is still
    as it was read (its stored status and ``updated_at``). A status change reaches its budget shards too: they
    award only while it is active."""
    guard = (CampaignItem.status == before.status) & (CampaignItem.updated_at == before.updated_at)
    actions: list[Action] = [CampaignItem.updated_at.set(now_iso)]
    if answers is not None:
        actions.append(CampaignItem.accepted_by.set(dict(answers.accepted_by)))
        actions.append(CampaignItem.declined_by.set(dict(answers.declined_by)))
    if status is not None:
        actions.append(CampaignItem.status.set(status))
        close_shards(
            tx,
            before.campaign_id,
            before.budget_shards or shards_for(before.budget_points, keys.CAMPAIGN_SHARDS),
            status,
        )
    tx.update(CampaignItem(*keys.campaign(before.campaign_id)), actions, condition=guard, tag="campaign")


def add_member_removals(tx: Transaction, campaign_id: str, partner_ids: Iterable[str]) -> None:
    """The campaign leaves these partners' lists."""
    for partner_id in partner_ids:
        tx.delete(CampaignMemberItem(*keys.campaign_member(partner_id, campaign_id)))


def add_snapshot_change(tx: Transaction, change: SnapshotChange) -> None:
    """Drop the partner's stale snapshots, set or remove this campaign's, free the sponsor's open slot. Setting one
    is guarded: at most ``MAX_ACTIVE_PER_PARTNER`` snapshots (the stale ones still there), so two activations cannot
    both take the last slot."""
    snapshots = PartnerItem.active_campaigns
    actions: list[Action] = [snapshots[c].remove() for c in change.stale]
    guard: Condition = PartnerItem.pk.exists()
    if change.snapshot is not None:
        actions.append(snapshots[change.campaign_id].set(dict(change.snapshot)))
        guard &= snapshots[change.campaign_id].exists() | (size(snapshots) < MAX_ACTIVE_PER_PARTNER + len(change.stale))
        for c in change.stale:
            guard &= snapshots[c].exists()
    elif change.touch_snapshot:
        actions.append(snapshots[change.campaign_id].remove())
    if change.free_open_slot:
        actions.append(PartnerItem.open_campaigns[change.campaign_id].remove())
    tx.update(
        PartnerItem(*keys.partner(change.partner_id)),
        actions,
        condition=guard,
        tag=f"partner:{change.partner_id}",
    )
