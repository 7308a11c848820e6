"""The customer page's "offers for you": the active campaigns whose audience a customer is in right now."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from chalicelib.domain.campaigns import Shopper, qualifies
from chalicelib.domain.partners import Partner

OfferKind = Literal["fixed", "percent", "multiplier"]
_KINDS: dict[str, OfferKind] = {"fixed": "fixed", "percent": "percent"}  # any other reward multiplies


@dataclass(frozen=True)
class Offer:
    kind: OfferKind  # fixed (points), percent (of the amount, bps of 1 %), multiplier (bps of x1)
    value: int
    partner: str  # the name of the partner where it earns
    min_amount_minor: int


def offers_for(partners: Iterable[Partner], shopper: Shopper, tiers: Sequence[str], now: datetime) -> list[Offer]:
    """Each campaign once (at the first active partner, in the order given, where this shopper qualifies with the
    smallest purchase the campaign accepts); ``tiers`` are the tier names from lowest to highest."""
    out: dict[str, Offer] = {}
    for partner in partners:
        if not partner.active:
            continue
        for rules in partner.campaign_rules():
            amount = max(rules.min_amount_minor, 1)
            if rules.campaign_id in out or not qualifies(rules, partner.partner_id, amount, shopper, tiers, now):
                continue
            kind = _KINDS.get(rules.reward_type, "multiplier")
            out[rules.campaign_id] = Offer(kind, rules.reward_value, partner.name, rules.min_amount_minor)
    return list(out.values())
