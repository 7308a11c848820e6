"""A pure reference model of the program, written from the contract and the docs, independent of chalicelib.

It knows nothing of DynamoDB, lazy settlement or transactions: just customers' lots, pending buckets and holds,
orders (one customer, one amount, what they earned and what they spent), what every operation and the passing of time
do to them, and what each operation adds to each partner's settlement for the month. The stateful test feeds it the
same operations as the service and compares the two after every step.

Rules written down here:

- An order (``order_id`` within a partner) has one customer and one amount, fixed by its first operation; another
  customer or amount is ``order_conflict``, and so is anything new once it has refunds.
- An accrual on an order that spends points (an open hold, or a capture) earns on the part paid in money: the
  order's amount less those points at the point value.
- The same operation again on an order (an accrual, or a redemption, with the same ``order_id``) is the natural id's
  business, kept by the test, not here: the id is bound to its first success, which the same body gets again and
  another body gets as ``duplicate_order``; a refused attempt binds only its own body (README, "Idempotency").
- A refund moves the refunded total from ``before`` to ``after``. Each earned part ``g`` (the base accrual, funded by
  the till; each campaign award, funded by its sponsor) is reversed by ``g*after//A - g*before//A``, out of its
  pending bucket while that still holds points, else out of its lot; what is not there is the shortfall. Spent points
  come back: ``min(max(spent*after//A - returned, 0), outstanding)`` where ``spent`` is what the order spends now,
  out of the open hold (latest-expiring lots first; emptied, the redemption is ``refunded``) or out of the captured
  lots (earliest first).
- A redemption takes at most the partner's share of the order (in whole points) and what is available, earliest
  expiry first; the quote's ``max_points`` is the lesser of the two.
- Holds are over at their deadline as an instant. Time releases holds, then matures pending buckets, then expires the
  lots of ended months.
- Settlement, per partner per month of the operation: accruals and bonuses are issued at the till, awards are funded
  by their sponsor, spent points are accepted at the till when captured; a refund adds what it took of the base to
  ``issued_reversed``, relieves the award's sponsor of the whole share and charges the till what the customer had
  already spent of it (``issued += share - taken``); captured points given back are ``accepted_refunded``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
TIERS = [(0, 10_000), (3_000_000, 12_500), (10_000_000, 15_000)]  # min 12-month spend (kopecks), multiplier bps
DAILY = {"review": 1, "referral": 5}
POINT_MINOR = 100  # one point is worth 1 rouble
BPS = 10_000
STATEMENT = (
    "issued_points",
    "issued_reversed_points",
    "promo_points_funded",
    "accepted_points",
    "accepted_refunded_points",
    "net_points",
)


CODE_MINUTES = 10  # a sent spend code lasts this long, and so does a count of wrong tries from its first
MAX_TRIES = 5
SLOT_MINUTES = 10  # the code-free allowance is counted in slots of this length
MAX_PRUNE = 24  # stale slots one code-free write removes


def month(t: datetime) -> tuple[int, int]:
    local = t.astimezone(MOSCOW)
    return local.year, local.month


def plus_months(m: tuple[int, int], n: int) -> tuple[int, int]:
    i = m[0] * 12 + m[1] - 1 + n
    return i // 12, i % 12 + 1


def label(m: tuple[int, int]) -> str:
    return f"{m[0]:04d}-{m[1]:02d}"


def share(total: int, before: int, after: int, whole: int) -> int:
    return total * after // whole - total * before // whole


def _add(lots: dict, key: object, n: int) -> None:
    lots[key] = lots.get(key, 0) + n


def _move(source: dict[str, int], order: list[str], points: int) -> list[tuple[str, int]]:
    """Take ``points`` out of ``source`` visiting its keys in ``order``; returns what came from where."""
    moved, left = [], points
    for key in order:
        n = min(source.get(key, 0), left)
        if n > 0:
            moved.append((key, n))
            source[key] -= n
            left -= n
    assert left == 0, (source, points)
    for key in [k for k, v in source.items() if v == 0]:
        del source[key]
    return moved


@dataclass
class Grant:
    """One part of what an order earned."""

    kind: str  # "base" | "award"
    ref: str  # the till for the base, the campaign id for an award
    funder: str
    points: int
    lot: str
    bucket: tuple[datetime, str] | None  # the pending bucket it landed in, None when available at once


@dataclass
class Spent:
    """What an order spent: ``points`` is what it spends now (given back included), ``lots`` what is still out of
    the wallet for it (held or captured)."""

    status: str  # held | captured | voided | expired | refunded
    points: int
    lots: dict[str, int]
    returned: int = 0
    expires: datetime | None = None

    @property
    def outstanding(self) -> int:
        return sum(self.lots.values())


@dataclass
class Order:
    partner: str
    order_id: str
    customer: str
    amount: int
    refunded: int = 0
    grants: list[Grant] = field(default_factory=list)
    accrued: bool = False
    spent: Spent | None = None

    def spent_now(self, now: datetime) -> int:
        s = self.spent
        if (
            s is None
            or s.status not in ("held", "captured")
            or (s.status == "held" and s.expires is not None and s.expires <= now)
        ):
            return 0
        return s.points - s.returned

    def conflicts(self, customer: str, amount: int) -> bool:
        return customer != self.customer or amount != self.amount or self.refunded > 0


@dataclass
class Customer:
    lots: dict[str, int] = field(default_factory=dict)
    buckets: dict[tuple[datetime, str], int] = field(default_factory=dict)
    holds: dict[tuple[str, str], Order] = field(default_factory=dict)  # open holds, by (partner, order id)
    spend: dict[str, int] = field(default_factory=dict)
    bonus_days: dict[str, int] = field(default_factory=dict)
    awards: dict[str, int] = field(default_factory=dict)  # campaign id -> awards received

    def balance(self) -> tuple[int, int, int]:
        held = sum(o.spent.outstanding for o in self.holds.values() if o.spent)
        return sum(self.lots.values()), sum(self.buckets.values()), held


@dataclass
class Campaign:
    """One fixed-reward campaign: earned at ``earn_at``, funded by ``sponsor``, capped by budget and per customer."""

    campaign_id: str
    sponsor: str
    earn_at: tuple[str, ...]
    points: int
    budget: int
    per_customer: int
    used: int = 0


@dataclass
class Earned:
    points: int
    awards: dict[str, int]  # campaign id -> points
    pending: bool


@dataclass
class Refunded:
    reversed: int
    shortfall: int
    returned: int
    awards: dict[str, int]  # campaign id -> share reversed
    award_shortfall: int  # what the customer had already spent of the reversed awards
    from_hold: bool  # the points came back out of an open hold


@dataclass(frozen=True)
class Policy:
    """When a partner needs the customer's code: ``kind`` always | above | never; ``ceiling`` is above's N."""

    kind: str = "always"
    ceiling: int = 0
    hold_minutes: int = 30  # the longest hold made without a code (code_free_hold_minutes)

    def needs_code(self, points: int, used: int, hold_minutes: int | None) -> bool:
        if hold_minutes is not None and hold_minutes > self.hold_minutes:
            return True
        return {"never": False, "above": used + points > self.ceiling}.get(self.kind, True)

    def refusal(self, used: int) -> dict[str, int]:
        """What the 403 tells the till it may still do without a code."""
        if self.kind == "always":
            return {}
        left = {"code_free_points_left": max(0, self.ceiling - used)} if self.kind == "above" else {}
        return {"code_free_hold_minutes": self.hold_minutes, **left}


@dataclass(frozen=True)
class SentCode:
    """The code a partner's till asked for, as the customer received it."""

    code: str
    points: int  # the most it confirms
    expires: datetime
    generation: int  # which code this is (a count of wrong tries belongs to one)


