"""When a message to a customer may go out: quiet hours, the expiry a reminder announces, birthdays, the week a
marketing cap counts in. All in the program's time zone; pure.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from chalicelib.domain.periods import add_months, parse_period, zone

__all__ = ["birthday_on", "expires_at", "is_quiet", "next_send_at", "reminder_due", "tier_rose", "week_of"]


def is_quiet(now: datetime, tz_name: str, quiet_from_hour: int, quiet_to_hour: int) -> bool:
    """Whether ``now`` falls in the quiet hours ``[from, to)`` of the local clock; the window may span midnight
    (21 -> 9). Equal hours mean no quiet hours at all."""
    hour = now.astimezone(zone(tz_name)).hour
    if quiet_from_hour == quiet_to_hour:
        return False
    if quiet_from_hour < quiet_to_hour:
        return quiet_from_hour <= hour < quiet_to_hour
    return hour >= quiet_from_hour or hour < quiet_to_hour


def next_send_at(now: datetime, tz_name: str, quiet_from_hour: int, quiet_to_hour: int) -> datetime:
    """The first instant at or after ``now`` outside the quiet hours (the end of the window when inside it)."""
    if not is_quiet(now, tz_name, quiet_from_hour, quiet_to_hour):
        return now
    local = now.astimezone(zone(tz_name))
    end = datetime.combine(local.date(), time(quiet_to_hour), tzinfo=local.tzinfo)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), time(quiet_to_hour), tzinfo=local.tzinfo)
    return end


def expires_at(expiry_period: str, tz_name: str) -> datetime:
    """The instant the points of a lot whose expiry month is ``expiry_period`` expire: the first moment of the next
    month, local time (the expiry job settles a month once it has ended)."""
    year, month = parse_period(add_months(expiry_period, 1))
    return datetime(year, month, 1, tzinfo=zone(tz_name))


def reminder_due(expiry_period: str, now: datetime, tz_name: str, days_before: int) -> bool:
    """Whether the reminder for the points expiring with ``expiry_period`` is due: within ``days_before`` days of
    their expiry and before it. ``days_before`` 0 switches reminders off."""
    if days_before <= 0:
        return False
    deadline = expires_at(expiry_period, tz_name)
    return deadline - timedelta(days=days_before) <= now < deadline


def birthday_on(birthday_iso: str | None, day: date) -> bool:
    """Whether ``day`` is the birthday (``YYYY-MM-DD``); the 29th of February is kept on the 28th in other years."""
    if not birthday_iso:
        return False
    born = date.fromisoformat(birthday_iso)
    if (born.month, born.day) == (2, 29) and not calendar.isleap(day.year):
        return (day.month, day.day) == (2, 28)
    return (born.month, born.day) == (day.month, day.day)


def week_of(now: datetime, tz_name: str) -> str:
    """The ISO week (``2026-W49``) of the local date: what a weekly cap counts in."""
    year, week, _ = now.astimezone(zone(tz_name)).isocalendar()
    return f"{year:04d}-W{week:02d}"


def tier_rose(tiers: Sequence[str], before: str, after: str) -> bool:
    """Whether moving from ``before`` to ``after`` is a step up; ``tiers`` from lowest to highest. A tier the program
    no longer has counts as the lowest (a renamed tier is news; a step down never is)."""
    if after not in tiers or before == after:
        return False
    return before not in tiers or tiers.index(after) > tiers.index(before)
