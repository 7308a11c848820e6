"""A customer's wallet and what time does to it, as pure data.

Time acts lazily: nothing runs when a hold expires, pending points mature or a lot's month ends. Instead
:func:`settle` works out, for a given instant, which of those have happened; a balance read shows the settled
wallet, and every write commits the settlement in the same transaction as its own change. A daily job settles the
customers whose lots expired and who did nothing since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from chalicelib.domain.lots import allocate, refill, split_lot_key
from chalicelib.domain.periods import add_months, period_of, zone
from chalicelib.domain.tiers import ROLLING_MONTHS

HOLD_SEP = "|"


@dataclass(frozen=True)
class Hold:
    points: int
    expires_at: str  # ISO 8601 instant; compared as an instant (``expires``), never as a string
    lots: dict[str, int]
    partner_id: str
    order_id: str


def is_due(iso_instant: str, now: datetime) -> bool:
    """Whether an instant written as ISO 8601 (any offset) is at or before ``now``."""
    return datetime.fromisoformat(iso_instant) <= now


def hold_id(partner_id: str, order_id: str) -> str:
    return f"{partner_id}{HOLD_SEP}{order_id}"


def pending_key(available_at_iso: str, lot: str) -> str:
    return f"{available_at_iso}{HOLD_SEP}{lot}"


def split_pending_key(key: str) -> tuple[str, str]:
    when, _, lot = key.partition(HOLD_SEP)
    return when, lot


@dataclass
class Wallet:
    available: int = 0
    pending: int = 0
    held: int = 0
    lots: dict[str, int] = field(default_factory=dict)
    spend: dict[str, int] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    pending_lots: dict[str, int] = field(default_factory=dict)
    bonus_days: dict[str, int] = field(default_factory=dict)
    last_purchase: dict[str, str] = field(default_factory=dict)
    campaign_awards: dict[str, int] = field(default_factory=dict)
    # How the storage holds this wallet as read (opaque here): carried into every wallet a change derives from it,
    # so the write is spelled against the very item its decision read. Never part of a wallet's value.
    stored_as: object = field(default=None, compare=False, repr=False)

    @property
    def total(self) -> int:
        return self.available + self.pending + self.held

    @staticmethod
    def of(
        available: int,
        pending: int,
        held: int,
        lots: dict[str, int],
        spend: dict[str, int],
        holds: dict[str, Hold],
        pending_lots: dict[str, int],
        bonus_days: dict[str, int],
        last_purchase: dict[str, str],
        campaign_awards: dict[str, int],
        stored_as: object,
    ) -> Wallet:
        """``Wallet(...)`` of every field in order, without ``__init__`` (two per request); the same fields stored."""
        wallet: Wallet = object.__new__(Wallet)
        wallet.__dict__ = {
            "available": available,
            "pending": pending,
            "held": held,
            "lots": lots,
            "spend": spend,
            "holds": holds,
            "pending_lots": pending_lots,
            "bonus_days": bonus_days,
            "last_purchase": last_purchase,
            "campaign_awards": campaign_awards,
            "stored_as": stored_as,
        }
        return wallet


def _plus(base: dict[str, int], delta: dict[str, int]) -> dict[str, int]:
    out = dict(base)
    if not delta:  # most maps of most changes are empty: the copy is all
        return out
    for key, d in delta.items():
        out[key] = out.get(key, 0) + d
    return out


def _without(counts: dict[str, int], gone: Iterable[str]) -> dict[str, int]:
    for key in gone:
        counts.pop(key, None)
    return counts


_COUNTS = frozenset({"available", "pending", "held"})  # a change's numbers; ``_SETS`` its sets, the rest dicts
_SETS = frozenset({"remove_holds", "drop_spend", "drop_bonus_days"})


@dataclass
class Change:
    """A change of one wallet. Lots, spend, pending buckets and bonus counters are deltas; holds are added/removed."""

    available: int = 0
    pending: int = 0
    held: int = 0
    lots: dict[str, int] = field(default_factory=dict)
    spend: dict[str, int] = field(default_factory=dict)
    pending_lots: dict[str, int] = field(default_factory=dict)
    remove_pending: dict[str, int] = field(default_factory=dict)  # bucket -> exact points it must still hold
    add_holds: dict[str, Hold] = field(default_factory=dict)
    remove_holds: set[str] = field(default_factory=set)
    replace_holds: dict[str, Hold] = field(default_factory=dict)  # an open hold made smaller (a refund meets it)
    bonus_days: dict[str, int] = field(default_factory=dict)
    bonus_limits: dict[str, int] = field(default_factory=dict)
    last_purchase: dict[str, str] = field(default_factory=dict)  # partner id -> ISO time (set, not added)
    campaign_awards: dict[str, int] = field(default_factory=dict)
    campaign_limits: dict[str, int] = field(default_factory=dict)
    # What leaves the stored item with this write (see ``tidy``): lot -> the points it holds as read (this write's
    # own delta empties it), and counters no window reads any more. The ledger entry never records these.
    drop_lots: dict[str, int] = field(default_factory=dict)
    drop_spend: set[str] = field(default_factory=set)
    drop_bonus_days: set[str] = field(default_factory=set)

    def add_lot(self, key: str, points: int) -> None:
        if points:
            self.lots[key] = self.lots.get(key, 0) + points

    def merge(self, other: Change) -> Change:
        # Each map copied once: the additive ones summed into their copy (``_plus``), the others joined.
        return Change(
            available=self.available + other.available,
            pending=self.pending + other.pending,
            held=self.held + other.held,
            lots=_plus(self.lots, other.lots),
            spend=_plus(self.spend, other.spend),
            pending_lots=_plus(self.pending_lots, other.pending_lots),
            remove_pending={**self.remove_pending, **other.remove_pending},
            add_holds={**self.add_holds, **other.add_holds},
            remove_holds=self.remove_holds | other.remove_holds,
            replace_holds={**self.replace_holds, **other.replace_holds},
            bonus_days=_plus(self.bonus_days, other.bonus_days),
            bonus_limits={**self.bonus_limits, **other.bonus_limits},
            last_purchase={**self.last_purchase, **other.last_purchase},
            campaign_awards=_plus(self.campaign_awards, other.campaign_awards),
            campaign_limits={**self.campaign_limits, **other.campaign_limits},
            drop_lots={**self.drop_lots, **other.drop_lots},
            drop_spend=self.drop_spend | other.drop_spend,
            drop_bonus_days=self.drop_bonus_days | other.drop_bonus_days,
        )

    def copy(self) -> Change:
        """The same change with maps of its own: ``merge`` with an empty change, without its sums."""
        out: Change = object.__new__(Change)
        out.__dict__ = {k: v if k in _COUNTS else set(v) if k in _SETS else dict(v) for k, v in self.__dict__.items()}
        return out

    def applied_to(self, wallet: Wallet) -> Wallet:
        pending_lots = _plus(wallet.pending_lots, self.pending_lots)
        for key in self.remove_pending:
            pending_lots.pop(key, None)
        remove_holds = self.remove_holds
        holds = {k: v for k, v in wallet.holds.items() if k not in remove_holds} if remove_holds else dict(wallet.holds)
        holds.update(self.add_holds)
        if self.replace_holds:
            holds.update({k: v for k, v in self.replace_holds.items() if k in holds})
        return Wallet.of(
            wallet.available + self.available,
            wallet.pending + self.pending,
            wallet.held + self.held,
            _without(_plus(wallet.lots, self.lots), self.drop_lots),
            _without(_plus(wallet.spend, self.spend), self.drop_spend),
            holds,
            pending_lots,
            _without(_plus(wallet.bonus_days, self.bonus_days), self.drop_bonus_days),
            {**wallet.last_purchase, **self.last_purchase},
            _plus(wallet.campaign_awards, self.campaign_awards),
            wallet.stored_as,
        )


@dataclass(frozen=True)
class Event:
    """Something time did: the wallet change it makes and how the ledger should record it."""

    type: str  # "hold_expired" | "matured" | "expiry"
    partner_id: str
    change: Change
    ref: str


def settle(wallet: Wallet, now: datetime, tz_name: str, max_events: int = 10) -> list[Event]:
    """What has happened to ``wallet`` by ``now``: expired holds are released, due pending points mature, and lots
    whose month has ended expire (in that order, so points a hold returns to an ended month expire too).
    At most ``max_events`` per call keeps one transaction small; the rest settles on the next write."""
    events: list[Event] = []
    state = wallet
    for hid, hold in sorted(wallet.holds.items()) if wallet.holds else ():
        if is_due(hold.expires_at, now) and len(events) < max_events:
            change = Change(available=hold.points, held=-hold.points, remove_holds={hid})
            for key, points in hold.lots.items():
                change.add_lot(key, points)
            events.append(Event("hold_expired", hold.partner_id, change, hid))
    for event in events:
        state = event.change.applied_to(state)
    for key, points in sorted(wallet.pending_lots.items()) if wallet.pending_lots else ():
        when, lot = split_pending_key(key)
        if is_due(when, now) and len(events) < max_events:
            change = Change(available=points, pending=-points, remove_pending={key: points})
            change.add_lot(lot, points)
            events.append(Event("matured", split_lot_key(lot)[1], change, key))
            state = change.applied_to(state)
    # Every ended lot expires in one event (one entry, one transaction item) and is never cut off by max_events:
    # the write deciding after this must not see expired points as spendable. Capped holds and buckets only err
    # on the safe side (still held, still pending).
    expired = expiry(sorted(state.lots.items()), period_of(now, tz_name))
    if expired is not None and expired.available:
        events.append(Event("expiry", "coalition", expired, "expiry"))
    return events


def expiry(lots: Iterable[tuple[str, int]], period: str) -> Change | None:
    """The change that expires the points of each ``(lot, points)`` whose month ended before ``period``; None when
    none did (most writes: then no change is made)."""
    expired: Change | None = None
    for lot, points in lots:
        if points > 0 and split_lot_key(lot)[0] < period:
            expired = expired or Change()
            expired.available -= points
            expired.add_lot(lot, -points)
    return expired


def fits_one_write(wallet: Wallet, now: datetime, tz_name: str, max_events: int) -> bool:
    """Whether everything time did to ``wallet`` can be posted within one write's ``max_events`` (expiry is one
    more event on top, always posted whole)."""
    if not wallet.holds and not wallet.pending_lots:  # then time can only expire lots: one event, always posted
        return True
    return len([e for e in settle(wallet, now, tz_name, max_events=max_events + 1) if e.type != "expiry"]) <= max_events


def as_of(wallet: Wallet, now: datetime, tz_name: str) -> Wallet:
    """``settled(...)[0]`` for a reader (a balance): the wallet itself, not a copy, when time did nothing to it;
    the caller must not change it."""
    events = settle(wallet, now, tz_name, max_events=10_000)
    if not events:
        return wallet
    total = Change()
    for event in events:
        total = total.merge(event.change)
    return total.applied_to(wallet)


def settled(wallet: Wallet, now: datetime, tz_name: str) -> tuple[Wallet, Change, list[Event]]:
    """The wallet as of ``now``, the combined change that gets it there, and the events behind it."""
    events = settle(wallet, now, tz_name, max_events=10_000)
    total = Change()
    for event in events:
        total = total.merge(event.change)
    return total.applied_to(wallet), total, events


def earn(points: int, lot: str, bucket: str = "") -> Change:
    """Earned points: into their pending ``bucket`` when they wait (``pending_key``), else available in ``lot``."""
    if bucket:
        return Change(pending=points, pending_lots={bucket: points} if points else {})
    return Change(available=points, lots={lot: points} if points else {})


def credited_months(change: Change) -> set[str]:
    """The expiry months (``YYYY-MM``) whose points ``change`` credits, available or pending: the customers the
    expiry job must look at when those months end."""
    credited = {split_lot_key(k)[0] for k, d in change.lots.items() if d > 0}
    credited |= {split_lot_key(split_pending_key(k)[1])[0] for k, d in change.pending_lots.items() if d > 0}
    return credited


def mature_now(wallet: Wallet) -> Change:
    """Every pending bucket matures at once, into the lot it was earned for (a deleted account's pending points,
    which then expire with its available ones)."""
    change = Change()
    for key, points in sorted(wallet.pending_lots.items()):
        _, lot = split_pending_key(key)
        change.available += points
        change.pending -= points
        change.remove_pending[key] = points
        change.add_lot(lot, points)
    return change


def take(wallet: Wallet, points: int) -> Change:
    """Spend ``points`` from available lots, earliest expiry first (raises ValueError when there are too few)."""
    change = Change(available=-points)
    for key, n in allocate(wallet.lots, points):
        change.add_lot(key, -n)
    return change


def resolve_hold(hold_key: str, hold: Hold, keep: int) -> tuple[Change, dict[str, int]]:
    """End a hold keeping ``keep`` of its points (a capture; 0 voids it): the rest go back to the latest-expiring
    lots the hold took them from, so the capture keeps the earliest ones. Returns the wallet change and the lots the
    kept points came from."""
    released = hold.points - keep
    change = Change(held=-hold.points, available=released, remove_holds={hold_key})
    kept = dict(hold.lots)
    for key, points in refill(sorted(hold.lots.items(), reverse=True), {}, released):
        change.add_lot(key, points)
        kept[key] -= points
    return change, {k: v for k, v in kept.items() if v}


TIDY_PER_WRITE = 10  # stale map keys one write removes besides the lots it empties itself (the rest: later writes)
KEYS_PER_WRITE = 60  # map keys one update may name and stay well inside DynamoDB's 4 KB expression limit


def tidy(after: Wallet, change: Change, now: datetime, tz_name: str) -> Change:
    """``change`` (which takes the wallet as read to ``after``) plus what leaves the stored item with it, so the item
    keeps only working state and its write units stay flat however long the customer stays:

    - every lot the change empties (spent, expired, reversed, all into a hold): removed instead of set to 0, under
      the guard that it still holds exactly what was read (as strict as ``lot >= n``: a concurrent spend or credit
      of that lot cancels the write, which is decided again);
    - lots at 0 as read (left by older writes), guarded by still being 0 or gone;
    - monthly spend before the tier window (nothing reads it; refunds take spend off the current month) and bonus
      counters of days before yesterday (the cap counts today only; a day's margin spares an instance whose clock
      lags over midnight).

    The stale keys are at most ``TIDY_PER_WRITE`` per write (oldest first) and never push the update past
    ``KEYS_PER_WRITE`` names; the rest leave with later writes. The ledger is unaffected: entries record
    ``change``'s deltas, never what was removed. When nothing leaves, the answer is ``change`` itself; otherwise a
    copy (``change`` is never changed)."""
    touched = {k for k, d in change.lots.items() if d} if change.lots else set()
    drop_lots = {k: -change.lots[k] for k in touched if after.lots.get(k) == 0 and change.lots[k] < 0}
    named = (
        len(touched)
        + len(change.spend)
        + len(change.pending_lots)
        + len(change.remove_pending)
        + len(change.add_holds)
        + len(change.remove_holds)
        + len(change.replace_holds)
        + len(change.bonus_days)
        + len(change.last_purchase)
        + len(change.campaign_awards)
    )
    room = max(0, min(TIDY_PER_WRITE, KEYS_PER_WRITE - named))
    stale: list[tuple[str, str]] = []  # (what, key), oldest first within each kind
    if room:
        if 0 in after.lots.values():  # (sorting only when some lot is at 0)
            stale += [("lot", k) for k, v in sorted(after.lots.items()) if v == 0 and k not in touched]
        if after.spend:
            first_month = add_months(period_of(now, tz_name), -(ROLLING_MONTHS - 1))
            if min(after.spend) < first_month:  # (sorting only when some month is out of the window)
                stale += [("spend", k) for k in sorted(after.spend) if k < first_month and k not in change.spend]
        if after.bonus_days:
            oldest_day = now.astimezone(zone(tz_name)).date() - timedelta(days=1)
            days = change.bonus_days
            stale += [("bonus", k) for k in sorted(after.bonus_days) if _day(k) < oldest_day and k not in days]
    if not drop_lots and not stale:  # nothing leaves with this write: the change as it is (never changed here)
        return change
    out = change.copy()
    out.drop_lots.update(drop_lots)
    for what, key in stale[:room]:
        if what == "lot":
            out.drop_lots[key] = 0
        elif what == "spend":
            out.drop_spend.add(key)
        else:
            out.drop_bonus_days.add(key)
    return out


def _day(bonus_key: str) -> date:
    """The day of a bonus counter ``"<YYYY-MM-DD>|<reason>"``."""
    return date.fromisoformat(bonus_key.partition(HOLD_SEP)[0])
