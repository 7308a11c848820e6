"""One-entry memos keyed by the very object asked about.

A request asks the same questions of its own ``now`` several times (its ISO 8601 text, its month in the program's
time zone, the milliseconds its ids begin with) and of its program's tiers (their order by spend). The answer is
remembered for the last object asked, compared by identity (``is``), so an answer is only ever reused for that same
object: another object equal to it, or another request's ``now``, computes its own. The remembered pair is swapped
whole (a thread sees its own pair or another's, each consistent) and keeps its object alive, so its identity cannot
pass to a new object. Only for pure functions of immutable arguments (datetimes, strings, tuples of frozen values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
S = TypeVar("S")
V = TypeVar("V")

__all__ = ["last_answer", "last_answer_in"]


def last_answer(compute: Callable[[K], V]) -> Callable[[K], V]:
    """``compute``, remembering its answer for the last argument (by identity)."""
    last: tuple[K, V] | None = None

    def remembered(key: K) -> V:
        nonlocal last
        seen = last
        if seen is not None and seen[0] is key:
            return seen[1]
        value = compute(key)
        last = (key, value)
        return value

    return remembered


def last_answer_in(compute: Callable[[K, S], V]) -> Callable[[K, S], V]:
    """``compute`` of an object and a setting (a time zone's name), remembering its answer for the last object (by
    identity) in the last setting (by equality)."""
    last: tuple[K, S, V] | None = None

    def remembered(key: K, setting: S) -> V:
        nonlocal last
        seen = last
        if seen is not None and seen[0] is key and seen[1] == setting:
            return seen[2]
        value = compute(key, setting)
        last = (key, setting, value)
        return value

    return remembered
