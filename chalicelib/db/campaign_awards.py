"""What a campaign award writes: the campaign's guarded budget shard(s) and totals, its daily series, the check that
its sponsor is still active; and what a refund writes back (``points_reversed``).

A campaign's budget is split into per-shard allowances (``domain.campaigns.allowances``) over its shard items
(``CAMPSHARD#<campaign>#<k>``). An award adds to the shard it was decided on, guarded in the write (``used <=
allowance - points``, and the shard not ``closed``); if a concurrent award used that room first, or the campaign was
paused meanwhile, the transaction is cancelled and the purchase decided again. No award writes the campaign item
except the one that uses up the whole budget (it marks the campaign ``exhausted``), so a campaign's awards spread
over its shards' partitions instead of queueing on one item."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.maps import as_dict
from chalicelib.db.models import CampaignDayItem, CampaignItem, PartnerItem
from chalicelib.db.reads import Found, ReadKey, get_many
from chalicelib.db.scale_models import CampaignShardItem
from chalicelib.db.tx import Transaction
from chalicelib.domain.campaigns import CampaignAward, CampaignState, Rules, allowances
from chalicelib.domain.campaigns import shard_count as shards_for

__all__ = [
    "close_shards",
    "every_shard_keys",
    "fresh",
    "load_states",
    "mark_exhausted",
    "read_keys",
    "record",
    "reverse",
    "shard_count",
    "shard_totals",
    "states_of",
    "with_every_shard",
]


def shard_count(item: CampaignItem) -> int:
    """The campaign's shards, as stored when it was created (one created before shards: as it would be now)."""
    if item.budget_shards is not None:
        return int(item.budget_shards)
    budget = as_dict(item.rules).get("budget_points")
    return shards_for(int(budget) if budget is not None else None, keys.CAMPAIGN_SHARDS)


def read_keys(rules: Sequence[Rules]) -> list[ReadKey]:
    """The campaign items, one budget shard of each drawn at random among the campaign's own (the one an award that
    fits goes to: awards spread over the shards; a draw past them would read nothing and cost a second read), and
    their sponsors' partner items, which an award must see fresh."""
    wanted = _items(r.campaign_id for r in rules)
    for r in rules:
        drawn = secrets.randbelow(shards_for(r.budget_points, keys.CAMPAIGN_SHARDS))
        wanted.append((CampaignShardItem, *keys.campaign_shard(r.campaign_id, drawn)))
    return wanted + _sponsors(r.sponsor for r in rules)


def _items(campaign_ids: Iterable[str]) -> list[ReadKey]:
    return [(CampaignItem, *keys.campaign(c)) for c in campaign_ids]


def _sponsors(sponsor_ids: Iterable[str]) -> list[ReadKey]:
    return [(PartnerItem, *keys.partner(sponsor)) for sponsor in sorted(set(sponsor_ids))]


def every_shard_keys(found: Found, campaign_ids: Iterable[str]) -> list[ReadKey]:
    """Every budget shard of these campaigns (their items in ``found``): for an award that fits in no single one."""
    wanted: list[ReadKey] = []
    for c in campaign_ids:
        item = found.get(keys.campaign(c))
        if item is not None:
            wanted += [(CampaignShardItem, pk, sk) for pk, sk in keys.campaign_shards(c, shard_count(item))]
    return wanted


def with_every_shard(found: Found, campaign_ids: Iterable[str]) -> Found:
    """``found`` with every budget shard of these campaigns read fresh (one not written yet: nothing used)."""
    wanted = every_shard_keys(found, campaign_ids)
    fresh = get_many(wanted)
    return {**found, **fresh, **{(pk, sk): _EMPTY for _, pk, sk in wanted if (pk, sk) not in fresh}}


_EMPTY = CampaignShardItem("", "")  # a shard not written yet: nothing used (marks a shard as read)


def _state(item: CampaignItem, found: Found, campaign_id: str) -> CampaignState:
    rules = as_dict(item.rules).get("budget_points")
    budget = int(rules) if rules is not None else None
    n = shard_count(item)
    legacy = int(item.budget_used)  # counted on the item before shards: the shards share what is left
    read = {k: s for k, key in enumerate(keys.campaign_shards(campaign_id, n)) if (s := found.get(key)) is not None}
    complete = len(read) == n
    pick = next(iter(read), secrets.randbelow(n))
    if budget is None:
        return CampaignState(str(item.status), None, legacy, complete=complete, pick=pick)
    shares = dict(enumerate(allowances(budget - legacy, n)))
    used = {k: int(s.used or 0) for k, s in read.items()}
    rooms = {k: shares[k] - u for k, u in used.items()}
    if complete:  # the fullest shard, where an award that fits goes
        pick = max(rooms, key=lambda k: (rooms[k], -k))
    return CampaignState(str(item.status), budget, legacy + sum(used.values()), rooms, complete, pick, shares)


