"""A small per-process cache for what rarely changes and every request reads: who an API key is, a partner's
settings, the program settings.

Correctness never depends on it: balances, budgets, holds and replays are always read fresh and guarded in the
write. What it trades is propagation: a change made through another Lambda instance (a revoked key, a suspended
partner, new rates, a paused campaign's rules) reaches this instance within ``LOYALTY_CACHE_SECONDS`` (default 30).
Changes made through this instance clear the cache at once. Campaign awards stay exact regardless: the campaign item
itself is read fresh and its status guarded in the award's transaction.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[str, tuple[float, Any]] = {}


_TTL_NAME = "LOYALTY_CACHE_SECONDS"
# The setting as read: at the first cache read of the process, and again after ``clear`` (a test's cold start, or a
# change made through this instance). An instance's environment never changes while it lives, so every request
# need not read it again.
_ttl_read: list[int] = []


def ttl_seconds() -> int:
    """``int(os.environ.get("LOYALTY_CACHE_SECONDS", "30"))`` as it was at the first read since :func:`clear`."""
    if _ttl_read:
        return _ttl_read[0]
    seconds = int(os.environ.get(_TTL_NAME, "30"))
    _ttl_read.append(seconds)  # two first reads at once append the same number: the first is the one read
    return seconds


def get(key: str, load: Callable[[], T]) -> T:
    ttl = ttl_seconds()
    now = time.monotonic()
    if ttl > 0:
        hit = _entries.get(key)  # one read of a dict is atomic: the lock guards the writes' clearing and filling
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
    value = load()
    if ttl > 0 and value is not None:
        with _lock:
            _entries[key] = (now + ttl, value)
    return value


def put(key: str, value: Any) -> None:
    ttl = ttl_seconds()
    if ttl > 0:
        with _lock:
            _entries[key] = (time.monotonic() + ttl, value)


def peek(key: str) -> Any:
    hit = _entries.get(key)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


_FACTS_MAX = 10_000
_facts: dict[str, Any] = {}  # what never changes once read (which key id and partner an API key hash is)


def remember(key: str, value: Any) -> None:
    """Keep a fact that never changes for the life of the process (bounded: forgotten all at once when full)."""
    with _lock:
        if len(_facts) >= _FACTS_MAX:
            _facts.clear()
        _facts[key] = value


def recall(key: str) -> Any:
    return _facts.get(key)


def clear() -> None:
    """After any change to keys, partners or the program made through this instance (and a cold start in tests)."""
    with _lock:
        _entries.clear()
        _facts.clear()
        _ttl_read.clear()
