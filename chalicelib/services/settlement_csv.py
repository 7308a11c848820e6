"""Settlement CSVs for accountants: one table per file, column headers in the reader's language, a legend of signs.

Same bytes from the portal and the API: UTF-8 with a byte-order mark, ``;`` and CRLF, so a Russian Excel opens it
as columns with Cyrillic intact; every cell goes through :func:`settlement.cell` (no formulas). Tables:

- ``statement``: a partner's row (the operator's file: one row per partner and a total row), then a blank row and
  the legend of signs, a note Excel shows under the table;
- ``flows``: whose points were accepted where (a partner's file: the issuers of the points it accepted; the
  operator's: the issuer x acceptor matrix);
- ``identity``: the operator's reconciliation identity terms.

``headers="fields"`` writes the JSON field names instead and leaves the legend out: a file for programs.
The file name is the same from both doors: ``settlement-<partner name>-<YYYY-MM>[-<table>].csv``, with an ASCII
fallback (Russian transliterated) for ``filename=`` and the name itself in RFC 5987's ``filename*``.
"""

from __future__ import annotations

import io
import re
from typing import Any, Literal
from urllib.parse import quote

from chalicelib.errors import ValidationFailed
from chalicelib.schemas import OperatorSettlement, SettlementOut
from chalicelib.services.settlement import money, writer

Table = Literal["statement", "flows", "identity"]
Lang = Literal["ru", "en"]

COLUMNS = (
    "partner_id",
    "partner_name",
    "period",
    "status",
    "currency",
    "point_value_minor",
    "issued_points",
    "issued_reversed_points",
    "promo_points_funded",
    "accepted_points",
    "accepted_refunded_points",
    "net_points",
    "operator_fee_minor",
    "net_amount_minor",
    "net_amount",
    "paid_minor",
    "open_minor",
    "generated_at",
)
FLOW_COLUMNS = ("issuer_partner_id", "issuer_name", "points_accepted_here")
MATRIX_COLUMNS = ("issuer_partner_id", "issuer_name", "acceptor_partner_id", "acceptor_name", "points")
IDENTITY_COLUMNS = ("identity_term", "points")

# The texts of the file, per language (the service layer cannot read the web catalogues; like customer_messages).
TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "partner_id": "ID партнёра",
        "partner_name": "Партнёр",
        "period": "Период",
        "status": "Статус",
        "currency": "Валюта",
        "point_value_minor": "Цена балла, коп.",
        "issued_points": "Начислено, баллы",
        "issued_reversed_points": "Начисления отменены, баллы",
        "promo_points_funded": "Оплачено акций, баллы",
        "accepted_points": "Принято к оплате, баллы",
        "accepted_refunded_points": "Возвращено, баллы",
        "net_points": "Сальдо, баллы",
        "operator_fee_minor": "Комиссия оператора, коп.",
        "net_amount_minor": "К расчёту, коп.",
        "net_amount": "К расчёту, ₽",
        "paid_minor": "Оплачено, коп.",
        "open_minor": "Остаток к оплате, коп.",
        "generated_at": "Сформировано",
        "issuer_partner_id": "ID начислившего партнёра",
        "issuer_name": "Начислил",
        "points_accepted_here": "Принято здесь, баллы",
        "acceptor_partner_id": "ID принявшего партнёра",
        "acceptor_name": "Принял",
        "points": "Баллы",
        "identity_term": "Слагаемое сверки",
        "status.open": "открыт",
        "status.closed": "закрыт",
        "total": "ИТОГО",
        "legend": "Знак суммы к расчёту, сальдо, оплаченного и остатка: + оператор платит партнёру; − партнёр платит "
        "оператору.",
    },
    "en": {
        "partner_id": "Partner ID",
        "partner_name": "Partner",
        "period": "Period",
        "status": "Status",
        "currency": "Currency",
        "point_value_minor": "Point value, kopecks",
        "issued_points": "Issued, points",
        "issued_reversed_points": "Issues reversed, points",
        "promo_points_funded": "Campaigns funded, points",
        "accepted_points": "Accepted, points",
        "accepted_refunded_points": "Refunded, points",
        "net_points": "Net, points",
        "operator_fee_minor": "Operator fee, kopecks",
        "net_amount_minor": "Net amount, kopecks",
        "net_amount": "Net amount, RUB",
        "paid_minor": "Paid, kopecks",
        "open_minor": "Still open, kopecks",
        "generated_at": "Generated at",
        "issuer_partner_id": "Issuer ID",
        "issuer_name": "Issued by",
        "points_accepted_here": "Accepted here, points",
        "acceptor_partner_id": "Acceptor ID",
        "acceptor_name": "Accepted by",
        "points": "Points",
        "identity_term": "Identity term",
        "status.open": "open",
        "status.closed": "closed",
        "total": "TOTAL",
        "legend": "Sign of the net amount, net points, paid and open: + the operator pays the partner; − the partner "
        "pays the operator.",
    },
}


