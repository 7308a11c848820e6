"""Tiers: rolling 12-month qualifying spend across all partners picks the earn multiplier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chalicelib.domain.periods import trailing_periods

ROLLING_MONTHS = 12


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend_12m_minor: int
    multiplier_bps: int


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("bronze", 0, 10_000),
    Tier("silver", 3_000_000, 12_500),
    Tier("gold", 10_000_000, 15_000),
)


@dataclass(frozen=True)
class TierStatus:
    name: str
    multiplier_bps: int
    spend_12m_minor: int
    next_tier: str | None
    spend_to_next_minor: int | None


def spend_12m(spend_by_period: Mapping[str, int], current_period: str) -> int:
    """Purchases minus refunds over the 12 months ending with the current one; never below zero."""
    total = sum(spend_by_period.get(p, 0) for p in trailing_periods(current_period, ROLLING_MONTHS))
    return max(total, 0)


def tier_status(spend: int, tiers: Sequence[Tier]) -> TierStatus:
    ordered = sorted(tiers, key=lambda t: t.min_spend_12m_minor)
    current = ordered[0]
    following: Tier | None = None
    for tier in ordered:
        if spend >= tier.min_spend_12m_minor:
            current = tier
        elif following is None:
            following = tier
    if following is not None and following.min_spend_12m_minor <= current.min_spend_12m_minor:
        following = None
    return TierStatus(
        name=current.name,
        multiplier_bps=current.multiplier_bps,
        spend_12m_minor=spend,
        next_tier=following.name if following else None,
        spend_to_next_minor=(following.min_spend_12m_minor - spend) if following else None,
    )
