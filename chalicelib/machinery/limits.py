"""Rate limits, the use case: ``check`` takes one token from each named limit of one subject, or answers
``429 rate_limited`` with ``Retry-After``. The numbers and their overrides: ``chalicelib.domain.ratelimit`` and
docs/security.md ("Limits").

Who calls what:

- ``chalicelib.http`` (every authenticated API request): ``check("api_key", key_id)``, and for the look-up route
  ``check(("api_key", "lookup"), key_id)``: still one write.
- ``customers.enroll``: a known phone or card is a look-up: ``once("lookup", key_id)``.
- ``redemptions.redeem``: ``open_holds(...)`` before a hold (no write: the wallet is already read).
- Customer sign-in and spend confirmation (see docs/security.md, "Customer sign-in and spend confirmation"):
  ``signin(phone, ip)`` before sending a sign-in code, ``code_attempt(phone, ip)`` before checking a code a person
  typed (sign-in or spend), ``spend_code(customer_id, partner_id)`` before sending a spend code or a link,
  ``wrong_codes_left(key_id)`` before judging a code a partner typed and ``wrong_code(key_id)`` for each one
  that was wrong. Each raises
  :class:`RateLimited`; let it propagate (it is never recorded for an Idempotency-Key replay).

Cost: one UpdateItem per check and subject, no read. A bucket this process already knows to be empty is refused
without any write. A limit never answers 500: if DynamoDB fails otherwise, the request is refused as transient
(503 with Retry-After, never recorded) and logged; only the per-key request rate (``key_rate``) lets it through.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import db, runtime
from chalicelib.db import keys
from chalicelib.db import ratelimits as ratelimits_db
from chalicelib.domain import signing
from chalicelib.domain.api_keys import secret_part
from chalicelib.domain.ratelimit import (
    SUBJECTS,
    Limits,
    Rate,
    admit,
    epoch_ms,
    is_idle,
    open_holds_wait,
    parse_limits,
)
from chalicelib.errors import RateLimited, Unavailable

log = logging.getLogger("loyalty.limits")

ATTEMPTS = 3  # writes per check at most; only requests racing on one subject ever need a second
TTL_MARGIN_S = 60
PORTAL_KEY_PREFIX = 11  # "lk_" and eight characters of the key
_HINTS_MAX = 10_000

# (pk, limit) -> the bucket's tat as last seen by this process; valid for one runtime (one table, one clock)
_hints: dict[tuple[str, str], int] = {}
_hints_owner: list[object] = []
_hints_lock = threading.Lock()


@dataclass
class _Lease:
    """What this instance holds of one bucket: tokens taken from DynamoDB and not yet spent (``left``), and a
    request admitted before its token was taken (``debt_until``: when that token would be back, epoch ms; 0: none,
    see ``key_rate.per_request``)."""

    left: int = 0
    debt_until: int = 0


_leases: dict[tuple[str, str], _Lease] = {}


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> Limits:
    limits, problems = parse_limits(text)
    for problem in problems:
        log.error("LOYALTY_LIMITS ignored in part: %s", problem)
    return limits


def current() -> Limits:
    """The limits in force: the defaults with ``LOYALTY_LIMITS`` applied."""
    return _parsed(runtime.get().settings.limits)


def subject_key(subject: str, value: str) -> tuple[str, str]:
    """The item of one subject. Keyed with the pepper: the table never shows a phone or an IP, nor lets one be
    found by hashing candidates."""
    return _subject_key(runtime.get().settings.key_pepper, subject, value)


@functools.lru_cache(maxsize=1024)  # the per-key limit asks for the same key's item on every request
def _subject_key(pepper: str, subject: str, value: str) -> tuple[str, str]:
    digest = signing.sign_hex(pepper, subject, value, sep="\x00", length=32)
    return keys.rate_limit(subject, digest)


def check(names: str | Sequence[str], value: str, now: datetime | None = None) -> None:
    """Take one token from each limit in ``names`` (all of one subject kind) for ``value``, or raise
    :class:`RateLimited` (nothing taken). Limits switched off are skipped."""
    wanted = (names,) if isinstance(names, str) else tuple(names)
    limits = current()
    rates = {name: rate for name in wanted if (rate := limits.rate(name)) is not None}
    if not rates:
        return
    subjects = {SUBJECTS[name] for name in rates}
    if len(subjects) != 1:
        raise ValueError(f"limits of one subject only, not {sorted(subjects)}")
    subject = subjects.pop()
    now_ms = epoch_ms(now or runtime.get().clock.now())
    key = subject_key(subject, value)
    db.land_riders()  # the caller's own check first: a refused key must not end in "let through" below
    try:
        _take(key, rates, now_ms, limits.horizon_ms(subject))
    except RateLimited:
        raise
    except ratelimits_db.Hot as exc:
        raise RateLimited("Too many requests right now; retry in a second.", retry_after=1) from exc
    except Exception as exc:
        # These limits guard people (sign-in, codes typed, messages sent, wrong codes): unchecked, they would let
        # guessing and flooding through exactly while the database misbehaves. Refused as transient (503, never
        # recorded: the retry executes). The per-key request rate, which guards capacity, lets through instead.
        log.warning("rate limit %s not checked; refused for now", "+".join(rates), exc_info=True)
        raise Unavailable("A limit could not be checked; nothing was done. Retry shortly.") from exc


def _take(key: tuple[str, str], rates: Mapping[str, Rate], now_ms: int, horizon_ms: int) -> None:
    known = {name: _hint(key, name) for name in rates}
    ttl_s = (now_ms + horizon_ms) // 1000 + TTL_MARGIN_S
    for _ in range(ATTEMPTS):
        verdicts = {name: admit(known[name], now_ms, rate) for name, rate in rates.items()}
        refused = [v for v in verdicts.values() if not v.allowed]
        if refused:  # tat only ever grows: what was seen full is full, without asking DynamoDB again
            wait = max(v.retry_after_s for v in refused)
            names = ", ".join(n for n, v in verdicts.items() if not v.allowed)
            raise RateLimited(f"Too many requests ({names}); retry in {wait} s.", retry_after=wait, limit=names)
        takes = [
            ratelimits_db.Take(name, is_idle(known[name], now_ms), rate.interval_ms, now_ms + rate.tolerance_ms)
            for name, rate in rates.items()
        ]
        written, tats = write_takes(key, takes, now_ms, ttl_s)
        if not written:
            known = {name: tats.get(name) for name in rates}
            continue
        return
    log.warning("rate limit %s: %d racing writes in a row; let through", "+".join(rates), ATTEMPTS)


def write_takes(
    key: tuple[str, str], takes: Sequence[ratelimits_db.Take], now_ms: int, ttl_s: int
) -> tuple[bool, Mapping[str, int]]:
    """One conditional write of ``takes`` to the bucket: (True, the values written), or (False, the values found)
    when another request moved it since it was read. Either way this process remembers what it learnt."""
    try:
        tats = ratelimits_db.take(key, takes, now_ms, ttl_s)
    except ratelimits_db.Stale as stale:
        _remember(key, stale.tats)
        return False, stale.tats
    _remember(key, tats)
    return True, tats


def _owned() -> None:
    """Hints belong to one runtime: ``runtime.configure`` (another table or clock) starts afresh."""
    owner = runtime.get()
    if not _hints_owner or _hints_owner[0] is not owner:
        _hints.clear()
        _leases.clear()
        _hints_owner[:] = [owner]


def _hint(key: tuple[str, str], name: str) -> int | None:
    with _hints_lock:
        _owned()
        return _hints.get((key[0], name))


def _remember(key: tuple[str, str], tats: Mapping[str, int]) -> None:
    with _hints_lock:
        _remember_locked(key, tats)


def _remember_locked(key: tuple[str, str], tats: Mapping[str, int]) -> None:
    _owned()
    if len(_hints) > _HINTS_MAX:
        _hints.clear()
    for name, tat in tats.items():
        _hints[(key[0], name)] = max(tat, _hints.get((key[0], name), tat))


def once(names: str | Sequence[str], value: str | None = None) -> Callable[..., None]:
    """A check made at most once per subject however often it is called (inside a write's ``decide``, which may run
    again); the subject is ``value``, or given when called."""
    done: set[str] = set()

    def charge(subject: str | None = None) -> None:
        key = subject if subject is not None else value
        assert key is not None
        if key not in done:
            check(names, key)
            done.add(key)

    return charge


# --- the named checks -----------------------------------------------------------------------------------------------


def _pair(phone: str, other: str | None) -> str:
    return f"{phone}\x00{other or ''}"


def signin(phone: str, ip: str | None, device: str | None = None) -> None:
    """Before sending a sign-in code to ``phone`` (or an e-mail address): per client IP, then per phone *and*
    address under a higher per-phone ceiling, so that someone typing the customer's phone elsewhere spends only
    their own address's allowance. A browser that signed in to this phone before (``device``) has a bucket of its
    own instead: flooding the phone from many addresses never locks the customer out of her own browser."""
    if ip:
        check("signin_ip", ip)
    if device:
        check("signin_device", _pair(phone, device))
        return
    check("signin_pair", _pair(phone, ip))
    check("signin_phone", phone)


def code_attempt(phone: str, ip: str | None, device: str | None = None) -> None:
    """Before checking a one-time code someone typed for ``phone`` (sign-in or spend): like :func:`signin`, per
    phone and address under a per-phone ceiling, or per known browser. Each code's own attempt limit (a few tries,
    then it is void) is the code's business, not this one's."""
    if ip:
        check("code_ip", ip)
    if device:
        check("code_device", _pair(phone, device))
        return
    check("code_pair", _pair(phone, ip))
    check("code_phone", phone)


def portal_login(ip: str | None, typed_key: str) -> None:
    """Before a partner portal sign-in checks a key: per client address, and per the key's first characters (a
    guess at one key from many addresses). Checked before the key is: a refused attempt learns nothing. The
    characters are the secret's: a partner's key starts with its partner's name, which every key of it shares."""
    typed_key = secret_part(typed_key)
    if ip:
        check("portal_login_ip", ip)
    check("portal_login_prefix", typed_key[:PORTAL_KEY_PREFIX])


