"""An order: one record per (partner, order id) with one customer, one amount and a state.

What the order earned (the base accrual and every campaign award, each from where it landed) and what it spent
(a hold or a captured redemption) live together, so a refund meets whatever the order is doing now: it reverses
earned points pro rata, and it gives back spent points pro rata — out of the hold while the hold is open, out of the
captured lots once it was captured. Everything here is pure; ``chalicelib/db/orders.py`` stores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from chalicelib.domain.lots import refill
from chalicelib.domain.points import cumulative_share, pro_rata
from chalicelib.domain.wallet import Change, Wallet, is_due

SpentStatus = Literal["held", "captured", "voided", "expired", "refunded"]
GrantKind = Literal["base", "award"]


@dataclass(frozen=True)
class Grant:
    """One part of what an order earned: the base accrual (funded by the till partner) or one campaign award
    (funded by its sponsor)."""

    kind: GrantKind
    ref: str  # the till partner for the base accrual, the campaign id for an award
    funder: str  # the partner whose money backs these points
    points: int
    lot: str
    bucket: str = ""  # the pending bucket while the points are pending, "" when they were available at once

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "funder": self.funder,
            "points": self.points,
            "lot": self.lot,
            "bucket": self.bucket,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grant:
        kind: GrantKind = "award" if data["kind"] == "award" else "base"
        return cls(
            kind=kind,
            ref=str(data["ref"]),
            funder=str(data["funder"]),
            points=int(data["points"]),
            lot=str(data["lot"]),
            bucket=str(data.get("bucket") or ""),
        )


@dataclass(frozen=True)
class Spent:
    """What the order spent. ``points`` is what it keeps spending (held, or captured) plus what refunds gave back;
    ``lots`` are the points still out of the customer's wallet for it (held or captured), after refunds."""

    status: SpentStatus
    points: int
    lots: dict[str, int]
    returned: int = 0
    expires_at: str = ""  # ISO 8601 instant while held

    @property
    def outstanding(self) -> int:
        return sum(self.lots.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "points": self.points,
            "lots": {k: v for k, v in self.lots.items() if v},
            "returned": self.returned,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Spent:
        status = str(data["status"])
        if status not in ("held", "captured", "voided", "expired", "refunded"):
            raise ValueError(f"unknown redemption status {status!r}")
        return cls(
            status=status,  # type: ignore[arg-type]
            points=int(data["points"]),
            lots={str(k): int(v) for k, v in dict(data.get("lots") or {}).items()},
            returned=int(data.get("returned") or 0),
            expires_at=str(data.get("expires_at") or ""),
        )


@dataclass(frozen=True)
class Order:
    customer_id: str
    amount_minor: int
    refunded_minor: int = 0
    grants: tuple[Grant, ...] = ()  # empty: nothing earned (no accrual, or an accrual of 0 points)
    accrued: bool = False
    spent: Spent | None = None
    # The money settings in force at the order's first operation: every entry about the order is valued at them,
    # so a refund repays exactly what the accrual charged even if the point value changed in between.
    values: tuple[tuple[str, int], ...] = ()
    version: int = 0  # every write of the order is guarded by the version it read

    @property
    def earned_points(self) -> int:
        return sum(g.points for g in self.grants)

    @staticmethod
    def opened(customer_id: str, amount_minor: int, values: tuple[tuple[str, int], ...]) -> Order:
        """A new order: ``Order(customer_id, amount_minor, values=values)`` without a frozen ``__init__`` (once per
        order's first operation), every other field at its default (all immutable, shared with ``_NEW``)."""
        order: Order = object.__new__(Order)
        order.__dict__.update(_NEW.__dict__, customer_id=customer_id, amount_minor=amount_minor, values=values)
        return order

    def accrued_with(self, grants: tuple[Grant, ...]) -> Order:
        """The order once an accrual earned ``grants`` on it: ``replace(self, grants=grants, accrued=True)`` without
        its walk over every field nor a frozen ``__init__`` (once per accrual): a copy of the same fields (no
        ``__post_init__`` to run), two of them set."""
        order: Order = object.__new__(Order)
        order.__dict__.update(self.__dict__, grants=grants, accrued=True)
        return order

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "customer_id": self.customer_id,
            "amount_minor": self.amount_minor,
            "refunded_minor": self.refunded_minor,
            "grants": [g.to_dict() for g in self.grants],
            "accrued": self.accrued,
            "values": dict(self.values),
        }
        if self.spent is not None:
            out["spent"] = self.spent.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int) -> Order:
        spent = data.get("spent")
        return cls(
            customer_id=str(data["customer_id"]),
            amount_minor=int(data["amount_minor"]),
            refunded_minor=int(data.get("refunded_minor") or 0),
            grants=tuple(Grant.from_dict(g) for g in data.get("grants") or []),
            accrued=bool(data.get("accrued")),
            spent=Spent.from_dict(spent) if spent else None,
            values=tuple(sorted((str(k), int(v)) for k, v in dict(data.get("values") or {}).items())),
            version=version,
        )

    def points_spent_at(self, now: datetime) -> int:
        """The points the order spends at ``now``: an open hold's or a capture's (a partial capture's kept points);
        nothing once its hold ended, voided or expired, even before the wallet caught up with the deadline."""
        spent = self.spent
        if spent is None or spent.status not in ("held", "captured") or hold_is_over(spent, now):
            return 0
        return spent.points - spent.returned

    def paid_in_money_minor(self, now: datetime) -> int:
        """The part of the receipt paid in money, which is what an accrual earns on: the order's amount (the receipt
        total) less the points it spends at ``now`` valued at the point value of the order's first operation (the
        value its redemption's discount was computed at). Exact in minor units, never below zero; the points earned
        on it are floored by ``earn_points`` as any accrual's."""
        value = dict(self.values).get("point_value_minor", 0)
        return max(self.amount_minor - self.points_spent_at(now) * value, 0)

    def conflict(self, customer_id: str, amount_minor: int) -> str | None:
        """Why another operation on this order cannot happen (None when it can): an order has one customer and
        one amount, fixed by its first operation, and nothing is added to it once refunds began."""
        if customer_id != self.customer_id:
            return "This order belongs to another customer."
        if amount_minor != self.amount_minor:
            return f"This order's amount is {self.amount_minor}; every operation on it must name that amount."
        if self.refunded_minor:
            return "This order has refunds; a new operation needs a new order id."
        return None


