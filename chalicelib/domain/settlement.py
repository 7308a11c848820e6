"""Settlement arithmetic, pure.

:func:`entry_deltas` says what one ledger entry adds to which partner's period figures. The live counters are fed
from it inside the entry's own transaction, and the reconciliation folds the same function over the stored entries:
if a counter update were ever lost or doubled, the two disagree.

Money is valued entry by entry at the settings the entry recorded (``point_value_minor``, ``operator_fee_bps`` in
its details), so a change of those settings never reprices what was already posted. Entries from before values were
recorded add no money counters; :func:`statement` values their points at the fallback settings it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.lots import split_lot_key
from chalicelib.domain.points import BPS

COALITION = "coalition"  # expiry (breakage) and operator adjustments belong to the coalition, not to a partner
FIELDS = (
    "issued_points",
    "issued_reversed_points",
    "promo_points_funded",
    "promo_points_reversed",
    "accepted_points",
    "accepted_refunded_points",
    "expired_points",
    "adjustment_points",
    "balance_change",
    "shortfall_funded_points",  # part of issued_points: award points a till withheld as cash on a refund
    # money, per entry at its own recorded values (integers; see statement())
    "net_value_minor",  # sum of (the entry's effect on net_points) x its point_value_minor
    "net_points_valued",  # the net_points those values cover
    "fee_numerator",  # sum of (effect on points put into circulation) x point_value_minor x operator_fee_bps
    "fee_points_valued",  # the circulation points those values cover
)
MONEY_SETTINGS = ("point_value_minor", "operator_fee_bps")


@dataclass
class Figures:
    """One partner's (or the coalition's) figures for one period; ``flows`` is net points accepted here by issuer."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    flows: dict[str, int] = field(default_factory=dict)
    expired_by_issuer: dict[str, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        for target, source in ((self.flows, other.flows), (self.expired_by_issuer, other.expired_by_issuer)):
            for key, value in source.items():
                target[key] = target.get(key, 0) + value

    def is_zero(self) -> bool:
        return (
            not any(self.counts.values()) and not any(self.flows.values()) and not any(self.expired_by_issuer.values())
        )


def _issuer(lot: str) -> str:
    return split_lot_key(lot)[1]


def _net_and_circulation(c: Mapping[str, int]) -> tuple[int, int]:
    """The contract's net_points, and the points this partner put into circulation (net issued + net promo)."""
    issued_net = c["issued_points"] - c["issued_reversed_points"]
    promo = c["promo_points_funded"] - c["promo_points_reversed"]
    return (c["accepted_points"] - c["accepted_refunded_points"]) - issued_net - promo, issued_net + promo


def _value(f: Figures, point_value_minor: int, operator_fee_bps: int) -> None:
    """Add the money counters of one entry's figures, at the entry's own values."""
    net, circulation = _net_and_circulation(f.counts)
    f.counts["net_value_minor"] += net * point_value_minor
    f.counts["net_points_valued"] += net
    f.counts["fee_numerator"] += circulation * point_value_minor * operator_fee_bps
    f.counts["fee_points_valued"] += circulation


_ZERO_COUNTS = dict.fromkeys(FIELDS, 0)


def _fresh() -> Figures:
    """``Figures()``, its counts copied from the zeros made once, without the dataclass ``__init__`` and its
    default factories (one or two per ledger entry): the same fields stored."""
    figures: Figures = object.__new__(Figures)
    figures.__dict__ = {"counts": _ZERO_COUNTS.copy(), "flows": {}, "expired_by_issuer": {}}
    return figures


class _Posting:
    """One entry being folded into figures: what it says, and the figures it has added to so far by partner id (a
    plain class: one per entry, only read)."""

    __slots__ = ("details", "lots", "out", "partner_id", "total_delta")

    def __init__(self, partner_id: str, total_delta: int, lots: Mapping[str, int], details: Mapping[str, Any]) -> None:
        self.partner_id = partner_id
        self.total_delta = total_delta
        self.lots = lots
        self.details = details
        self.out: dict[str, Figures] = {}

    def figures(self, pid: str | None = None) -> Figures:
        key = self.partner_id if pid is None else pid
        found = self.out.get(key)
        if found is None:  # made only when missing (``setdefault`` would make one on every call)
            found = self.out[key] = _fresh()
        return found


def _issued(e: _Posting) -> None:
    e.figures().counts["issued_points"] += e.total_delta


def _campaign_award(e: _Posting) -> None:
    e.figures(str(e.details["sponsor_partner_id"])).counts["promo_points_funded"] += e.total_delta


def _redemption(e: _Posting) -> None:
    f = e.figures()
    f.counts["accepted_points"] += -e.total_delta
    for lot, n in e.lots.items():
        f.flows[_issuer(lot)] = f.flows.get(_issuer(lot), 0) - n


def _capture(e: _Posting) -> None:
    f = e.figures()
    for lot, n in dict(e.details.get("captured_lots") or {}).items():
        f.counts["accepted_points"] += int(n)
        f.flows[_issuer(lot)] = f.flows.get(_issuer(lot), 0) + int(n)


def _reversal(e: _Posting, reversal: Mapping[str, Any]) -> None:
    f = e.figures()
    taken, share = int(reversal["taken"]), int(reversal["share"])
    if reversal["kind"] == "base":
        # Points the customer already spent stay issued: the till withholds their cash from the refund.
        f.counts["issued_reversed_points"] += taken
    elif share:
        # Money follows the points: the sponsor stops paying for the whole reversed award, and what the customer
        # already spent of it is withheld by this till, which now funds those points instead.
        funder = str(reversal.get("funder") or _issuer(str(reversal["lot"])))
        e.figures(funder).counts["promo_points_reversed"] += share
        f.counts["issued_points"] += share - taken
        f.counts["shortfall_funded_points"] += share - taken


def _refund(e: _Posting) -> None:
    f = e.figures()
    for lot, n in dict(e.details.get("returned_lots") or {}).items():
        f.counts["accepted_refunded_points"] += int(n)
        f.flows[_issuer(lot)] = f.flows.get(_issuer(lot), 0) - int(n)
    for reversal in e.details.get("reversals") or []:
        _reversal(e, reversal)


def _expiry(e: _Posting) -> None:
    f = e.figures()
    f.counts["expired_points"] += -e.total_delta
    for lot, n in e.lots.items():
        f.expired_by_issuer[_issuer(lot)] = f.expired_by_issuer.get(_issuer(lot), 0) - n


def _adjustment(e: _Posting) -> None:
    e.figures().counts["adjustment_points"] += e.total_delta


# What each entry type adds besides ``balance_change`` (holds, voids and the like add nothing else).
_BY_TYPE: dict[str, Callable[[_Posting], None]] = {
    "accrual": _issued,
    "bonus": _issued,
    "campaign_award": _campaign_award,
    "redemption": _redemption,
    "capture": _capture,
    "refund": _refund,
    "expiry": _expiry,
    "adjustment": _adjustment,
}


def entry_deltas(
    entry_type: str, partner_id: str, total_delta: int, lots: Mapping[str, int], details: Mapping[str, Any]
) -> dict[str, Figures]:
    """What one entry adds to the period figures, by partner id (``coalition`` for expiry and adjustments)."""
    posting = _Posting(partner_id, total_delta, lots, details)
    own = posting.out[partner_id] = _fresh()
    own.counts["balance_change"] += total_delta
    add = _BY_TYPE.get(entry_type)
    if add is not None:
        add(posting)
    point_value, fee_bps = details.get("point_value_minor"), details.get("operator_fee_bps")  # MONEY_SETTINGS
    if point_value is not None and fee_bps is not None:
        for f in posting.out.values():
            _value(f, int(point_value), int(fee_bps))
    out = posting.out
    if len(out) == 1 and any(own.counts.values()):  # the usual entry: its own partner's figures, not all zero
        return out
    return {pid: f for pid, f in out.items() if not f.is_zero()}


@dataclass(frozen=True)
class Statement:
    issued_points: int
    issued_reversed_points: int
    promo_points_funded: int  # net of reversed awards: what the sponsor really pays for
    accepted_points: int
    accepted_refunded_points: int
    net_points: int
    operator_fee_minor: int
    net_amount_minor: int


def statement(f: Figures, point_value_minor: int, operator_fee_bps: int) -> Statement:
    """Contract: net_points = (accepted - accepted_refunded) - (issued - issued_reversed) - promo_funded;
    net_amount = the value of net_points - fee, the fee being operator_fee_bps of the value of the points this
    partner put into circulation (net issued plus net promo), floored once over the period.

    Each entry's points are valued at the settings it recorded; points of entries that recorded none are valued at
    ``point_value_minor`` / ``operator_fee_bps`` (the program's, at the period's end). With one value all period
    this is exactly ``net_points x value - max(circulation, 0) x value x bps // 10000``."""
    c = f.counts
    net_points, circulation = _net_and_circulation(c)
    value = c["net_value_minor"] + (net_points - c["net_points_valued"]) * point_value_minor
    numerator = c["fee_numerator"] + (circulation - c["fee_points_valued"]) * point_value_minor * operator_fee_bps
    fee = max(numerator, 0) // BPS
    return Statement(
        issued_points=c["issued_points"],
        issued_reversed_points=c["issued_reversed_points"],
        promo_points_funded=c["promo_points_funded"] - c["promo_points_reversed"],
        accepted_points=c["accepted_points"],
        accepted_refunded_points=c["accepted_refunded_points"],
        net_points=net_points,
        operator_fee_minor=fee,
        net_amount_minor=value - fee,
    )


def identity(figures: Iterable[Figures]) -> dict[str, int]:
    """The operator report's reconciliation identity over all partners and the coalition; ``result`` must be 0."""
    total = Figures()
    for f in figures:
        total.add(f)
    c = total.counts
    terms = {
        "issued_net": c["issued_points"] - c["issued_reversed_points"],
        "promo_funded_net": c["promo_points_funded"] - c["promo_points_reversed"],
        "adjustments": c["adjustment_points"],
        "accepted_net": c["accepted_points"] - c["accepted_refunded_points"],
        "expired": c["expired_points"],
        "balance_change": c["balance_change"],
    }
    terms["result"] = (
        terms["issued_net"]
        + terms["promo_funded_net"]
        + terms["adjustments"]
        - terms["accepted_net"]
        - terms["expired"]
        - terms["balance_change"]
    )
    return terms
