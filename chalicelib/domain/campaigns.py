"""Cross-promo campaign rules, evaluated purely: who qualifies for how many points on one purchase.

Stacking rule: every eligible active campaign awards on the same purchase, each funded by its own sponsor and
capped by its own budget and per-customer limit, in campaign-id order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
