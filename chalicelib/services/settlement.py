"""Monthly settlement: what each partner owes the coalition and is owed, exact to the point.

Figures come from period counters kept in the same transaction as every ledger entry (``wallets.post``), spread over
``keys.COUNTER_SHARDS`` items per partner: a report costs (partners + 1) x shards item reads in one or two batch
calls, however many transactions the month had. The reconciliation (``services/reconciliation.py``, a job)
recomputes every figure from the entries themselves and must match exactly. A closed period is a frozen snapshot
returned unchanged ever after.

Money comes from the entries' own values (``point_value_minor``, ``operator_fee_bps`` recorded on each entry, summed
into the money counters), so a change of the program's settings never reprices posted entries. The report's
``point_value_minor`` / ``operator_fee_bps`` are those in force at the period's end; they also value the points of
entries posted before entries recorded their values.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from chalicelib import db
from chalicelib.db import settlement as settlement_db
from chalicelib.db.settlement import read_figures
from chalicelib.domain.audit import Change, Stamp
from chalicelib.domain.events import BROADCAST, SETTLEMENT_CLOSED, Event
from chalicelib.domain.periods import FIRST_YEAR, YEARS_AHEAD, add_months, in_range, period_of
from chalicelib.domain.schedule import period_end
from chalicelib.domain.settlement import COALITION, Figures, identity, statement
from chalicelib.errors import NotFound, PeriodNotEnded, ValidationFailed
from chalicelib.machinery import audit, events, program
from chalicelib.machinery.program import Program
from chalicelib.schemas import (
    CoalitionLine,
    Flow,
    Identity,
    MatrixCell,
    OperatorSettlement,
    SettlementOut,
    SettlementTotals,
)
from chalicelib.services import partners, payments

_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")  # fullmatch, ASCII: no trailing newline, no other scripts


def check_period(period: str, now: datetime) -> str:
    """A month the coalition can have: ``YYYY-MM`` from :data:`periods.FIRST_YEAR` to a few years ahead (422)."""
    if not _PERIOD.fullmatch(period):
        raise ValidationFailed.at(["path", "period"], "period must be YYYY-MM", "pattern")
    if not in_range(period, now):
        raise ValidationFailed.at(
            ["path", "period"],
            f"period must be between {FIRST_YEAR}-01 and {now.year + YEARS_AHEAD}-12",
            "range",
        )
    return period


def program_at_end(period: str) -> Program:
    """The program with the money settings in force at the period's last instant."""
    return program.load(period_end(period, program.load().timezone))


def _names() -> dict[str, str]:
    """Every partner's name by id, and the coalition's."""
    return {**partners.names(), COALITION: "Coalition"}


def _statement_out(
    pid: str, name: str, f: Figures, period: str, status: str, prog: Program, names: dict[str, str], generated_at: str
) -> SettlementOut:
    s = statement(f, prog.point_value_minor, prog.operator_fee_bps)
    return SettlementOut(
        partner_id=pid,
        partner_name=name,
        period=period,
        status=status,  # type: ignore[arg-type]
        currency=prog.currency,
        point_value_minor=prog.point_value_minor,
        issued_points=s.issued_points,
        issued_reversed_points=s.issued_reversed_points,
        promo_points_funded=s.promo_points_funded,
        accepted_points=s.accepted_points,
        accepted_refunded_points=s.accepted_refunded_points,
        net_points=s.net_points,
        operator_fee_minor=s.operator_fee_minor,
        net_amount_minor=s.net_amount_minor,
        flows=[
            Flow(issuer_partner_id=i, issuer_name=names.get(i, i), points=n) for i, n in sorted(f.flows.items()) if n
        ],
        generated_at=generated_at,
    )


def _live_report(period: str, now: datetime) -> OperatorSettlement:
    prog = program_at_end(period)
    names = _names()
    partner_ids = sorted(p for p in names if p != COALITION)
    figures = read_figures([*partner_ids, COALITION], period)
    generated_at = now.isoformat()
    rows = [_statement_out(p, names[p], figures[p], period, "open", prog, names, generated_at) for p in partner_ids]
    totals = SettlementTotals(**{name: sum(getattr(r, name) for r in rows) for name in SettlementTotals.model_fields})
    coalition = figures[COALITION]
    terms = identity(figures.values())
    return OperatorSettlement(
        period=period,
        status="open",
        currency=prog.currency,
        point_value_minor=prog.point_value_minor,
        operator_fee_bps=prog.operator_fee_bps,
        partners=rows,
        totals=totals,
        coalition=CoalitionLine(
            expired_points=coalition.counts["expired_points"],
            adjustment_points=coalition.counts["adjustment_points"],
            expired_by_issuer=[
                Flow(issuer_partner_id=i, issuer_name=names.get(i, i), points=n)
                for i, n in sorted(coalition.expired_by_issuer.items())
                if n
            ],
        ),
        matrix=[
            MatrixCell(issuer_partner_id=issuer, acceptor_partner_id=acceptor, points=n)
            for acceptor in partner_ids
            for issuer, n in sorted(figures[acceptor].flows.items())
            if n
        ],
        identity=Identity(**terms, holds=terms["result"] == 0),
        generated_at=generated_at,
    )