@dataclass(frozen=True)
class Tries:
    generation: int | None  # the partner's code the count is for (None: it had none)
    count: int
    expires: datetime


@dataclass(frozen=True)
class Redeemed:
    """A redemption's answer: ``outcome`` (captured | held | an error code), the error's extra fields (or the
    Retry-After of a lock, as ``retry_after``), and whether the customer is told of a spend without her code."""

    outcome: str
    extra: dict[str, int] = field(default_factory=dict)
    notice: bool = False
    with_code: bool = False
    pruned: int = 0  # stale code-free slots the write removed (time freed the allowance)


class Model:
    def __init__(
        self, partners: list[tuple[str, int, int]], now: datetime, policies: dict[str, Policy] | None = None
    ) -> None:
        self.partners = {pid: (rate, pending_days) for pid, rate, pending_days in partners}
        self.policies = {pid: (policies or {}).get(pid, Policy()) for pid in self.partners}
        self.codes: dict[tuple[str, str], SentCode] = {}  # (partner, customer) -> the live code it asked for
        self.tries: dict[tuple[str, str], Tries] = {}
        self.code_free: dict[tuple[str, str], dict[datetime, int]] = {}  # (partner, customer) -> slot -> points
        self.generations = 0
        self.share_bps = dict.fromkeys(self.partners, BPS)
        self.customers: dict[str, Customer] = {}
        self.orders: dict[tuple[str, str], Order] = {}
        self.now = now
        self.campaigns: list[Campaign] = []
        self.figures: dict[tuple[str, str], Counter[str]] = {}  # (partner, YYYY-MM) -> settlement counts
        self.released: Counter[str] = Counter()  # customer -> holds released by time since its last write
        self.catch_ups = 0  # writes that found more than 10 released holds to post first

    # --- time ---------------------------------------------------------------------------------------------------
    def settle(self) -> int:
        """Apply what time did; returns the most holds one customer had released at once."""
        current = label(month(self.now))
        most = 0
        for cid, c in self.customers.items():
            released = 0
            for key, order in list(c.holds.items()):
                spent = order.spent
                assert spent is not None and spent.expires is not None
                if spent.expires <= self.now:
                    for lot, n in spent.lots.items():
                        _add(c.lots, lot, n)
                    order.spent = Spent("expired", spent.returned, {}, spent.returned)
                    del c.holds[key]
                    released += 1
            self.released[cid] += released
            most = max(most, released)
            for (when, lot), n in sorted(c.buckets.items()):
                if when <= self.now:
                    _add(c.lots, lot, n)
                    del c.buckets[(when, lot)]
            for lot in list(c.lots):
                if lot.split("|")[0] < current or c.lots[lot] == 0:
                    del c.lots[lot]
        return most

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def period(self) -> str:
        return label(month(self.now))

    def _count(self, partner: str, name: str, n: int) -> None:
        if n:
            self.figures.setdefault((partner, self.period()), Counter())[name] += n

    def statement(self, partner: str, period: str) -> dict[str, int]:
        f = self.figures.get((partner, period), Counter())
        promo = f["promo_points_funded"] - f["promo_points_reversed"]
        issued_net = f["issued_points"] - f["issued_reversed_points"]
        return {
            "issued_points": f["issued_points"],
            "issued_reversed_points": f["issued_reversed_points"],
            "promo_points_funded": promo,
            "accepted_points": f["accepted_points"],
            "accepted_refunded_points": f["accepted_refunded_points"],
            "net_points": f["accepted_points"] - f["accepted_refunded_points"] - issued_net - promo,
        }

    def periods(self) -> set[str]:
        return {period for _, period in self.figures}

    # --- operations ---------------------------------------------------------------------------------------------
    def _write(self, cid: str) -> int:
        """A write on the customer: it posts whatever time did first. Returns how many released holds it posts."""
        self.settle()
        released = self.released.pop(cid, 0)
        self.catch_ups += released > 10
        return released

    def _tier_multiplier(self, c: Customer) -> int:
        current = month(self.now)
        spent = max(sum(c.spend.get(label(plus_months(current, -i)), 0) for i in range(12)), 0)
        return max(mult for minimum, mult in TIERS if spent >= minimum)

    def _lot(self, issuer: str, available_at: datetime | None = None) -> str:
        """Points live 12 months after the month they can be spent from (a return window's end, when they wait)."""
        return f"{label(plus_months(month(available_at or self.now), 12))}|{issuer}"

    def enrol(self, cid: str) -> None:
        self.customers[cid] = Customer()

    def cap(self, partner: str, amount: int) -> int:
        return amount * self.share_bps[partner] // BPS // POINT_MINOR

    def quote(self, partner: str, cid: str, amount: int) -> tuple[int, int]:
        self.settle()
        available = sum(self.customers[cid].lots.values())
        return available, max(0, min(self.cap(partner, amount), available))

    def earn(self, partner: str, cid: str, order_id: str, amount: int) -> Earned | str:
        order = self.orders.get((partner, order_id))
        if order is not None and order.conflicts(cid, amount):
            return "order_conflict"
        assert order is None or not order.accrued, "a repeated accrual is the natural id's business"
        self._write(cid)
        c = self.customers[cid]
        rate, pending_days = self.partners[partner]
        # A receipt paid partly in points earns on the part paid in money: the receipt total less the points the
        # order spends now (an open hold's or a capture's, at the point value), floored like any accrual.
        money = max(amount - (order.spent_now(self.now) if order is not None else 0) * POINT_MINOR, 0)
        points = (money * rate // BPS // POINT_MINOR) * self._tier_multiplier(c) // BPS
        when = self.now + timedelta(days=pending_days) if pending_days else None

        def land(points: int, lot: str) -> tuple[datetime, str] | None:
            if when is None:
                _add(c.lots, lot, points)
                return None
            _add(c.buckets, (when, lot), points)
            return when, lot

        lot = self._lot(partner, when)
        grants = [Grant("base", partner, partner, points, lot, land(points, lot))]
        self._count(partner, "issued_points", points)
        awards: dict[str, int] = {}
        for camp in sorted(self.campaigns, key=lambda k: k.campaign_id):
            if partner not in camp.earn_at or c.awards.get(camp.campaign_id, 0) >= camp.per_customer:
                continue
            got = min(camp.points, camp.budget - camp.used)
            if got <= 0:
                continue
            camp.used += got
            c.awards[camp.campaign_id] = c.awards.get(camp.campaign_id, 0) + 1
            lot = self._lot(camp.sponsor, when)
            grants.append(Grant("award", camp.campaign_id, camp.sponsor, got, lot, land(got, lot)))
            awards[camp.campaign_id] = got
            self._count(camp.sponsor, "promo_points_funded", got)
        for key in [k for k, v in c.buckets.items() if v == 0]:
            del c.buckets[key]
        for key in [k for k, v in c.lots.items() if v == 0]:
            del c.lots[key]
        _add(c.spend, self.period(), amount)
        order = order or self.orders.setdefault((partner, order_id), Order(partner, order_id, cid, amount))
        order.grants, order.accrued = grants, True
        return Earned(points, awards, when is not None)

    # --- the customer's consent ---------------------------------------------------------------------------------
    def send_code(self, partner: str, cid: str, code: str, points: int | None) -> SentCode:
        """The partner's till asked for a code (``points``: the most it may confirm; None: what she has now); it
        replaces the partner's previous code for this customer."""
        self.settle()
        self.generations += 1
        most = sum(self.customers[cid].lots.values()) if points is None else points
        expires = (self.now + timedelta(minutes=CODE_MINUTES)).replace(microsecond=0)
        sent = self.codes[(partner, cid)] = SentCode(code, most, expires, self.generations)
        return sent

    def live_code(self, partner: str, cid: str) -> SentCode | None:
        sent = self.codes.get((partner, cid))
        return sent if sent is not None and self.now < sent.expires else None

    def _slots(self, partner: str, cid: str) -> tuple[dict[datetime, int], dict[datetime, int]]:
        """The partner's code-free slots for the customer, and those the next write prunes (oldest stale first)."""
        slots = self.code_free.get((partner, cid), {})
        stale = sorted(k for k in slots if k + timedelta(minutes=SLOT_MINUTES, hours=24) <= self.now)
        return slots, {k: slots[k] for k in stale[:MAX_PRUNE]}

    def code_free_used(self, partner: str, cid: str) -> int:
        slots, pruned = self._slots(partner, cid)
        return sum(slots.values()) - sum(pruned.values())

    def _judge(self, partner: str, cid: str, code: str, points: int) -> Redeemed | None:
        """A code sent with a redemption that is otherwise sure to happen: None when it confirms the spend (it is
        used up), else the refusal (a wrong try counted where it is one)."""
        key = (partner, cid)
        sent = self.codes.get(key)
        generation = sent.generation if sent is not None else None
        tries = self.tries.get(key)
        if tries is not None and (tries.generation != generation or self.now >= tries.expires):
            tries = None
        count = tries.count if tries is not None else 0
        if count >= MAX_TRIES:
            assert tries is not None
            return Redeemed("customer_code_locked", {"retry_after": self._seconds_until(tries.expires)})
        if sent is not None and sent.code == code and self.now < sent.expires:
            if points > sent.points:
                return Redeemed("customer_code_invalid", {"confirmed_points": sent.points})
            del self.codes[key]
            return None
        expires = tries.expires if tries is not None else self.now + timedelta(minutes=CODE_MINUTES)
        self.tries[key] = Tries(generation, count + 1, expires)
        if count + 1 >= MAX_TRIES:
            return Redeemed("customer_code_locked", {"retry_after": self._seconds_until(expires)})
        return Redeemed("customer_code_invalid")

    def _seconds_until(self, moment: datetime) -> int:
        return max(1, -(-int((moment - self.now).total_seconds() * 1000) // 1000))

    def spend(
        self,
        partner: str,
        cid: str,
        order_id: str,
        amount: int,
        points: int,
        capture: bool,
        minutes: int,
        code: str | None = None,
    ) -> Redeemed:
        """Outcomes: 'captured' | 'held' | 'customer_confirmation_required' | 'order_conflict' |
        'redemption_cap_exceeded' | 'insufficient_points' | 'customer_code_invalid' | 'customer_code_locked'."""
        self.settle()
        policy = self.policies[partner]
        used = self.code_free_used(partner, cid)
        needs_code = policy.needs_code(points, used, None if capture else minutes)
        if needs_code and code is None:
            return Redeemed("customer_confirmation_required", policy.refusal(used))
        order = self.orders.get((partner, order_id))
        if order is not None and order.conflicts(cid, amount):
            return Redeemed("order_conflict")
        assert order is None or order.spent is None, "a repeated redemption is the natural id's business"
        c = self.customers[cid]
        if points > self.cap(partner, amount):
            return Redeemed("redemption_cap_exceeded")
        if points > sum(c.lots.values()):
            return Redeemed("insufficient_points")
        if code is not None:  # a code that is sent is always checked, whatever the policy
            refused = self._judge(partner, cid, code, points)
            if refused is not None:
                return refused
        self._write(cid)
        pruned = 0
        if code is None and policy.kind == "above":
            slots, stale = self._slots(partner, cid)
            for k in stale:
                del slots[k]
            pruned = len(stale)
            start = self.now.astimezone(UTC)
            start = start.replace(minute=start.minute - start.minute % SLOT_MINUTES, second=0, microsecond=0)
            _add(slots, start, points)
            self.code_free[(partner, cid)] = slots
        taken = dict(_move(c.lots, sorted(c.lots), points))
        order = order or self.orders.setdefault((partner, order_id), Order(partner, order_id, cid, amount))
        told = code is None
        if capture:
            order.spent = Spent("captured", points, taken)
            self._count(partner, "accepted_points", points)
            return Redeemed("captured", notice=told, with_code=not told, pruned=pruned)
        order.spent = Spent("held", points, taken, expires=self.now + timedelta(minutes=minutes))
        c.holds[(partner, order_id)] = order
        return Redeemed("held", notice=told, with_code=not told, pruned=pruned)

    def hold_points(self, partner: str, order_id: str) -> int:
        """What the order's hold holds now (0 when it is not an open hold, or time ended it)."""
        order = self.orders.get((partner, order_id))
        if order is None or order.spent is None or order.spent.status != "held":
            return 0
        assert order.spent.expires is not None
        return order.spent.outstanding if order.spent.expires > self.now else 0

    def _resolve(self, partner: str, order_id: str) -> tuple[Order, Spent, Customer] | str:
        order = self.orders[(partner, order_id)]
        self._write(order.customer)
        spent = order.spent
        assert spent is not None
        if spent.status == "expired":
            return "hold_expired"
        if spent.status != "held":
            return "hold_already_resolved"
        return order, spent, self.customers[order.customer]

    def capture(self, partner: str, order_id: str, points: int | None) -> tuple[str, int]:
        """('captured', kept) | ('too_many' | 'hold_expired' | 'hold_already_resolved', 0)"""
        found = self._resolve(partner, order_id)
        if isinstance(found, str):
            return found, 0
        order, spent, c = found
        keep = spent.outstanding if points is None else points
        if keep > spent.outstanding:
            return "too_many", 0
        # released points go back to the latest-expiring lots, so the capture keeps the earliest
        for lot, n in _move(spent.lots, sorted(spent.lots, reverse=True), spent.outstanding - keep):
            _add(c.lots, lot, n)
        order.spent = Spent("captured", spent.returned + keep, spent.lots, spent.returned)
        del c.holds[(partner, order_id)]
        self._count(partner, "accepted_points", keep)
        return "captured", keep

    def void(self, partner: str, order_id: str) -> tuple[str, int]:
        """('voided', released) | ('hold_expired' | 'hold_already_resolved', 0)"""
        found = self._resolve(partner, order_id)
        if isinstance(found, str):
            return found, 0
        order, spent, c = found
        released = spent.outstanding
        for lot, n in spent.lots.items():
            _add(c.lots, lot, n)
        order.spent = Spent("voided", spent.returned, {}, spent.returned)
        del c.holds[(partner, order_id)]
        return "voided", released

    def refund(self, partner: str, order_id: str, amount: int) -> Refunded | str:
        """The refund's figures, or 'order_not_found' | 'refund_exceeds_order'."""
        order = self.orders.get((partner, order_id))
        if order is None:
            return "order_not_found"
        self._write(order.customer)
        c = self.customers[order.customer]
        whole, before, after = order.amount, order.refunded, order.refunded + amount
        if after > whole:
            return "refund_exceeds_order"
        given, from_hold = 0, False
        spent = order.spent
        if spent is not None and spent.status in ("held", "captured"):
            given = min(max(spent.points * after // whole - spent.returned, 0), spent.outstanding)
            from_hold = spent.status == "held"
            # out of the hold latest-expiring first (a later capture keeps the earliest), out of captured lots
            # earliest first
            for lot, n in _move(spent.lots, sorted(spent.lots, reverse=from_hold), given):
                _add(c.lots, lot, n)
            spent.returned += given
            if from_hold and not spent.lots:
                spent.status = "refunded"
                del c.holds[(partner, order_id)]
            if not from_hold:
                self._count(partner, "accepted_refunded_points", given)
        if order.accrued:
            _add(c.spend, self.period(), -share(whole, before, after, whole))
        reversed_ = taken_all = award_shortfall = 0
        awards: dict[str, int] = {}
        for g in order.grants:
            part = share(g.points, before, after, whole)
            if g.bucket is not None and c.buckets.get(g.bucket, 0) > 0:
                taken = min(part, c.buckets[g.bucket])
                c.buckets[g.bucket] -= taken
                if not c.buckets[g.bucket]:
                    del c.buckets[g.bucket]
            else:
                taken = min(part, max(c.lots.get(g.lot, 0), 0))
                if taken:
                    c.lots[g.lot] -= taken
            reversed_ += part
            taken_all += taken
            if g.kind == "base":
                self._count(partner, "issued_reversed_points", taken)
            else:
                awards[g.ref] = part
                award_shortfall += part - taken
                # the sponsor no longer pays for the reversed award; what the customer already spent of it is
                # withheld by this till, which funds those points from now on
                self._count(g.funder, "promo_points_reversed", part)
                self._count(partner, "issued_points", part - taken)
        order.refunded = after
        return Refunded(reversed_, reversed_ - taken_all, given, awards, award_shortfall, from_hold)

    def bonus(self, partner: str, cid: str, reason: str, points: int) -> bool:
        self._write(cid)
        c = self.customers[cid]
        day = f"{self.now.astimezone(MOSCOW).date().isoformat()}|{reason}"
        if c.bonus_days.get(day, 0) >= DAILY[reason]:
            return False
        c.bonus_days[day] = c.bonus_days.get(day, 0) + 1
        _add(c.lots, self._lot(partner), points)
        self._count(partner, "issued_points", points)
        return True

    def adjust(self, cid: str, points: int) -> bool:
        self._write(cid)
        c = self.customers[cid]
        if points > 0:
            _add(c.lots, self._lot("coalition"), points)
            return True
        if -points > sum(c.lots.values()):
            return False
        _move(c.lots, sorted(c.lots), -points)
        return True
