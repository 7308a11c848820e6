"""Tiers: rolling 12-month qualifying spend across all partners picks the earn multiplier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.domain.periods import trailing_periods
from chalicelib.memo import last_answer

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


@lru_cache(maxsize=64)  # every tier decision asks for the same window, all month long
def _window(current_period: str) -> frozenset[str]:
    return frozenset(trailing_periods(current_period, ROLLING_MONTHS))


def spend_12m(spend_by_period: Mapping[str, int], current_period: str) -> int:
    """Purchases minus refunds over the 12 months ending with the current one; never below zero."""
    window = _window(current_period)
    # The wallet keeps about a window's worth of months (older ones leave it): add up what it has in the window.
    total = 0
    for period, spend in spend_by_period.items():
        if period in window:
            total += spend
    return max(total, 0)


def _sorted(tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    return tuple(sorted(tiers, key=lambda t: t.min_spend_12m_minor))


# A program's tiers are one tuple for as long as the program is cached (immutable, of frozen tiers): their order is
# remembered for that very tuple (``chalicelib.memo``); any other sequence is sorted each time.
_sorted_tuple = last_answer(_sorted)


def _by_spend(tiers: Sequence[Tier]) -> tuple[Tier, ...]:
    return _sorted_tuple(tiers) if isinstance(tiers, tuple) else _sorted(tiers)


def tier_for(spend: int, tiers: Sequence[Tier]) -> Tier:
    """The tier ``spend`` reaches (``tier_status``'s name and multiplier, without the rest of the status)."""
    ordered = _by_spend(tiers)
    current = ordered[0]
    for tier in ordered:
        if spend >= tier.min_spend_12m_minor:
            current = tier
    return current


def tier_status(spend: int, tiers: Sequence[Tier]) -> TierStatus:
    ordered = _by_spend(tiers)
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
