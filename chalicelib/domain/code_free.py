"""The code-free allowance: how many points a partner whose policy is ``above N`` has taken from one customer without
her code in the last 24 hours, holds included.

A partner's till may spend or hold up to N points a day per customer without the customer's code; what it takes
without a code is counted in slots of ``SLOT_MINUTES`` (keyed by the slot's start, UTC). A slot counts from the
moment of its first spend until ``WINDOW`` after its slot ends, so a spend counts for at least 24 hours (at most 24 h
and one slot): the ceiling errs on the customer's side. ``total`` is the sum of the stored slots; a write adds its
points to its slot and removes a few stale slots (``MAX_PRUNE``), and the database's condition checks that the
total after the write stays within N (see ``chalicelib/db/code_free.py``). Stale slots not removed yet still count:
again on the customer's side, never hers against.

A spend with the customer's code is her consent and uses none of the allowance; releasing or voiding a code-free
hold does not give the allowance back (points that were taken out of her reach without her code within the day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

WINDOW = timedelta(hours=24)
SLOT_MINUTES = 10
SLOT = timedelta(minutes=SLOT_MINUTES)
MAX_PRUNE = 24  # stale slots one write removes: keeps the update expression small; the rest go on later writes


def slot_of(now: datetime) -> str:
    """The key of the slot ``now`` falls in: its start in UTC, to the minute (``2026-03-10T09:10Z``)."""
    at = now.astimezone(UTC)
    start = at.replace(minute=at.minute - at.minute % SLOT_MINUTES, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%MZ")


def slot_start(key: str) -> datetime:
    return datetime.strptime(key, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def is_stale(key: str, now: datetime) -> bool:
    """A slot no longer counts once 24 hours have passed since its end."""
    return slot_start(key) + SLOT + WINDOW <= now


@dataclass(frozen=True)
class Allowance:
    """What one partner took from one customer without her code, as stored: slot -> points, and their sum."""

    total: int = 0
    slots: dict[str, int] = field(default_factory=dict)
    stored: bool = False  # False: nothing taken without a code yet (the first use creates the record)

    def prunable(self, now: datetime) -> dict[str, int]:
        """The oldest stale slots (at most ``MAX_PRUNE``) the next write removes, with their exact points."""
        stale = sorted(k for k in self.slots if is_stale(k, now))[:MAX_PRUNE]
        return {k: self.slots[k] for k in stale}

    def used(self, now: datetime) -> int:
        """The points that still count against the ceiling at ``now`` once the next write pruned what it can:
        exactly what the write's condition will see."""
        return self.total - sum(self.prunable(now).values())


def within_ceiling(used: int, points: int, ceiling: int) -> bool:
    """May ``points`` more be taken without the customer's code when ``used`` already were within the day?"""
    return used + points <= ceiling
