"""Program settings: the currency, what a point is worth, expiry, time zone, fee and tiers."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib import cache, db
from chalicelib.db import keys
from chalicelib.domain import DEFAULT_TIERS, Tier
from chalicelib.schemas import ProgramSettings, TierIn, UpdateProgram

DEFAULT_BONUS_DAILY_LIMITS = {"review": 1, "survey": 1, "social_share": 3, "referral": 5, "birthday": 1, "other": 3}


@dataclass(frozen=True)
class Program:
    currency: str = "RUB"
    point_value_minor: int = 100
    expiry_months: int = 12
    timezone: str = "Europe/Moscow"
    operator_fee_bps: int = 0
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    bonus_daily_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BONUS_DAILY_LIMITS))

    def to_schema(self) -> ProgramSettings:
        return ProgramSettings(
            currency=self.currency,
            point_value_minor=self.point_value_minor,
            expiry_months=self.expiry_months,
            timezone=self.timezone,
            operator_fee_bps=self.operator_fee_bps,
            tiers=[
                TierIn(name=t.name, min_spend_12m_minor=t.min_spend_12m_minor, multiplier_bps=t.multiplier_bps)
                for t in self.tiers
            ],
            bonus_daily_limits=dict(self.bonus_daily_limits),  # type: ignore[arg-type]
        )

    @classmethod
    def from_schema(cls, s: ProgramSettings) -> Program:
        return cls(
            currency=s.currency,
            point_value_minor=s.point_value_minor,
            expiry_months=s.expiry_months,
            timezone=s.timezone,
            operator_fee_bps=s.operator_fee_bps,
            tiers=tuple(Tier(t.name, t.min_spend_12m_minor, t.multiplier_bps) for t in s.tiers),
            bonus_daily_limits={**DEFAULT_BONUS_DAILY_LIMITS, **{str(k): v for k, v in s.bonus_daily_limits.items()}},
        )


def from_item(item: db.ProgramItem | None) -> Program:
    if item is None:
        return Program()
    stored = item.settings.as_dict()
    stored.setdefault("bonus_daily_limits", DEFAULT_BONUS_DAILY_LIMITS)
    return Program.from_schema(ProgramSettings.model_validate(stored))


def load() -> Program:
    """The program settings through the per-process cache (see chalicelib/cache.py)."""
    return cache.get("program", lambda: from_item(db.get_one(db.ProgramItem, *keys.program())))


def update(change: UpdateProgram, now_iso: str) -> Program:
    current = load().to_schema()
    merged = ProgramSettings.model_validate({**current.model_dump(), **change.model_dump(exclude_none=True)})
    pk, sk = keys.program()
    db.ProgramItem(pk, sk, settings=merged.model_dump(), updated_at=now_iso).save()
    cache.clear()
    return Program.from_schema(merged)