def fresh(prefetched: Found, campaign_ids: Sequence[str], sponsor_ids: Iterable[str]) -> Found:
    """The purchase's batch read, with what it lacks (rules newer than this instance's cached partner) read now."""
    wanted = _items(campaign_ids) + _sponsors(sponsor_ids)
    missing = [(m, pk, sk) for m, pk, sk in wanted if (pk, sk) not in prefetched]
    return {**prefetched, **get_many(missing)} if missing else dict(prefetched)


def states_of(
    found: Found, campaign_ids: Sequence[str], sponsor_ids: Iterable[str]
) -> tuple[dict[str, CampaignState], set[str]]:
    """The campaigns' states and which of the sponsors are active, from what was read."""
    states: dict[str, CampaignState] = {}
    for campaign_id in campaign_ids:
        item = found.get(keys.campaign(campaign_id))
        if item is not None:
            states[campaign_id] = _state(item, found, campaign_id)
    sponsors = set(sponsor_ids)
    active = {s for s in sponsors if (p := found.get(keys.partner(s))) is not None and p.status == "active"}
    return states, active


def load_states(
    prefetched: Found, campaign_ids: Sequence[str], sponsor_ids: Iterable[str]
) -> tuple[dict[str, CampaignState], set[str]]:
    """:func:`states_of` what the purchase read, with what it lacks read now."""
    sponsors = sorted(set(sponsor_ids))
    return states_of(fresh(prefetched, campaign_ids, sponsors), campaign_ids, sponsors)


def _tag(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def mark_exhausted(tx: Transaction, campaign_id: str) -> None:
    tx.update(
        CampaignItem(*keys.campaign(campaign_id)),
        [CampaignItem.status.set("exhausted")],
        condition=CampaignItem.status == "active",
        tag=_tag(campaign_id),
    )


def _shard_update(award: CampaignAward, shard: int, share: int, revenue_minor: int) -> tuple[list[Action], Condition]:
    actions: list[Action] = [CampaignShardItem.used.add(share), CampaignShardItem.points_awarded.add(share)]
    if shard == award.shard:  # the award itself is counted once, on its first shard
        actions += [
            CampaignShardItem.awards.add(1),
            CampaignShardItem.revenue_minor.add(revenue_minor),
            CampaignShardItem.customers.add(1 if award.first_for_customer else 0),
            CampaignShardItem.new_customers.add(1 if award.new_customer else 0),
        ]
    guard = CampaignShardItem.closed.does_not_exist()
    if award.allowances is not None:
        limit = award.allowances.get(shard, 0) - share
        guard &= CampaignShardItem.used.does_not_exist() | (CampaignShardItem.used <= limit)
    return actions, guard


def record(tx: Transaction, award: CampaignAward, day: str, revenue_minor: int) -> None:
    """Add one award to ``tx``: its budget shard(s) under their guards, the day's series, the campaign's state when
    it uses up the budget, and (once per sponsor in a transaction) the check that the sponsor is still active."""
    campaign_id = award.rules.campaign_id
    for shard, share in award.shares.items():
        actions, guard = _shard_update(award, shard, share, revenue_minor)
        tx.update(
            CampaignShardItem(*keys.campaign_shard(campaign_id, shard)),
            actions,
            condition=guard,
            tag=_tag(campaign_id),
        )
    if award.exhausts:
        mark_exhausted(tx, campaign_id)
    tx.update(
        CampaignDayItem(*keys.campaign_day(campaign_id, day, award.shard)),
        [
            CampaignDayItem.awards.add(1),
            CampaignDayItem.points_awarded.add(award.points),
            CampaignDayItem.revenue_minor.add(revenue_minor),
        ],
    )
    _check_sponsor(tx, award.rules.sponsor)


def _check_sponsor(tx: Transaction, sponsor: str) -> None:
    """Once per sponsor in a transaction: the award commits only while its sponsor is active (a suspension racing
    the purchase cancels it)."""
    pk, sk = keys.partner(sponsor)
    if not tx.touches(pk, sk):
        tx.check(PartnerItem, pk, sk, condition=PartnerItem.status == "active", tag=f"sponsor:{sponsor}")


def reverse(tx: Transaction, campaign_id: str, points: int) -> None:
    """A refund took ``points`` of the campaign's awards back: its report shows them as reversed."""
    tx.update(CampaignItem(*keys.campaign(campaign_id)), [CampaignItem.points_reversed.add(points)])


def close_shards(tx: Transaction, campaign_id: str, shards: int, status: str) -> None:
    """A transition of the campaign: its shards stop awarding (``closed``) unless it is ``active`` again. Writing
    them also creates them, so the next purchases find the shard they draw."""
    for pk, sk in keys.campaign_shards(campaign_id, shards):
        action = CampaignShardItem.closed.remove() if status == "active" else CampaignShardItem.closed.set(status)
        tx.update(CampaignShardItem(pk, sk), [CampaignShardItem.used.add(0), action])


def shard_totals(shards: Mapping[tuple[str, str], CampaignShardItem]) -> dict[str, int]:
    """The totals of a campaign's shards, summed."""
    names = ("used", "awards", "customers", "new_customers", "points_awarded", "revenue_minor")
    return {name: sum(int(getattr(s, name) or 0) for s in shards.values()) for name in names}
