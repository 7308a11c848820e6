"""Calendar arithmetic in the program time zone: periods are ``YYYY-MM`` months."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from chalicelib.memo import last_answer, last_answer_in


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _period_of(moment: datetime, tz_name: str) -> str:
    local = moment.astimezone(zone(tz_name))
    return _month(local.year, local.month)


@lru_cache(maxsize=64)  # formatting the month costs more than looking it up
def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


# One request asks for the period of its own ``now`` several times (settling, the tier window, its entries), and
# writes ``now`` out as ISO 8601 several times (the entry, the wallet, the order, the events, the answer): each
# answer remembered for the very datetime object (``chalicelib.memo``).
period_of: Callable[[datetime, str], str] = last_answer_in(_period_of)
iso_instant: Callable[[datetime], str] = last_answer(lambda moment: moment.isoformat())  # ``moment.isoformat()``


def parse_period(period: str) -> tuple[int, int]:
    year, month = period.split("-")
    return int(year), int(month)


FIRST_YEAR = 2000  # no coalition kept points before; year 0 or 1 is a typo, not a month to close
YEARS_AHEAD = 5  # a statement or a close further ahead than this is a typo too


def in_range(period: str, now: datetime) -> bool:
    """Whether a well-formed ``YYYY-MM`` lies between January of :data:`FIRST_YEAR` and December, :data:`YEARS_AHEAD`
    years after ``now``."""
    year, _ = parse_period(period)
    return FIRST_YEAR <= year <= now.year + YEARS_AHEAD


@lru_cache(maxsize=256)  # a request asks for the same few months (the tier window's start, a lot's expiry month)
def add_months(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_day(period: str) -> date:
    year, month = parse_period(period)
    return date(year, month, calendar.monthrange(year, month)[1])


def expiry_period(earned_at: datetime, tz_name: str, expiry_months: int) -> str:
    """Points earned in month M expire at the end of month M + expiry_months (program time zone)."""
    return add_months(period_of(earned_at, tz_name), expiry_months)


def trailing_periods(current: str, count: int) -> list[str]:
    """``count`` periods ending with ``current`` (inclusive), oldest first."""
    return list(_trailing(current, count))


@lru_cache(maxsize=64)  # every tier decision asks for the same twelve months, all month long
def _trailing(current: str, count: int) -> tuple[str, ...]:
    return tuple(add_months(current, -offset) for offset in range(count - 1, -1, -1))