_NEW = Order("", 0)  # the defaults a new order starts from (``Order.opened``)


def hold_is_over(spent: Spent, now: datetime) -> bool:
    """A hold's expiry is a fact of its deadline, compared as an instant: by the wallet's own rule (``is_due``), so
    an order never sees its hold open while the wallet has already released it (a refund at the exact deadline
    would then shrink a hold that no longer exists)."""
    return spent.status == "held" and is_due(spent.expires_at, now)


def without_hold(spent: Spent, status: SpentStatus) -> Spent:
    """The hold ended without a capture (voided or expired): nothing more is spent or can be given back."""
    return replace(spent, status=status, points=spent.returned, lots={})


@dataclass(frozen=True)
class RefundShares:
    """What one refund moves, before looking at the wallet: each grant's share to reverse, the spend to take off
    the tier counter, and the spent points to give back."""

    before_minor: int
    after_minor: int
    reversals: tuple[tuple[Grant, int], ...]
    spend_back_minor: int
    give_back: int


class RefundTooLarge(ValueError):
    def __init__(self, refundable_minor: int) -> None:
        super().__init__(f"at most {refundable_minor} may be refunded")
        self.refundable_minor = refundable_minor


def refund_shares(order: Order, amount_minor: int) -> RefundShares:
    """Cumulative pro-rata shares: over all refunds of an order, earned points are reversed exactly and spent
    points are given back exactly, whatever the order of holds, captures and partial refunds.

    Spent points are given back against what the order spends now (``points``): a capture that keeps less, or a
    hold that ended, lowers it, so the target is clamped at what was already given back."""
    before = order.refunded_minor
    after = before + amount_minor
    if after > order.amount_minor:
        raise RefundTooLarge(order.amount_minor - before)
    whole = order.amount_minor
    reversals = tuple((g, cumulative_share(g.points, before, after, whole)) for g in order.grants)
    give_back = 0
    if order.spent is not None and order.spent.status in ("held", "captured"):
        target = pro_rata(order.spent.points, after, whole)
        give_back = min(max(target - order.spent.returned, 0), order.spent.outstanding)
    spend_back = cumulative_share(order.amount_minor, before, after, whole) if order.accrued else 0
    return RefundShares(before, after, reversals, spend_back, give_back)


@dataclass(frozen=True)
class Reversal:
    """One grant's share taken back by a refund. ``taken`` is what the customer still had of it; the rest
    (``share - taken``) is the shortfall, charged to the till that withholds it and relieving the funder."""

    kind: GrantKind
    ref: str
    funder: str
    lot: str
    share: int
    taken: int

    def to_dict(self) -> dict[str, Any]:
        """As the refund entry's details record it (settlement reads ``share`` and ``taken``)."""
        return {
            "kind": self.kind,
            "ref": self.ref,
            "funder": self.funder,
            "lot": self.lot,
            "share": self.share,
            "taken": self.taken,
        }


