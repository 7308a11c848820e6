"""A customer's balance as of an instant, as plain values: what the API's balance answers and what
``chalicelib.schemas.Balance`` holds, field for field and in its order.

Plain values because a balance is often the first request a new instance serves: rendering it needs no response
model (pydantic's first model of a process costs more than the read itself, chalicelib/services/balances.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from chalicelib.domain.lots import split_lot_key
from chalicelib.domain.periods import last_day, period_of
from chalicelib.domain.tiers import Tier, spend_12m, tier_status
from chalicelib.domain.wallet import Wallet, as_of

__all__ = ["balance_fields"]


def balance_fields(
    customer_id: str,
    wallet: Wallet,
    now: datetime,
    *,
    timezone: str,
    tiers: Sequence[Tier],
    currency: str,
    point_value_minor: int,
) -> dict[str, Any]:
    """The balance as of ``now``: expired holds released, due points matured, ended months expired. Keys in
    ``Balance``'s field order; ``expiring`` holds ``ExpiringPoints``' fields and ``tier`` ``TierOut``'s."""
    current = as_of(wallet, now, timezone)  # read only: the wallet itself when time did nothing to it
    expiring: dict[str, int] = {}
    for key, points in current.lots.items():
        if points > 0:
            expiry = split_lot_key(key)[0]
            expiring[expiry] = expiring.get(expiry, 0) + points
    status = tier_status(spend_12m(current.spend, period_of(now, timezone)), tiers)
    expires: list[dict[str, int | date]] = [
        {"points": p, "expires_on": last_day(e)} for e, p in sorted(expiring.items())
    ]
    return {
        "available": current.available,
        "pending": current.pending,
        "held": current.held,
        "customer_id": customer_id,
        "expiring": expires,
        "tier": dict(status.__dict__),
        "currency": currency,
        "point_value_minor": point_value_minor,
    }
