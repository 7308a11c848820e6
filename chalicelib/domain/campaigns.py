"""Cross-promo campaign rules, evaluated purely: who qualifies for how many points on one purchase.

Stacking rule: every eligible active campaign awards on the same purchase, each funded by its own sponsor and
capped by its own budget and per-customer limit, in campaign-id order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.points import BPS, earn_points


def instant(value: str | datetime) -> datetime:
    """An ISO 8601 instant as an aware UTC datetime: ``2026-11-29T11:00:00+03:00`` and ``2026-11-29T08:00:00Z`` are
    the same moment. Windows are stored normalised (UTC) but snapshots written before were stored with the offset
    they were given; a naive value (never accepted at the API) is taken as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _optional_instant(value: Any) -> datetime | None:
    return instant(value) if value else None


@dataclass(frozen=True)
class Rules:
    campaign_id: str
    sponsor: str
    earn_at: tuple[str, ...]
    reward_type: str  # fixed | multiplier | percent
    reward_value: int  # points | factor_bps | rate_bps
    audience: Mapping[str, Any]
    min_amount_minor: int
    starts_at: datetime | None
    ends_at: datetime | None
    per_customer_limit: int | None
    budget_points: int | None = None  # the budget as the campaign was made with it (its shards: :func:`shard_count`)

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Rules:
        reward = dict(data["reward"])
        value_key = {"fixed": "points", "multiplier": "factor_bps", "percent": "rate_bps"}[str(reward["type"])]
        limit = data.get("per_customer_limit")
        return cls(
            campaign_id=str(data["campaign_id"]),
            sponsor=str(data["sponsor_partner_id"]),
            earn_at=tuple(str(p) for p in data["earn_at"]),
            reward_type=str(reward["type"]),
            reward_value=int(reward[value_key]),
            audience=dict(data.get("audience") or {}),
            min_amount_minor=int(data.get("min_amount_minor") or 0),
            starts_at=_optional_instant(data.get("starts_at")),
            ends_at=_optional_instant(data.get("ends_at")),
            per_customer_limit=int(limit) if limit is not None else None,
            budget_points=int(budget) if (budget := data.get("budget_points")) is not None else None,
        )


@dataclass(frozen=True)
class Shopper:
    """What the audience rules may look at, all kept on the customer item as it is written (no history scan)."""

    last_purchase: Mapping[str, str]  # partner id -> ISO instant of the latest purchase there (before this one)
    tier: str
    awards: Mapping[str, int]  # campaign id -> awards this customer already got


def reward_points(rules: Rules, amount_minor: int, base_points: int, point_value_minor: int) -> int:
    if rules.reward_type == "fixed":
        return rules.reward_value
    if rules.reward_type == "multiplier":
        # factor_bps 20000 ("x2") doubles the points: the bonus equals the base earn once more
        return base_points * max(rules.reward_value - BPS, 0) // BPS
    return earn_points(amount_minor, rules.reward_value, point_value_minor)


def within_window(rules: Rules, now: datetime) -> bool:
    """``starts_at`` <= now < ``ends_at``, compared as instants (never as strings)."""
    if rules.starts_at is not None and now < rules.starts_at:
        return False
    return rules.ends_at is None or now < rules.ends_at


def is_over(ends_at: Any, now: datetime) -> bool:
    """Past a stored ``ends_at`` (any ISO 8601 form, or none)."""
    return bool(ends_at) and now >= instant(ends_at)


def qualifies(
    rules: Rules, partner_id: str, amount_minor: int, shopper: Shopper, tiers: Sequence[str], now: datetime
) -> bool:
    if partner_id not in rules.earn_at or amount_minor < rules.min_amount_minor:
        return False
    if not within_window(rules, now):
        return False
    if rules.per_customer_limit is not None and shopper.awards.get(rules.campaign_id, 0) >= rules.per_customer_limit:
        return False
    audience = rules.audience
    if audience.get("purchased_at"):
        last = shopper.last_purchase.get(str(audience["purchased_at"]))
        window_start = now - timedelta(days=int(audience["within_days"]))
        if last is None or instant(last) < window_start:
            return False
    if audience.get("new_to_partner") and partner_id in shopper.last_purchase:
        return False
    if audience.get("min_tier"):
        wanted = str(audience["min_tier"])
        if wanted not in tiers or shopper.tier not in tiers or tiers.index(shopper.tier) < tiers.index(wanted):
            return False
    return True


@dataclass(frozen=True)
class Purchase:
    """The purchase campaigns award on: where, how much, and what it earned before any campaign."""

    partner_id: str
    amount_minor: int
    base_points: int
    point_value_minor: int


# A budget is spread over shards only when it is big enough to be awarded fast: each shard keeps at least this
# much (tens of typical awards), so a small budget stays on one item and its awards rarely span shards.
SHARD_MIN_POINTS = 1_000


