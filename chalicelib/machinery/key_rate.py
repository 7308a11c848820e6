"""The per-key request rate (``api_key``, with ``lookup`` in the same item) without a DynamoDB call per request:
an instance leases up to ``LEASE`` tokens from the key's bucket in one conditional write and spends them locally; a
cold instance reads the bucket with the request's own read and admits that one request on credit. The bucket, its
arithmetic and the hints every check shares are ``chalicelib.machinery.limits``'; the bound this gives is in
docs/security.md ("Limits", "The bound").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime

from chalicelib import db, runtime
from chalicelib.db import ratelimits as ratelimits_db
from chalicelib.db.reads import Found
from chalicelib.domain.ratelimit import Limits, Rate, admit, epoch_ms, is_idle
from chalicelib.errors import RateLimited
from chalicelib.machinery.limits import (
    _HINTS_MAX,
    ATTEMPTS,
    TTL_MARGIN_S,
    _hint,
    _hints,
    _hints_lock,
    _Lease,
    _leases,
    _owned,
    _parsed,
    _remember_locked,
    _subject_key,
    write_takes,
)
from chalicelib.memo import last_answer

__all__ = ["LEASE", "per_request"]

log = logging.getLogger("loyalty.limits")


# --- the per-key request rate: leases ---------------------------------------------------------------------------

LEASE = 5  # tokens an instance takes from a key's bucket per write at most (docs/security.md, "Limits": the bound)


def _lease(key: tuple[str, str], name: str) -> _Lease:
    """Under ``_hints_lock``, room made (``_held_for``): the lease of ``key``'s bucket ``name`` in this instance."""
    lease = _leases.get((key[0], name))
    if lease is None:  # made only when missing
        lease = _leases[key[0], name] = _Lease()
    return lease


class _KeyRate:
    """What every request of one API key (a look-up's, or not) asks of its buckets, worked out once per runtime: the
    item, the rates in force, how far ahead a bucket reaches, and the leases of those rates, in their order (a plain
    class: read on every request, never copied)."""

    __slots__ = ("horizon_ms", "key", "leases", "owner", "rates")

    def __init__(self, owner: object, key: tuple[str, str], rates: Mapping[str, Rate], horizon_ms: int) -> None:
        self.owner = owner  # the runtime it was worked out under: its settings, the hints' and leases' owner
        self.key = key
        self.rates = rates
        self.horizon_ms = horizon_ms
        self.leases = tuple(_lease(key, name) for name in rates)

    def spend(self) -> bool:
        """Under ``_hints_lock``: take one token of every lease if this instance holds one of each."""
        for lease in self.leases:
            if lease.left == 0:
                return False
        for lease in self.leases:
            lease.left -= 1
        return True


_held: dict[tuple[str, bool], _KeyRate] = {}  # (key id, look-up): see ``_held_for``


def _held_for(rt: runtime.Runtime, key_id: str, lookup: bool) -> _KeyRate:
    """Under ``_hints_lock``: the key's ``_KeyRate`` for ``rt``, made on the key's first request once the key is
    known to be real (``per_request``: never for a key whose read is still to come)."""
    held = _held.get((key_id, lookup))
    if held is not None and held.owner is rt:
        return held
    _owned()
    # Bounded by the records (two leases each at most). Records and leases are cleared together, since a record holds
    # its leases, and before this record's leases are made: no lease is dropped while a record still holds it.
    if len(_held) >= _HINTS_MAX:
        _leases.clear()
        _held.clear()
    limits = _parsed(rt.settings.limits)  # ``current()`` and ``subject_key`` of the one runtime
    key = _subject_key(rt.settings.key_pepper, "key", key_id)
    held = _KeyRate(rt, key, _rates_of(limits)[lookup], limits.horizon_ms("key"))
    _held[key_id, lookup] = held
    return held