@dataclass(frozen=True)
class RefundPlan:
    """What one refund does to the wallet and to the order."""

    change: Change  # the wallet change: spend taken off, spent points given back, earned points reversed
    given: dict[str, int]  # lot -> spent points given back to it
    from_hold: bool  # the spent points came out of an open hold (released), not out of captured lots (returned)
    reversals: tuple[Reversal, ...]
    spent: Spent | None  # the order's spent state after the refund

    @property
    def points_reversed(self) -> int:
        return sum(r.share for r in self.reversals)

    @property
    def points_taken(self) -> int:
        return sum(r.taken for r in self.reversals)

    @property
    def points_shortfall(self) -> int:
        return self.points_reversed - self.points_taken


def plan_refund(order: Order, shares: RefundShares, wallet: Wallet, hold_key: str, period: str) -> RefundPlan:
    """The refund's wallet change and the order's new spent state, on the settled ``wallet``.

    ``hold_key`` names the order's hold in the wallet; ``period`` is the month the spend comes off. Spent points
    come back first (so a reversal may take points the refund just gave back to the same lot)."""
    change = Change()
    if shares.spend_back_minor:
        change.spend[period] = -shares.spend_back_minor
    given = _give_back(change, order.spent, wallet, hold_key, shares.give_back)
    reversals = _reverse_grants(change, wallet, shares)
    from_hold = order.spent is not None and order.spent.status == "held"
    return RefundPlan(change, given, from_hold, reversals, _spent_after(order.spent, given))


def _give_back(change: Change, spent: Spent | None, wallet: Wallet, hold_key: str, points: int) -> dict[str, int]:
    """Give ``points`` the order spent back to the customer: out of the open hold (latest-expiring lots first, so
    a later capture keeps the earliest), or out of the captured lots in the order they were taken. Returns the
    lots they went back to."""
    if spent is None or points == 0:
        return {}
    if spent.status == "held":
        hold = wallet.holds[hold_key]
        moved = dict(refill(sorted(hold.lots.items(), reverse=True), {}, points))
        change.held -= points
        if points == hold.points:
            change.remove_holds.add(hold_key)
        else:
            left = {k: v - moved.get(k, 0) for k, v in hold.lots.items() if v - moved.get(k, 0)}
            change.replace_holds[hold_key] = replace(hold, points=hold.points - points, lots=left)
    else:
        moved = dict(refill(sorted(spent.lots.items()), {}, points))
    change.available += points
    for key, n in moved.items():
        change.add_lot(key, n)
    return moved


def _reverse_grants(change: Change, wallet: Wallet, shares: RefundShares) -> tuple[Reversal, ...]:
    """Take each grant's share back from where it landed: its pending bucket while pending, else its lot; what the
    customer no longer has is the shortfall (recorded per grant so settlement can charge it to the till that
    withholds it and relieve the funder)."""
    taken_from_bucket: dict[str, int] = {}
    reversals: list[Reversal] = []
    for grant, share in shares.reversals:
        bucket = grant.bucket
        left_in_bucket = wallet.pending_lots.get(bucket, 0) - taken_from_bucket.get(bucket, 0) if bucket else 0
        if left_in_bucket > 0:
            got = min(share, left_in_bucket)
            taken_from_bucket[bucket] = taken_from_bucket.get(bucket, 0) + got
            change.pending -= got
        else:
            got = min(share, max(wallet.lots.get(grant.lot, 0) + change.lots.get(grant.lot, 0), 0))
            change.add_lot(grant.lot, -got)
            change.available -= got
        reversals.append(Reversal(grant.kind, grant.ref, grant.funder, grant.lot, share, got))
    for bucket, got in taken_from_bucket.items():
        if got == wallet.pending_lots[bucket]:
            change.remove_pending[bucket] = got
        elif got:
            change.pending_lots[bucket] = -got
    return tuple(reversals)


def _spent_after(spent: Spent | None, given: Mapping[str, int]) -> Spent | None:
    """The order's spent state once ``given`` went back: those points are no longer out of the wallet for it; a
    hold refunded to nothing is over."""
    if spent is None:
        return None
    left = dict(spent.lots)
    for key, points in given.items():
        left[key] -= points
    after = replace(spent, lots={k: v for k, v in left.items() if v}, returned=spent.returned + sum(given.values()))
    if after.status == "held" and not after.lots:
        after = replace(after, status="refunded", expires_at="")
    return after
