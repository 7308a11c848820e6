"""Pure domain core: no I/O, no clocks, no AWS. Everything here is unit-tested directly."""

from chalicelib.domain.identity import ascii_digits, normalize_card, normalize_email, normalize_phone
from chalicelib.domain.lots import allocate, by_issuer, lot_key, refill, split_lot_key
from chalicelib.domain.periods import add_months, expiry_period, last_day, period_of, trailing_periods
from chalicelib.domain.points import BPS, cumulative_share, earn_points, pro_rata, redemption_cap_points
from chalicelib.domain.tiers import DEFAULT_TIERS, Tier, TierStatus, spend_12m, tier_status

__all__ = [
    "BPS",
    "DEFAULT_TIERS",
    "Tier",
    "TierStatus",
    "add_months",
    "allocate",
    "ascii_digits",
    "by_issuer",
    "cumulative_share",
    "earn_points",
    "expiry_period",
    "last_day",
    "lot_key",
    "normalize_card",
    "normalize_email",
    "normalize_phone",
    "period_of",
    "pro_rata",
    "redemption_cap_points",
    "refill",
    "spend_12m",
    "split_lot_key",
    "tier_status",
    "trailing_periods",
]