def language(accept_language: str | None) -> Lang:
    """``ru`` when the caller prefers Russian to English (``Accept-Language``, q-values honoured), else ``en``."""
    best: tuple[float, int, Lang] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("ru", "en"):
            continue
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        if q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, "ru" if primary == "ru" else "en")
    return best[2] if best else "en"


class _Table:
    """One file being written: headers in the language or as field names, values through :func:`settlement.cell`."""

    def __init__(self, lang: str, fields: bool) -> None:
        self.t, self.fields = TEXTS.get(lang, TEXTS["en"]), fields
        self.buffer = io.StringIO()
        self.w = writer(self.buffer)

    def header(self, columns: tuple[str, ...]) -> None:
        self.w.writerow([c if self.fields else self.t[c] for c in columns])

    def status(self, status: str) -> str:
        return status if self.fields else self.t.get(f"status.{status}", status)

    def row(self, values: list[Any]) -> None:
        self.w.writerow(values)

    def done(self, legend: bool = False) -> str:
        if legend and not self.fields:
            self.w.writerow([])
            self.w.writerow([self.t["legend"]])
        return "\ufeff" + self.buffer.getvalue()


def _statement_row(table: _Table, s: SettlementOut) -> list[Any]:
    data = s.model_dump()
    data["net_amount"] = money(s.net_amount_minor)
    data["status"] = table.status(s.status)
    return [data[c] for c in COLUMNS]


def partner_csv(s: SettlementOut, lang: str, table: str = "statement", fields: bool = False) -> str:
    """A partner's statement (its one row and the legend) or its flows (whose points it accepted)."""
    out = _Table(lang, fields)
    if table == "statement":
        out.header(COLUMNS)
        out.row(_statement_row(out, s))
        return out.done(legend=True)
    if table == "flows":
        out.header(FLOW_COLUMNS)
        for flow in s.flows:
            out.row([flow.issuer_partner_id, flow.issuer_name, flow.points])
        return out.done()
    raise ValidationFailed.at(["query", "table"], "a partner's tables are statement and flows", "enum")


def operator_csv(r: OperatorSettlement, lang: str, table: str = "statement", fields: bool = False) -> str:
    """Every partner's row and the total (with the legend), the issuer x acceptor matrix, or the identity terms."""
    out = _Table(lang, fields)
    if table == "statement":
        out.header(COLUMNS)
        for row in r.partners:
            out.row(_statement_row(out, row))
        t = r.totals
        total = "TOTAL" if fields else out.t["total"]
        out.row(
            [
                total,
                "",
                r.period,
                out.status(r.status),
                r.currency,
                r.point_value_minor,
                t.issued_points,
                t.issued_reversed_points,
                t.promo_points_funded,
                t.accepted_points,
                t.accepted_refunded_points,
                t.net_points,
                t.operator_fee_minor,
                t.net_amount_minor,
                money(t.net_amount_minor),
                t.paid_minor,
                t.open_minor,
                r.generated_at,
            ]
        )
        return out.done(legend=True)
    if table == "flows":
        names = {p.partner_id: p.partner_name for p in r.partners}
        out.header(MATRIX_COLUMNS)
        for c in r.matrix:
            issuer, acceptor = c.issuer_partner_id, c.acceptor_partner_id
            out.row([issuer, names.get(issuer, ""), acceptor, names.get(acceptor, ""), c.points])
        return out.done()
    out.header(IDENTITY_COLUMNS)
    for term, value in r.identity.model_dump().items():
        out.row([term, value])
    return out.done()


# --- file names ---------------------------------------------------------------------------------------------------

_RU = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _ascii(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        latin = _RU.get(low, ch).replace("-", "")
        out.append(latin.capitalize() if ch != low and low in _RU else latin)
    return _UNSAFE.sub("-", "".join(out)).strip("-.")


def filename(name: str, period: str, table: str = "statement") -> str:
    """``settlement-<name>-<YYYY-MM>.csv`` (``-flows``/``-identity`` before ``.csv`` for the other tables)."""
    suffix = "" if table == "statement" else f"-{table}"
    clean = re.sub(r"[\x00-\x1f\x7f/\\\"]+", " ", name).strip() or "partner"
    return f"settlement-{clean}-{period}{suffix}.csv"


def disposition(name: str, period: str, table: str = "statement") -> str:
    """``Content-Disposition`` naming the file in ASCII for old clients and in UTF-8 (RFC 5987) for the rest."""
    full = filename(name, period, table)
    fallback = filename(_ascii(name) or "partner", period, table)
    fallback = _UNSAFE.sub("-", fallback)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(full, safe='')}"


def headers(name: str, period: str, table: str = "statement") -> dict[str, str]:
    return {
        "Content-Type": "text/csv; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Disposition": disposition(name, period, table),
    }
