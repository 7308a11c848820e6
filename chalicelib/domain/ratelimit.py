"""Rate limits as pure arithmetic: the token bucket each limit is (GCRA), the defaults and their overrides, and the
open-holds rule of a wallet. Storage (one conditional UpdateItem) is ``chalicelib/db/ratelimits.py``; the use case
(``limits.check``) is ``chalicelib/machinery/limits.py``. docs/security.md lists every number.

A bucket is kept as one number, its *theoretical arrival time* ``tat`` (epoch milliseconds): each admitted request
moves it ``interval`` later, from ``max(tat, now)``; a request is refused while ``tat`` is more than ``tolerance``
ahead of now. That is exactly a token bucket of ``burst`` tokens refilled at ``count`` per ``per_seconds``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Rate:
    """At most ``burst`` at once, refilled at ``count`` per ``per_seconds`` (``burst`` defaults to ``count``)."""

    count: int
    per_seconds: int
    burst: int = 0

    def __post_init__(self) -> None:
        if self.count < 1 or self.per_seconds < 1 or self.burst < 0:
            raise ValueError("a rate needs count >= 1, per_seconds >= 1 and burst >= 0")

    @property
    def size(self) -> int:
        return self.burst or self.count

    # Worked out once per rate (a rate never changes; the limits in force are made once per setting's text).
    @functools.cached_property
    def interval_ms(self) -> int:
        """One token's worth of time, rounded up (never more generous than stated)."""
        return math.ceil(self.per_seconds * 1000 / self.count)

    @functools.cached_property
    def tolerance_ms(self) -> int:
        return (self.size - 1) * self.interval_ms

    @functools.cached_property
    def horizon_ms(self) -> int:
        """How far ahead of now a bucket's ``tat`` can ever be: after that an absent item is the same bucket."""
        return self.tolerance_ms + self.interval_ms

    def describe(self) -> str:
        return f"{self.size} at once, then {self.count} per {self.per_seconds} s"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    tat_ms: int  # the bucket after this request (unchanged when refused)
    retry_after_s: int  # whole seconds until a request would be admitted (0 when allowed)


def admit(tat_ms: int | None, now_ms: int, rate: Rate) -> Verdict:
    """One request against a bucket last left at ``tat_ms`` (None: never used or long idle)."""
    start = max(tat_ms if tat_ms is not None else now_ms, now_ms)
    ahead = start - now_ms - rate.tolerance_ms
    if ahead > 0:
        return Verdict(False, start, retry_after_seconds(ahead))
    return Verdict(True, start + rate.interval_ms, 0)


def is_idle(tat_ms: int | None, now_ms: int) -> bool:
    """Idle buckets all restart from now, so the write need not know their value (``SET t = now + interval``);
    busy ones move on from where they are (``SET t = t + interval``)."""
    return tat_ms is None or tat_ms <= now_ms


