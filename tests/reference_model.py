"""A pure reference model of the program, written from the contract and the docs, independent of chalicelib.

It knows nothing of DynamoDB, lazy settlement or transactions: just customers' lots, pending buckets and holds, and
what every operation and the passing of time do to them. The stateful test feeds it the same operations as the
service and compares the two after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
TIERS = [(0, 10_000), (3_000_000, 12_500), (10_000_000, 15_000)]  # min 12-month spend (kopecks), multiplier bps
DAILY = {"review": 1, "referral": 5}


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


@dataclass
class Hold:
    points: int
    lots: dict[str, int]
    expires: datetime


@dataclass
class Customer:
    lots: dict[str, int] = field(default_factory=dict)
    buckets: dict[tuple[datetime, str], int] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    spend: dict[str, int] = field(default_factory=dict)
    bonus_days: dict[str, int] = field(default_factory=dict)

    def balance(self) -> tuple[int, int, int]:
        return sum(self.lots.values()), sum(self.buckets.values()), sum(h.points for h in self.holds.values())


@dataclass
class Campaign:
    """One fixed-reward campaign: earned at ``earn_at``, funded by ``sponsor``, capped by budget and per customer."""

    sponsor: str
    earn_at: str
    points: int
    budget: int
    per_customer: int
    used: int = 0
    awards: dict[str, int] = field(default_factory=dict)


@dataclass
class Order:
    customer: str
    award: int = 0
    award_lot: str = ""
    accrual_amount: int = 0
    points: int = 0
    lot: str = ""
    bucket: tuple[datetime, str] | None = None
    redemption_amount: int = 0
    redeemed: int = 0
    redeemed_lots: list[tuple[str, int]] = field(default_factory=list)
    returned: dict[str, int] = field(default_factory=dict)
    refunded: int = 0
    captured: bool = True


class Model:
    def __init__(self, partners: list[tuple[str, int, int]], now: datetime) -> None:
        self.partners = {pid: (rate, pending_days) for pid, rate, pending_days in partners}
        self.customers: dict[str, Customer] = {}
        self.orders: dict[tuple[str, str], Order] = {}
        self.now = now
        self.campaign: Campaign | None = None

    # --- time ---------------------------------------------------------------------------------------------------
    def settle(self) -> None:
        current = month(self.now)
        for c in self.customers.values():
            for hid, hold in list(c.holds.items()):
                if hold.expires <= self.now:
                    for lot, n in hold.lots.items():
                        c.lots[lot] = c.lots.get(lot, 0) + n
                    del c.holds[hid]
            for (when, lot), n in list(c.buckets.items()):
                if when <= self.now:
                    c.lots[lot] = c.lots.get(lot, 0) + n
                    del c.buckets[(when, lot)]
            for lot in list(c.lots):
                if lot.split("|")[0] < label(current):
                    del c.lots[lot]
            for lot in [k for k, v in c.lots.items() if v == 0]:
                del c.lots[lot]

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    # --- operations ---------------------------------------------------------------------------------------------
    def _tier_multiplier(self, c: Customer) -> int:
        current = month(self.now)
        spent = max(sum(c.spend.get(label(plus_months(current, -i)), 0) for i in range(12)), 0)
        return max(mult for minimum, mult in TIERS if spent >= minimum)

    def _lot(self, issuer: str) -> str:
        return f"{label(plus_months(month(self.now), 12))}|{issuer}"

    def enrol(self, cid: str) -> None:
        self.customers[cid] = Customer()

    def earn(self, partner: str, cid: str, order_id: str, amount: int) -> int:
        self.settle()
        c = self.customers[cid]
        rate, pending_days = self.partners[partner]
        points = (amount * rate // 10_000 // 100) * self._tier_multiplier(c) // 10_000
        lot = self._lot(partner)
        order = self.orders.setdefault((partner, order_id), Order(cid))
        order.accrual_amount, order.points, order.lot = amount, points, lot
        if pending_days:
            order.bucket = (self.now + timedelta(days=pending_days), lot)
            if points:
                c.buckets[order.bucket] = c.buckets.get(order.bucket, 0) + points
        elif points:
            c.lots[lot] = c.lots.get(lot, 0) + points
        key = label(month(self.now))
        c.spend[key] = c.spend.get(key, 0) + amount
        order.award = 0
        camp = self.campaign
        if camp and partner == camp.earn_at and camp.awards.get(cid, 0) < camp.per_customer and camp.used < camp.budget:
            order.award = min(camp.points, camp.budget - camp.used)
            order.award_lot = self._lot(camp.sponsor)
            camp.used += order.award
            camp.awards[cid] = camp.awards.get(cid, 0) + 1
            c.lots[order.award_lot] = c.lots.get(order.award_lot, 0) + order.award
        return points

    def _take(self, c: Customer, points: int) -> list[tuple[str, int]]:
        taken, left = [], points
        for lot in sorted(c.lots):
            n = min(c.lots[lot], left)
            if n:
                taken.append((lot, n))
                c.lots[lot] -= n
                left -= n
        return taken

    def spend(
        self, partner: str, cid: str, order_id: str, amount: int, points: int, capture: bool, minutes: int
    ) -> bool:
        self.settle()
        c = self.customers[cid]
        if points > sum(c.lots.values()):
            return False
        taken = self._take(c, points)
        order = self.orders.setdefault((partner, order_id), Order(cid))
        order.redemption_amount, order.redeemed, order.redeemed_lots = amount, points, taken
        order.captured = capture
        if not capture:
            c.holds[f"{partner}|{order_id}"] = Hold(points, dict(taken), self.now + timedelta(minutes=minutes))
        return True

    def capture(self, partner: str, order_id: str, points: int | None) -> str:
        self.settle()
        order = self.orders[(partner, order_id)]
        c = self.customers[order.customer]
        hold = c.holds.get(f"{partner}|{order_id}")
        if hold is None:
            return "expired" if not order.captured and order.redeemed else "resolved"
        keep = hold.points if points is None else points
        if keep > hold.points:
            return "too_many"
        release, kept = hold.points - keep, dict(hold.lots)
        for lot in sorted(hold.lots, reverse=True):
            n = min(release, kept[lot])
            if n:
                kept[lot] -= n
                c.lots[lot] = c.lots.get(lot, 0) + n
                release -= n
        del c.holds[f"{partner}|{order_id}"]
        order.captured, order.redeemed = True, keep
        order.redeemed_lots = [(lot, n) for lot, n in sorted(kept.items()) if n]
        return "captured"

    def void(self, partner: str, order_id: str) -> str:
        self.settle()
        order = self.orders[(partner, order_id)]
        c = self.customers[order.customer]
        hold = c.holds.pop(f"{partner}|{order_id}", None)
        if hold is None:
            return "expired" if not order.captured else "resolved"
        for lot, n in hold.lots.items():
            c.lots[lot] = c.lots.get(lot, 0) + n
        order.redeemed, order.redeemed_lots, order.captured = 0, [], False
        return "voided"

    def refund(self, partner: str, order_id: str, amount: int) -> tuple[int, int, int] | None:
        """(reversed, shortfall, returned), or None when the refund exceeds the order."""
        self.settle()
        order = self.orders[(partner, order_id)]
        c = self.customers[order.customer]
        total = max(order.accrual_amount, order.redemption_amount)
        before, after = order.refunded, order.refunded + amount
        if after > total:
            return None
        returned = 0
        if order.redemption_amount and order.captured and order.redeemed:
            returned = share(order.redeemed, before, after, total)
            left = returned
            for lot, gave in order.redeemed_lots:
                room = gave - order.returned.get(lot, 0)
                n = min(room, left)
                if n > 0:
                    c.lots[lot] = c.lots.get(lot, 0) + n
                    order.returned[lot] = order.returned.get(lot, 0) + n
                    left -= n
        reversed_ = taken = 0
        if order.accrual_amount:
            reversed_ = share(order.points, before, after, total)
            if order.bucket and c.buckets.get(order.bucket, 0) > 0:
                taken = min(reversed_, c.buckets[order.bucket])
                c.buckets[order.bucket] -= taken
                if c.buckets[order.bucket] == 0:
                    del c.buckets[order.bucket]
            else:
                taken = min(reversed_, c.lots.get(order.lot, 0))
                if taken:
                    c.lots[order.lot] -= taken
            key = label(month(self.now))
            c.spend[key] = c.spend.get(key, 0) - share(order.accrual_amount, before, after, total)
            if order.award:
                award_share = share(order.award, before, after, total)
                award_taken = min(award_share, c.lots.get(order.award_lot, 0))
                if award_taken:
                    c.lots[order.award_lot] -= award_taken
                reversed_ += award_share
                taken += award_taken
        order.refunded = after
        return reversed_, reversed_ - taken, returned

    def bonus(self, partner: str, cid: str, reason: str, points: int) -> bool:
        self.settle()
        c = self.customers[cid]
        day = f"{self.now.astimezone(MOSCOW).date().isoformat()}|{reason}"
        if c.bonus_days.get(day, 0) >= DAILY[reason]:
            return False
        c.bonus_days[day] = c.bonus_days.get(day, 0) + 1
        lot = self._lot(partner)
        c.lots[lot] = c.lots.get(lot, 0) + points
        return True

    def adjust(self, cid: str, points: int) -> bool:
        self.settle()
        c = self.customers[cid]
        if points > 0:
            lot = self._lot("coalition")
            c.lots[lot] = c.lots.get(lot, 0) + points
            return True
        if -points > sum(c.lots.values()):
            return False
        self._take(c, -points)
        return True
