"""What a campaign award writes: the campaign's guarded budget and totals, its daily series, the check that its
sponsor is still active; and what a refund writes back (``points_reversed``).

Budgets are guarded in the write (``budget_used <= budget - points``), and so is each awarding sponsor's
``status = active``: if a concurrent award used the budget first, or the sponsor was suspended meanwhile, the
transaction is cancelled and the purchase decided again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.maps import as_dict
from chalicelib.db.models import CampaignDayItem, CampaignItem, PartnerItem
from chalicelib.db.store import Found, ReadKey, get_many
from chalicelib.db.tx import Transaction
from chalicelib.domain.campaigns import CampaignAward, CampaignState

__all__ = ["load_states", "mark_exhausted", "read_keys", "record", "reverse"]


def read_keys(campaign_ids: Sequence[str], sponsor_ids: Iterable[str]) -> list[ReadKey]:
    """The campaign items and their sponsors' partner items, which an award must see fresh."""
    wanted: list[ReadKey] = [(CampaignItem, *keys.campaign(c)) for c in campaign_ids]
    wanted += [(PartnerItem, *keys.partner(sponsor)) for sponsor in sorted(set(sponsor_ids))]
    return wanted


def load_states(
    prefetched: Found, campaign_ids: Sequence[str], sponsor_ids: Iterable[str]
) -> tuple[dict[str, CampaignState], set[str]]:
    """The campaigns' states and which of the sponsors are active, from the purchase's batch read; what it lacks
    (rules newer than this instance's cached partner) is read now."""
    sponsors = sorted(set(sponsor_ids))
    wanted = read_keys(campaign_ids, sponsors)
    found = {(pk, sk): prefetched[(pk, sk)] for _, pk, sk in wanted if (pk, sk) in prefetched}
    missing = [(model, pk, sk) for model, pk, sk in wanted if (pk, sk) not in prefetched]
    if missing:
        found |= get_many(missing)
    states: dict[str, CampaignState] = {}
    for campaign_id in campaign_ids:
        item = found.get(keys.campaign(campaign_id))
        if item is not None:
            budget = as_dict(item.rules).get("budget_points")
            states[campaign_id] = CampaignState(
                str(item.status), int(budget) if budget is not None else None, int(item.budget_used)
            )
    active = {s for s in sponsors if (p := found.get(keys.partner(s))) is not None and p.status == "active"}
    return states, active


def _tag(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def mark_exhausted(tx: Transaction, campaign_id: str) -> None:
    tx.update(
        CampaignItem(*keys.campaign(campaign_id)),
        [CampaignItem.status.set("exhausted")],
        condition=CampaignItem.status == "active",
        tag=_tag(campaign_id),
    )


def record(tx: Transaction, award: CampaignAward, day: str, revenue_minor: int) -> None:
    """Add one award to ``tx``: the campaign's totals under its budget guard, the day's series, and (once per
    sponsor in a transaction) the check that the sponsor is still active."""
    campaign_id, points = award.rules.campaign_id, award.points
    actions: list[Action] = [
        CampaignItem.budget_used.add(points),
        CampaignItem.awards.add(1),
        CampaignItem.points_awarded.add(points),
        CampaignItem.revenue_minor.add(revenue_minor),
        CampaignItem.customers.add(1 if award.first_for_customer else 0),
        CampaignItem.new_customers.add(1 if award.new_customer else 0),
    ]
    guard = CampaignItem.status == "active"
    if award.budget_points is not None:
        guard &= CampaignItem.budget_used <= award.budget_points - points
        if award.exhausts:
            actions.append(CampaignItem.status.set("exhausted"))
    tx.update(CampaignItem(*keys.campaign(campaign_id)), actions, condition=guard, tag=_tag(campaign_id))
    tx.update(
        CampaignDayItem(*keys.campaign_day(campaign_id, day)),
        [
            CampaignDayItem.awards.add(1),
            CampaignDayItem.points_awarded.add(points),
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