def shard_count(budget: int | None, most: int) -> int:
    """How many items a campaign's budget and totals are spread over: ``most`` without a budget (its totals only),
    else one per ``SHARD_MIN_POINTS`` of budget, between 1 and ``most``."""
    if budget is None:
        return most
    return max(1, min(most, budget // SHARD_MIN_POINTS))


def allowances(budget: int, shards: int) -> list[int]:
    """The budget split into per-shard allowances that sum to it exactly (the first ``budget % shards`` shards get one
    point more): each shard guards its own ``used <= allowance - points``, so the shards together never award more
    than the budget, and no award has to write one shared item."""
    base, extra = divmod(max(budget, 0), shards)
    return [base + (1 if k < extra else 0) for k in range(shards)]


def allocate(points: int, rooms: Mapping[int, int], max_shards: int) -> dict[int, int]:
    """Up to ``points`` taken from the shards' ``rooms`` (what each may still award), fullest first so an award
    touches as few shard items as it can, at most ``max_shards`` of them: shard -> points."""
    shares: dict[int, int] = {}
    for shard, room in sorted(rooms.items(), key=lambda kv: (-kv[1], kv[0])):
        if points <= 0 or len(shares) >= max_shards or room <= 0:
            break
        take = min(points, room)
        shares[shard] = take
        points -= take
    return shares


@dataclass(frozen=True)
class CampaignState:
    """A campaign as an award reads it (fresh, in the purchase's batch): its item and the budget shards read."""

    status: str
    budget_points: int | None
    budget_used: int  # what its awards used, as far as read
    rooms: Mapping[int, int] = field(default_factory=dict)  # shard -> what it may still award, for the shards read
    complete: bool = True  # every shard was read: ``rooms`` is all that is left of the budget
    pick: int = 0  # the shard an award that fits goes to (read in the batch, or drawn at random)
    allowances: Mapping[int, int] = field(default_factory=dict)  # shard -> its share of the budget

    @property
    def remaining(self) -> int | None:
        return None if self.budget_points is None else self.budget_points - self.budget_used


@dataclass(frozen=True)
class CampaignAward:
    """One campaign's award on a purchase, as the write must guard it."""

    rules: Rules
    points: int
    shares: Mapping[int, int]  # budget shard -> the points of this award it counts (they sum to ``points``)
    # shard -> its allowance: the write guards ``used <= allowance - share`` on each; None: no budget
    allowances: Mapping[int, int] | None
    exhausts: bool  # this award uses the rest of the budget: the campaign moves to ``exhausted`` with it
    first_for_customer: bool  # the campaign's first award to this customer (its ``customers`` count)
    new_customer: bool  # ... and the customer never bought at this partner before (``new_customers``)

    @property
    def shard(self) -> int:
        """The shard that counts the award itself (its customer, its revenue): the first of its shares."""
        return next(iter(self.shares))


@dataclass(frozen=True)
class AwardDecision:
    awards: tuple[CampaignAward, ...]
    # campaigns whose budget concurrent awards used up while each saw some left: the write persists
    # ``exhausted``, which their state already implies
    exhausted: tuple[str, ...]
    # budgeted campaigns whose sampled shard cannot hold the award: read every shard and decide again
    needs_every_shard: tuple[str, ...] = ()


def eligible_campaigns(
    rules: Sequence[Rules], purchase: Purchase, shopper: Shopper, tiers: Sequence[str], now: datetime
) -> list[Rules]:
    """The campaigns whose rules this purchase and shopper meet, in the order given (campaign-id order)."""
    return [r for r in rules if qualifies(r, purchase.partner_id, purchase.amount_minor, shopper, tiers, now)]


def _awarding(rules: Rules, state: CampaignState | None, active_sponsors: Set[str]) -> bool:
    """Not paused, ended or exhausted, and its sponsor not suspended."""
    return state is not None and state.status == "active" and rules.sponsor in active_sponsors


def decide_awards(
    eligible: Sequence[Rules],
    states: Mapping[str, CampaignState],
    active_sponsors: Set[str],
    room: int,
    purchase: Purchase,
    shopper: Shopper,
    spare_items: int = 0,
) -> AwardDecision:
    """Which of the ``eligible`` campaigns award how many points on this purchase.

    A campaign awards only while its item says ``active`` and its sponsor is active (paused, ended, exhausted and
    suspended ones are skipped); only the first ``room`` of those are considered (the transaction's item budget).
    Each awards its reward, cut to what is left of its budget; one whose budget is already used up awards nothing
    and is marked exhausted; a zero award is no award.

    A budget is spread over shards (:func:`allowances`). An award that fits in the shard read with the purchase
    goes there; one that does not, while not every shard was read, is left for a second decision on every shard
    (``needs_every_shard``); on every shard it takes from as many as it needs, each shard past the first costing
    one of the transaction's ``spare_items`` (so does the exhausting award's write of the campaign's state)."""
    live = [r for r in eligible if _awarding(r, states.get(r.campaign_id), active_sponsors)][:room]
    awards: list[CampaignAward] = []
    exhausted: list[str] = []
    needs: list[str] = []
    for rules in live:
        state = states[rules.campaign_id]
        points = reward_points(rules, purchase.amount_minor, purchase.base_points, purchase.point_value_minor)
        if points <= 0:
            continue
        shares: dict[int, int] = {state.pick: points}
        exhausts = False
        if state.budget_points is not None:
            left = sum(r for r in state.rooms.values() if r > 0)
            if state.complete and left <= 0:  # its place in ``room`` pays for the one write marking it
                exhausted.append(rules.campaign_id)
                continue
            fitting = state.rooms.get(state.pick, 0) >= points
            if not state.complete and not fitting:
                needs.append(rules.campaign_id)
                continue
            shares = {state.pick: points} if fitting else allocate(points, state.rooms, 1 + spare_items)
            points = sum(shares.values())
            if points <= 0:
                continue
            spare_items -= len(shares) - 1
            # without a spare item the state is left to the next purchase (``status_at`` shows it meanwhile)
            exhausts = state.complete and points == left and spare_items > 0
            spare_items -= 1 if exhausts else 0
        first = shopper.awards.get(rules.campaign_id, 0) == 0
        new_here = purchase.partner_id not in shopper.last_purchase
        allowances_ = state.allowances if state.budget_points is not None else None
        awards.append(CampaignAward(rules, points, shares, allowances_, exhausts, first, first and new_here))
    return AwardDecision(tuple(awards), tuple(exhausted), tuple(needs))