def retry_after_seconds(milliseconds: int) -> int:
    """``Retry-After`` is whole seconds: rounded up, at least 1 (integer arithmetic, like every count here)."""
    return max(1, -(-milliseconds // 1000))


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the numbers ---------------------------------------------------------------------------------------------------

# Which subject each limit counts, and so which item holds it: limits of one subject share one item and are taken
# in one write (a look-up is the key's request and its look-up at once).
SUBJECTS: dict[str, str] = {
    "api_key": "key",  # every authenticated API request, per API key
    "lookup": "key",  # phone or card look-ups (GET /v1/customers/lookup, enrolling a known phone or card), per key
    "signin_phone": "phone",  # sign-in codes sent to one phone or e-mail: the ceiling over every address
    "code_phone": "phone",  # one-time code attempts (sign-in or spend) for one phone or e-mail: the ceiling
    "signin_pair": "phone_ip",  # sign-in codes asked for one phone or e-mail from one client address
    "code_pair": "phone_ip",  # one-time code attempts for one phone or e-mail from one client address
    "signin_device": "phone_device",  # sign-in codes asked by a browser that signed in to that phone before
    "code_device": "phone_device",  # code attempts from such a browser
    "signin_ip": "ip",  # sign-in codes asked for from one IP address
    "code_ip": "ip",  # one-time code attempts from one IP address
    "portal_login_ip": "ip",  # partner portal sign-in attempts from one IP address
    "portal_login_prefix": "key_prefix",  # partner portal sign-in attempts with keys that begin alike
    "wrong_code": "key",  # wrong customer codes a partner's key typed (spend or binding), across customers
    # messages a partner makes the system send one customer (spend codes, links), per customer and partner: one
    # partner's calls never use up what another partner's till needs
    "spend_code": "customer_partner",
    "customer_messages": "customer",  # the same messages from all partners together: the customer's ceiling
}

DEFAULT_RATES: dict[str, Rate | None] = {
    "api_key": Rate(10, 1, burst=20),
    "lookup": Rate(300, 3600),
    # An outsider typing someone's phone spends only the allowance of their own address (the pair); the ceiling
    # is four addresses' worth, and a browser that signed in before is not under it (docs/security.md).
    "signin_phone": Rate(20, 3600),
    "code_phone": Rate(40, 3600),
    "signin_pair": Rate(5, 3600),
    "code_pair": Rate(10, 3600),
    "signin_device": Rate(5, 3600),
    "code_device": Rate(10, 3600),
    "signin_ip": Rate(60, 3600, burst=20),
    "code_ip": Rate(120, 3600, burst=30),
    "portal_login_ip": Rate(30, 3600, burst=10),
    "portal_login_prefix": Rate(10, 3600, burst=5),
    "spend_code": Rate(10, 3600, burst=5),
    # A till mistypes a code now and then; guessing needs thousands. 20 at once, then 40 an hour, per key.
    "wrong_code": Rate(40, 3600, burst=20),
    "customer_messages": Rate(30, 3600, burst=15),  # above any one partner's: three partners' bursts at once
}
DEFAULT_OPEN_HOLDS = 5  # open holds one partner may have on one customer at a time


@dataclass(frozen=True)
class Limits:
    """The limits in force: a rate per name (None: that limit is off) and the open-holds cap (None: off)."""

    rates: Mapping[str, Rate | None] = field(default_factory=lambda: dict(DEFAULT_RATES))
    open_holds: int | None = DEFAULT_OPEN_HOLDS
    # Each subject's horizon, worked out once: every authenticated request asks for the key's (``rates`` is never
    # changed once the limits are made: ``parse_limits`` builds a new ``Limits``).
    _horizons: dict[str, int] = field(default_factory=dict, init=False, compare=False, repr=False)

    def rate(self, name: str) -> Rate | None:
        if name not in SUBJECTS:
            raise KeyError(f"no rate limit named {name!r}; known: {', '.join(sorted(SUBJECTS))}")
        return self.rates.get(name)

    def horizon_ms(self, subject: str) -> int:
        known = self._horizons.get(subject)
        if known is None:
            rates = (r.horizon_ms for n, r in self.rates.items() if r is not None and SUBJECTS[n] == subject)
            known = self._horizons[subject] = max(rates, default=0)
        return known


def parse_limits(text: str | None) -> tuple[Limits, list[str]]:
    """The defaults with the overrides of ``text`` (JSON, e.g. ``LOYALTY_LIMITS``) applied, and the problems found.

    ``{"api_key": {"count": 50, "per_seconds": 1, "burst": 100}, "lookup": null, "open_holds": 10}``: a rate per
    name, ``null`` or ``0`` turns a limit off. Anything malformed is reported and skipped (its default stays): a bad
    setting must never turn every request into an error."""
    limits = Limits()
    if not text or not text.strip():
        return limits, []
    try:
        data = json.loads(text)
    except ValueError as exc:
        return limits, [f"not JSON: {exc}"]
    if not isinstance(data, dict):
        return limits, ["not a JSON object"]
    rates, problems = dict(limits.rates), []
    open_holds = limits.open_holds
    for name, value in data.items():
        try:
            if name == "open_holds":
                open_holds = _open_holds(value)
            elif name in SUBJECTS:
                rates[name] = _rate(value)
            else:
                problems.append(f"{name}: unknown limit")
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
    return replace(limits, rates=rates, open_holds=open_holds), problems


def _open_holds(value: Any) -> int | None:
    if value is None or value == 0:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("open_holds is a whole number (0 or null: off)")
    return value


def _rate(value: Any) -> Rate | None:
    if value is None or value == 0:
        return None
    if not isinstance(value, dict) or set(value) - {"count", "per_seconds", "burst"}:
        raise ValueError('a rate is {"count": n, "per_seconds": s, "burst": b} (burst optional) or null')
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        raise ValueError("count, per_seconds and burst are whole numbers")
    return Rate(value.get("count", 0), value.get("per_seconds", 0), value.get("burst", 0))


# --- open holds ----------------------------------------------------------------------------------------------------


def open_holds_wait(holds: Mapping[str, Any], partner_id: str, now: datetime, cap: int | None) -> int | None:
    """Seconds until ``partner_id`` may place another hold on this wallet, or None if it may now: at most ``cap``
    of its holds are open at once (so one partner cannot freeze a wallet or grow the customer item without bound).
    ``holds`` are the wallet's (``domain.wallet.Hold``, settled to ``now``); the wait is until the earliest of the
    partner's holds expires (a capture or void frees a place sooner)."""
    if cap is None:
        return None
    mine = sorted(
        datetime.fromisoformat(h.expires_at)
        for h in holds.values()
        if h.partner_id == partner_id and datetime.fromisoformat(h.expires_at) > now
    )
    if len(mine) < cap:
        return None
    return retry_after_seconds((mine[0] - now) // timedelta(milliseconds=1))
