"""The console's settlements: every partner's month (points, fee, net in roubles), the matrix of whose points were
spent where, the identity that must come to zero, closing a month (after a confirmation), the reconciliation against
the ledger's entries. Figures come from ``services/settlement.py`` as they are: nothing is recomputed here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from chalicelib.domain.periods import add_months, period_of, zone
from chalicelib.machinery import program
from chalicelib.schemas import OperatorSettlement, Reconciliation
from chalicelib.services import settlement
from chalicelib.web import i18n, portal_format
from chalicelib.web.admin.access import Operator
from chalicelib.web.admin.shell import page
from chalicelib.web.render import Page

MONTHS_LISTED = 12
IDENTITY_TERMS = ("issued_net", "promo_funded_net", "adjustments", "accepted_net", "expired", "balance_change")


@dataclass(frozen=True)
class Matrix:
    """Points issued by the row's partner and accepted by the column's."""

    names: list[tuple[str, str]]  # (partner id, name), rows and columns alike
    cells: dict[tuple[str, str], int]  # (issuer, acceptor) -> points


def matrix(report: OperatorSettlement) -> Matrix:
    names = [(row.partner_id, row.partner_name) for row in report.partners]
    return Matrix(names, {(c.issuer_partner_id, c.acceptor_partner_id): c.points for c in report.matrix})


def settlements_page(
    operator: Operator,
    lang: str,
    period: str | None,
    now: datetime,
    confirm: bool = False,
    check: Reconciliation | None = None,
    problems: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    saved: bool = False,
) -> Page:
    """The month (default: the current one): every partner's statement, the matrix, the identity, and the actions
    a month allows (close once it has ended; ``confirm``: the close asks first)."""
    t = i18n.locale(lang)
    current = period_of(now, program.load().timezone)
    period = settlement.check_period(period, now) if period else current
    report = settlement.operator_report(period, now)
    return page(
        "settlements.html",
        operator,
        lang,
        "settlements",
        f"/admin/settlements?period={quote(period)}&lang=",
        report=report,
        month_name=portal_format.month(t, period),
        months=[(m, portal_format.month(t, m)) for m in (add_months(current, -n) for n in range(MONTHS_LISTED))],
        ended=period < current,
        matrix=matrix(report),
        identity=[(f"admin.identity.{term}", getattr(report.identity, term)) for term in IDENTITY_TERMS],
        confirm=confirm,
        check=check,
        problems=problems or {},
        values={**_payment_defaults(now), **(values or {})},
        saved=saved,
    )


def _payment_defaults(now: datetime) -> dict[str, str]:
    """The payment form as first shown: today (program time zone), no partner, the partner paying."""
    today = now.astimezone(zone(program.load().timezone)).date().isoformat()
    return {"partner_id": "", "direction": "from_partner", "amount": "", "paid_on": today, "reference": ""}