def spend_code(customer_id: str, partner_id: str) -> None:
    """Before a partner makes the system send a customer a message (a spend code, a link): per customer and partner
    (``spend_code``), then per customer from all partners (``customer_messages``, a higher ceiling). A partner over
    its own allowance spends nothing of the customer's ceiling, so it cannot lock out another partner's till."""
    check("spend_code", f"{customer_id}\x00{partner_id}")
    check("customer_messages", customer_id)


def wrong_codes_left(key_id: str, now: datetime) -> None:
    """Before judging a customer's code a partner's key typed: ``429 rate_limited`` if the key has used up its
    ``wrong_code`` allowance (a read; nothing is taken). Right codes are refused too: a key that has guessed too
    often learns nothing more from any answer until its bucket refills."""
    rate = current().rate("wrong_code")
    if rate is None:
        return
    db.land_riders()  # the caller's own check first, outside the "let through" below
    try:
        tat = ratelimits_db.read(subject_key(SUBJECTS["wrong_code"], key_id)).get("wrong_code")
    except Exception as exc:  # refused as transient, like check(): a guard against guessing never fails open
        log.warning("rate limit wrong_code not read; refused for now", exc_info=True)
        raise Unavailable("A limit could not be checked; nothing was done. Retry shortly.") from exc
    verdict = admit(tat, epoch_ms(now), rate)
    if not verdict.allowed:
        raise RateLimited(
            f"Too many wrong customer codes from this key; retry in {verdict.retry_after_s} s.",
            retry_after=verdict.retry_after_s,
            limit="wrong_code",
        )


def wrong_code(key_id: str) -> Callable[..., None]:
    """Charge one wrong code to the key (``wrong_code``): call the result for each wrong code; it charges at most
    once however often the write's decision runs."""
    return once("wrong_code", key_id)


def open_holds(holds: Mapping[str, Any], partner_id: str, now: datetime) -> None:
    """Before a new hold: refuse the partner's hold beyond ``open_holds`` open ones on this wallet, with
    ``Retry-After`` = seconds until its earliest hold there expires."""
    cap = current().open_holds
    wait = open_holds_wait(holds, partner_id, now, cap)
    if wait is not None:
        raise RateLimited(
            f"This partner already holds points of this customer {cap} times; capture or void one, or retry in "
            f"{wait} s when the earliest hold expires.",
            retry_after=wait,
            limit="open_holds",
        )
