"""The customer's data as a spreadsheet (``GET /me/data.csv``), for the customer to read: opens as columns in a
Russian Excel like the settlement CSV (UTF-8 with a BOM, ``;``, CRLF), headers and values in her language ("да"/"нет",
operations by name, partners by name, instants in the program's time zone, purchase amounts in roubles with the
language's decimal mark). The JSON download keeps the machine names (``services/customer_self.export``)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from chalicelib.domain.periods import zone
from chalicelib.machinery.wallets import SYSTEM_PARTNER
from chalicelib.services import partners
from chalicelib.services.settlement import cell
from chalicelib.web import i18n

COLUMNS = (
    "created_at",
    "type",
    "partner",
    "points",
    "available_delta",
    "pending_delta",
    "held_delta",
    "amount_minor",
    "order_id",
    "entry_id",
)
INSTANTS = {"created_at", "exported_at"}


class Cells:
    """One language's way of writing the export's values."""

    def __init__(self, t: i18n.Locale, tz: str, names: dict[str, str]) -> None:
        self.t, self.tz, self.names = t, tz, names

    def instant(self, iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(zone(self.tz)).strftime(self.t.meta["csv_datetime"])

    def partner(self, partner_id: str | None) -> str:
        if not partner_id:
            return ""
        if partner_id == SYSTEM_PARTNER:
            return self.t("export.coalition")
        return self.names.get(partner_id, partner_id)

    def amount(self, minor: int) -> str:
        """Roubles as a number the spreadsheet reads in this language: 1234,50 (no grouping, no currency sign)."""
        whole, cents = divmod(abs(minor), 100)
        return ("-" if minor < 0 else "") + f"{whole}{self.t.meta['decimal']}{cents:02d}"

    def profile(self, field: str, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return self.t("export.yes" if value else "export.no")
        if field in INSTANTS:
            return self.instant(value)
        if field == "enrolled_by":
            return self.partner(value)
        if field == "locale":
            return i18n.locale(value).name if value in i18n.languages() else value
        if field == "channel":
            return self.t.get(f"channel.{value}", value)
        return value

    def entry(self, column: str, entry: dict[str, Any]) -> Any:
        if column == "partner":
            return self.partner(entry.get("partner_id"))
        value = entry.get(column)
        if value is None:
            return ""
        if column == "created_at":
            return self.instant(value)
        if column == "type":
            return self.t.get(f"entry.{value}", value)
        if column == "amount_minor":
            return self.amount(value)
        return value


def export_csv(data: dict[str, Any], lang: str, tz: str) -> str:
    """The profile as field/value rows, a blank row, then one row per ledger entry, newest first."""
    t = i18n.locale(lang)
    cells = Cells(t, tz, {p.partner_id: p.name for p in partners.load_all()})
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def row(values: list[Any]) -> None:
        writer.writerow([cell(v) for v in values])

    row([t("export.field"), t("export.value")])
    row([t("export.profile.exported_at"), cells.profile("exported_at", data["exported_at"])])
    for field, value in data["profile"].items():
        row([t.get(f"export.profile.{field}", field), cells.profile(field, value)])
    row([])
    row([t(f"export.columns.{c}") for c in COLUMNS])
    for entry in data["entries"]:
        row([cells.entry(c, entry) for c in COLUMNS])
    return "\ufeff" + out.getvalue()