def _closed(period: str) -> OperatorSettlement | None:
    report = settlement_db.load_closed(period)
    return OperatorSettlement.model_validate_json(report) if report is not None else None


def operator_report(period: str, now: datetime) -> OperatorSettlement:
    check_period(period, now)
    return payments.in_report(_closed(period) or _live_report(period, now))


def partner_settlement(partner_id: str, period: str, now: datetime) -> SettlementOut:
    check_period(period, now)
    closed = _closed(period)
    if closed is not None:
        for row in closed.partners:
            if row.partner_id == partner_id:
                return payments.in_statement(row)
        raise NotFound(f"No settlement for {partner_id} in {period}.")
    prog = program_at_end(period)
    names = _names()
    figures = read_figures([partner_id], period)[partner_id]
    return payments.in_statement(
        _statement_out(
            partner_id, names.get(partner_id, partner_id), figures, period, "open", prog, names, now.isoformat()
        )
    )


def close(period: str, now: datetime, stamp: Stamp) -> OperatorSettlement:
    """Freeze the period's report. Only after it ended in the program time zone; closing twice returns the first
    snapshot (the scheduled job may run again or alongside an operator)."""
    check_period(period, now)
    existing = _closed(period)
    if existing is not None:
        return payments.in_report(existing)
    prog = program.load()
    if period_of(now, prog.timezone) <= period:
        raise PeriodNotEnded(f"{period} ends at midnight {prog.timezone} on the 1st of {add_months(period, 1)}.")
    report = _live_report(period, now).model_copy(update={"status": "closed"})
    report.partners = [row.model_copy(update={"status": "closed"}) for row in report.partners]
    # closed concurrently (False): both computed the same frozen figures; return what was stored
    totals = report.totals.model_dump(exclude={"paid_minor", "open_minor"})  # read live, never frozen
    closing = Change(
        "settlement.closed", f"settlement:{period}", None, {"status": "open"}, {"status": "closed", **totals}
    )
    # One event for the whole close, in its transaction: the dispatcher gives each partner its own statement
    # (``partner_events``), so the close stays one item however many partners there are.
    closed_event = events.new(SETTLEMENT_CLOSED, BROADCAST, now, period=period)
    record = audit.also([closing], stamp)

    def also(tx: db.Transaction) -> None:
        if record is not None:
            record(tx)
        events.stage(tx, [closed_event])

    settlement_db.save_closed(period, report.model_dump_json(), now.isoformat(), also=also)
    closed = _closed(period)
    assert closed is not None
    return payments.in_report(closed)


def partner_events(event: Event) -> list[Event]:
    """A closed period's ``settlement.closed`` for each partner, with that partner's own figures only; ids derived
    from the close's event, so expanding it twice names the same events."""
    report = _closed(str(event.data.get("period", "")))
    if report is None:
        return []
    return [
        Event(
            f"{event.event_id}.{row.partner_id}",
            SETTLEMENT_CLOSED,
            row.partner_id,
            event.created_at,
            {
                "period": row.period,
                "net_points": row.net_points,
                "net_amount_minor": row.net_amount_minor,
                "operator_fee_minor": row.operator_fee_minor,
                "currency": row.currency,
            },
        )
        for row in report.partners
    ]


def close_previous_month(now: datetime) -> OperatorSettlement:
    """Scheduled on the 1st: close last month (safe to run twice)."""
    previous = add_months(period_of(now, program.load().timezone), -1)
    return close(previous, now, Stamp(audit.SCHEDULE, f"close-{previous}", now))


# --- CSV for accountants ------------------------------------------------------------------------------------------


def money(minor: int) -> str:
    """Minor units as a decimal string with a comma (Russian convention), no floats: -123456 -> -1234,56."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole},{cents:02d}"


# A text cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP "CSV
# injection"): a partner named =HYPERLINK(...) would run in every accountant's spreadsheet. Such cells get a leading
# single quote; numbers, negative ones and money with a decimal comma included, stay numbers.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(,[0-9]+)?")


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_LEADS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Writer:
    """csv.writer for accountants: ';'-separated, CRLF, every cell through :func:`cell`."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._w = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def writerow(self, row: list[Any]) -> None:
        self._w.writerow([cell(v) for v in row])


def writer(buffer: io.StringIO) -> _Writer:
    return _Writer(buffer)