def per_request(key_id: str, lookup: bool = False, now: datetime | None = None) -> None:
    """Every authenticated API request (``api_key``); a phone or card look-up also takes a ``lookup`` token.

    Leased, so that a key under its limit costs no round trip: one conditional write takes up to ``LEASE`` tokens
    at once for this instance (only what the bucket holds: never more than the limit), and the next requests
    spend them here. An instance that holds none and owes nothing, whose request carries a read anyway (a cold
    instance: ``auth.authenticate``), reads the bucket with it and admits this one request on credit if the
    bucket has a token; its next write pays the debt with the lease. A request that cannot be admitted here is
    refused (429) without any write when the bucket was seen empty. ``now``: the request's instant, if read."""
    rt = runtime.get()
    if db.riders_pending():  # the request's first read comes anyway: the bucket rides with it
        _carried(rt, key_id, lookup, now)
        return
    with _hints_lock:
        held = _held_for(rt, key_id, lookup)
        # The common case, a token of every bucket held here: spent at once (what ``_admit`` tries first).
        if not held.rates or held.spend():
            return
    _guarded(held, epoch_ms(now if now is not None else rt.clock.now()), None)


def _carried(rt: runtime.Runtime, key_id: str, lookup: bool, now: datetime | None) -> None:
    """The bucket read with the request's first read. The key may be one that only names itself (``auth``: a key
    not yet read): nothing is kept for it here until its read has landed and shown it real (riders land in turn,
    authentication's first), so made-up keys leave no records nor leases behind, nor push out real keys' leases."""
    rates = _rates_of(_parsed(rt.settings.limits))[lookup]
    if not rates:
        return
    key = _subject_key(rt.settings.key_pepper, "key", key_id)
    now_ms = epoch_ms(now if now is not None else rt.clock.now())

    def landed(found: Found) -> None:
        with _hints_lock:
            held = _held_for(rt, key_id, lookup)
        _guarded(held, now_ms, ratelimits_db.from_found(found, key))

    db.carry([ratelimits_db.read_key(key)], landed, raw=True)


def _both_rates(limits: Limits) -> dict[bool, Mapping[str, Rate]]:
    """``{name: rate}`` of ``api_key`` (False) and of ``api_key`` and ``lookup`` (True) under ``limits``, limits
    switched off left out (read only)."""
    return {
        asked: {name: rate for name in names if (rate := limits.rate(name)) is not None}
        for asked, names in ((False, ("api_key",)), (True, ("api_key", "lookup")))
    }


# The same ``Limits`` object (the parsed setting, cached) every request: its rates worked out once for it.
_rates_of = last_answer(_both_rates)


def _guarded(held: _KeyRate, now_ms: int, seen: dict[str, int] | None) -> None:
    try:
        _admit(held, now_ms, seen)
    except RateLimited:
        raise
    except ratelimits_db.Hot as exc:
        raise RateLimited("Too many requests right now; retry in a second.", retry_after=1) from exc
    except Exception:
        log.warning("rate limit %s not checked; let through", "+".join(held.rates), exc_info=True)


def _admit(held: _KeyRate, now_ms: int, seen: dict[str, int] | None) -> None:
    key, rates = held.key, held.rates
    # Without a read (``seen`` None), ``per_request`` has just found no token held here; with one, it comes first.
    if seen is not None and _spend_here(held, now_ms, seen, credit=False):
        return
    # One lease write per bucket in flight in this instance: the others wait for it and spend what it brought,
    # rather than each leasing a few tokens nobody here may spend (the burst would go to waste); and credit is
    # judged only while none is in flight, on a view of the bucket that includes every lease of this instance.
    with _lease_lock(key):
        if _spend_here(held, now_ms, None, credit=seen is not None):
            return
        with _hints_lock:
            leases = dict(zip(rates, held.leases, strict=True))
            short = [name for name, lease in leases.items() if lease.left == 0]
            owed = {n: max(0, leases[n].debt_until - now_ms) for n in short}  # what the debt still weighs
        taken = _take_lease(key, {n: rates[n] for n in short}, owed, now_ms, held.horizon_ms)
        with _hints_lock:
            for name, lease in leases.items():
                if name in short:
                    lease.debt_until = 0  # paid
                    lease.left += taken[name] - 1
                else:
                    lease.left = max(0, lease.left - 1)


