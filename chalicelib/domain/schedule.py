"""Settings that move money change from a date, never retroactively.

A :class:`Schedule` is a setting's base values plus dated changes. A change takes effect at an instant: the start of
its ``effective_from`` day in the program time zone, or the moment it was made when that day is today. The values in
force at an instant are the base with every change effective by then applied in order; the history is kept, so the
values in force at any past instant (a period's end) can be told.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import MINYEAR, UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.domain.periods import add_months, parse_period, period_of, zone


class PastDate(ValueError):
    """``effective_from`` before today in the program time zone."""


@dataclass(frozen=True)
class Change:
    effective_from: str  # YYYY-MM-DD in the program time zone
    effective_at: datetime  # the instant it takes effect (aware)
    values: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "effective_from": self.effective_from,
            "effective_at": self.effective_at.isoformat(),
            "values": dict(self.values),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Change:
        values = raw.get("values") or {}
        return cls(
            effective_from=str(raw["effective_from"]),
            effective_at=datetime.fromisoformat(str(raw["effective_at"])),
            values={str(k): int(v) for k, v in dict(values).items()},
        )


@dataclass(frozen=True)
class Schedule:
    base: Mapping[str, int] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()  # ordered by effective_at, then by when they were made

    def at(self, moment: datetime) -> dict[str, int]:
        """The values in force at ``moment``."""
        values = dict(self.base)
        for change in self.changes:
            if change.effective_at <= moment:
                values.update(change.values)
        return values

    def upcoming(self, moment: datetime) -> list[Change]:
        """Changes not yet in force at ``moment``."""
        return [c for c in self.changes if c.effective_at > moment]

    def with_change(self, values: Mapping[str, int], effective_from: date, now: datetime, tz_name: str) -> Schedule:
        """Schedule ``values`` from ``effective_from`` (today: from ``now``). A second change for the same future day
        is merged into the first (the later request wins field by field). Raises :class:`PastDate`."""
        at = effective_instant(effective_from, now, tz_name)
        day = effective_from.isoformat()
        changes = list(self.changes)
        for i, existing in enumerate(changes):
            if existing.effective_from == day and existing.effective_at > now:
                changes[i] = Change(day, existing.effective_at, {**existing.values, **values})
                break
        else:
            changes.append(Change(day, at, dict(values)))
        return Schedule(self.base, tuple(sorted(changes, key=lambda c: c.effective_at)))

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.changes]

    @classmethod
    def from_list(cls, base: Mapping[str, int], raw: Sequence[Mapping[str, Any]] | None) -> Schedule:
        changes = [Change.from_dict(r) for r in raw or []]
        return cls(dict(base), tuple(sorted(changes, key=lambda c: c.effective_at)))


def local_today(now: datetime, tz_name: str) -> date:
    return now.astimezone(zone(tz_name)).date()


def day_start(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone(tz_name))


def period_start(period: str, tz_name: str) -> datetime:
    """Midnight of the period's first day in the program time zone."""
    year, month = parse_period(period)
    return day_start(date(year, month, 1), tz_name)


def period_end(period: str, tz_name: str) -> datetime:
    """The last instant of the period (one microsecond before the next one starts); clamped to the calendar's ends
    for the years 0000 and 9999, which a period path may name."""
    try:
        return period_start(add_months(period, 1), tz_name).astimezone(UTC) - timedelta(microseconds=1)
    except (ValueError, OverflowError):
        edge = datetime.max if parse_period(period)[0] > MINYEAR else datetime.min
        return edge.replace(tzinfo=UTC)


def next_period_start(now: datetime, tz_name: str) -> date:
    """The default ``effective_from``: the first day of the next period."""
    year, month = parse_period(add_months(period_of(now, tz_name), 1))
    return date(year, month, 1)


def effective_instant(effective_from: date, now: datetime, tz_name: str) -> datetime:
    """When a change from ``effective_from`` takes effect: that day's start, or ``now`` if that is today."""
    if effective_from < local_today(now, tz_name):
        raise PastDate(f"{effective_from.isoformat()} is in the past (today is {local_today(now, tz_name)})")
    return max(day_start(effective_from, tz_name), now)
