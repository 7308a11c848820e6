"""Program settings: the currency, what a point is worth, expiry, time zone, fee and tiers.

``point_value_minor`` and ``operator_fee_bps`` move money: a change takes effect from a date (``effective_from``,
default the first day of the next period) and is kept in a schedule on the program item, never applied backwards.
Every other setting applies at once. The operator changes them with ``chalicelib/services/program_settings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from chalicelib import cache, runtime, schemas
from chalicelib.db import program as program_db
from chalicelib.db.program import StoredProgram
from chalicelib.domain import DEFAULT_TIERS, Tier
from chalicelib.domain.schedule import Schedule, next_period_start

if TYPE_CHECKING:  # the models load when a program is shown or stored, not with every key's check
    from chalicelib.schemas import ProgramSettings

DEFAULT_BONUS_DAILY_LIMITS = {"review": 1, "survey": 1, "social_share": 3, "referral": 5, "birthday": 1, "other": 3}
MONEY_SETTINGS = ("point_value_minor", "operator_fee_bps")


@dataclass(frozen=True)
class Program:
    """The settings in force at ``as_of`` (see :meth:`at`); ``schedule`` holds the money settings' history."""

    currency: str = "RUB"
    point_value_minor: int = 100
    expiry_months: int = 12
    timezone: str = "Europe/Moscow"
    operator_fee_bps: int = 0
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    bonus_daily_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BONUS_DAILY_LIMITS))
    schedule: Schedule = field(default_factory=Schedule)
    as_of: datetime | None = None
    notifications: dict[str, Any] = field(default_factory=dict)  # NotificationSettings as data
    deleted_account_points: str = "forfeit"  # forfeit | keep_until_expiry: the points of a deleted account
    messages: dict[str, Any] = field(default_factory=dict)  # MessageSettings as data: reminders, quiet hours

    def at(self, moment: datetime) -> Program:
        """The program with the money settings in force at ``moment``."""
        schedule = self.schedule
        values = schedule.at(moment) if schedule.changes else schedule.base  # no dated change: the base is in force
        # ``dataclasses.replace`` without its walk over every field (once per request): a copy of the same fields
        # (no ``__post_init__`` to run), three of them set.
        program: Program = object.__new__(Program)
        program.__dict__.update(
            self.__dict__,
            as_of=moment,
            point_value_minor=values.get("point_value_minor", self.point_value_minor),
            operator_fee_bps=values.get("operator_fee_bps", self.operator_fee_bps),
        )
        return program

    def to_schema(self) -> ProgramSettings:
        upcoming = self.schedule.upcoming(self.as_of) if self.as_of is not None else list(self.schedule.changes)
        return schemas.ProgramSettings(
            currency=self.currency,
            point_value_minor=self.point_value_minor,
            expiry_months=self.expiry_months,
            timezone=self.timezone,
            operator_fee_bps=self.operator_fee_bps,
            tiers=[
                schemas.TierIn(name=t.name, min_spend_12m_minor=t.min_spend_12m_minor, multiplier_bps=t.multiplier_bps)
                for t in self.tiers
            ],
            bonus_daily_limits=dict(self.bonus_daily_limits),  # type: ignore[arg-type]
            scheduled_changes=[schemas.ProgramChange(effective_from=c.effective_from, **c.values) for c in upcoming],
            notifications=dict(self.notifications),
            deleted_account_points=self.deleted_account_points,  # type: ignore[arg-type]
            messages=schemas.MessageSettings.model_validate(self.messages),
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
            notifications=dict(s.notifications),
            deleted_account_points=s.deleted_account_points,
            messages=s.messages.model_dump(mode="json"),
        )


def stored_settings(stored: StoredProgram | None) -> dict[str, Any]:
    """The stored settings: the money settings at their base (first) values, plus ``schedule``."""
    settings = dict(stored.settings) if stored is not None else Program().to_schema().model_dump()
    settings.setdefault("bonus_daily_limits", DEFAULT_BONUS_DAILY_LIMITS)
    settings.setdefault("schedule", [])
    settings.pop("scheduled_changes", None)
    return settings


def from_stored(stored: StoredProgram | None) -> Program:
    """The program as stored: money settings at their base values with the schedule (resolve with :meth:`at`)."""
    if stored is None:
        return Program()
    settings = stored_settings(stored)
    raw_schedule = settings.pop("schedule")
    prog = Program.from_schema(schemas.ProgramSettings.model_validate(settings))
    base = {name: getattr(prog, name) for name in MONEY_SETTINGS}
    return replace(prog, schedule=Schedule.from_list(base, raw_schedule))


def load(at: datetime | None = None) -> Program:
    """The program in force at ``at`` (default: now), through the per-process cache (see chalicelib/cache.py)."""
    stored = cache.get("program", _stored)
    return stored.at(at if at is not None else runtime.get().clock.now())


def _stored() -> Program:
    """The program as stored now (what the cache keeps; a function, not a closure made on every request)."""
    return from_stored(program_db.load())


def effective_day(text: str | None, now: datetime, tz_name: str) -> date:
    return date.fromisoformat(text) if text else next_period_start(now, tz_name)