def _spend_here(held: _KeyRate, now_ms: int, seen: dict[str, int] | None, *, credit: bool) -> bool:
    """Admit without I/O if this instance holds a token of every bucket, or (``credit``: the bucket was just read
    with the request) on credit. ``seen``: the bucket as that read found it."""
    with _hints_lock:
        if seen is not None:
            _remember_locked(held.key, seen)
        if held.spend():
            return True
        if not credit:
            return False
        leases = dict(zip(held.rates, held.leases, strict=True))
        short = [name for name, lease in leases.items() if lease.left == 0]
        return _on_credit(held.key, held.rates, leases, short, now_ms)


_lease_locks: dict[str, threading.Lock] = {}


def _lease_lock(key: tuple[str, str]) -> threading.Lock:
    with _hints_lock:
        if len(_lease_locks) > _HINTS_MAX:
            _lease_locks.clear()
        return _lease_locks.setdefault(key[0], threading.Lock())


def _on_credit(
    key: tuple[str, str], rates: Mapping[str, Rate], leases: Mapping[str, _Lease], short: list[str], now_ms: int
) -> bool:
    """Under ``_hints_lock``, the bucket just read with the request: admit this one on credit if this instance owes
    nothing and every bucket short here has a token now (one request per instance at most: the bound)."""
    if any(leases[n].debt_until > now_ms for n in short):
        return False
    if not all(admit(_hints.get((key[0], n)), now_ms, rates[n]).allowed for n in short):
        return False
    for name, lease in leases.items():
        if name in short:
            lease.debt_until = now_ms + rates[name].interval_ms
        else:
            lease.left -= 1
    return True


def _room(tat_ms: int | None, now_ms: int, rate: Rate) -> int:
    """Tokens the bucket holds now."""
    start = max(tat_ms if tat_ms is not None else now_ms, now_ms)
    return max(0, (now_ms + rate.tolerance_ms - start) // rate.interval_ms + 1)


def _take_lease(
    key: tuple[str, str], rates: Mapping[str, Rate], owed_ms: Mapping[str, int], now_ms: int, horizon_ms: int
) -> dict[str, int]:
    """One conditional write takes, from each bucket, what this instance still owes (a request admitted on credit
    less than a token's time ago: ``owed_ms`` of it left), this request's token, and up to ``LEASE`` in all (what the
    bucket holds); returns {name: tokens this instance may spend, this request's included}. 429 without a write if a
    bucket cannot give this request a token after the debt."""
    known = {name: _hint(key, name) for name in rates}
    ttl_s = (now_ms + horizon_ms) // 1000 + TTL_MARGIN_S
    owed = {n: -(-owed_ms[n] // r.interval_ms) for n, r in rates.items()}  # whole tokens
    for _ in range(ATTEMPTS):
        want = {n: min(max(LEASE, owed[n] + 1), _room(known[n], now_ms, r)) for n, r in rates.items()}
        refused = {n: r for n, r in rates.items() if want[n] < owed[n] + 1}
        if refused:  # tat only ever grows: what was seen too low is too low, without asking DynamoDB again
            waits = {n: admit(max(known[n] or now_ms, now_ms) + owed_ms[n], now_ms, r) for n, r in refused.items()}
            wait, names = max(v.retry_after_s for v in waits.values()), ", ".join(refused)
            raise RateLimited(f"Too many requests ({names}); retry in {wait} s.", retry_after=wait, limit=names)
        takes = []
        for name, rate in rates.items():
            idle = is_idle(known[name], now_ms)
            # An idle bucket restarts where the debt left it; a busy one is charged whole tokens for it.
            span = want[name] * rate.interval_ms
            if idle:
                span -= owed[name] * rate.interval_ms - owed_ms[name]
            ceiling = now_ms + rate.tolerance_ms - (want[name] - 1) * rate.interval_ms
            takes.append(ratelimits_db.Take(name, idle, span, ceiling))
        written, tats = write_takes(key, takes, now_ms, ttl_s)
        if not written:
            known = {name: tats.get(name) for name in rates}
            continue
        return {n: want[n] - owed[n] for n in rates}
    log.warning("rate limit %s: %d racing writes in a row; let through", "+".join(rates), ATTEMPTS)
    return dict.fromkeys(rates, 1)
