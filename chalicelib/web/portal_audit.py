"""The partner's audit log in the portal: its own records, newest first, each with who, when, what, and every value
that changed from what to what; a page at a time (the API's signed cursor). Read through the same service as
``GET /v1/audit``: the partition is the signed-in partner's, whatever the address says."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.periods import zone
from chalicelib.machinery import program
from chalicelib.schemas import AuditEntryOut, PartnerAuditQuery
from chalicelib.services import audit_log
from chalicelib.web import i18n, portal_views
from chalicelib.web.portal_session import Session
from chalicelib.web.render import Page

PAGE = 20


def _value(value: Any) -> str:
    """A value as a person reads it: text as it is, nothing as a dash, the rest as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _row(t: i18n.Locale, e: AuditEntryOut, tz: str) -> dict[str, Any]:
    before, after = e.before or {}, e.after or {}
    at = datetime.fromisoformat(e.at.replace("Z", "+00:00"))
    fields = [*before, *(k for k in after if k not in before)]
    return {
        "when": f"{t.date(at.isoformat(), tz)} {at.astimezone(zone(tz)):%H:%M}",
        "who": e.actor,
        "what": t.get(f"audit.actions.{e.action}", e.action),
        "target": e.target,
        "changes": [(k, _value(before.get(k)), _value(after.get(k))) for k in fields],
        "request_id": e.request_id,
    }


def page(session: Session, lang: str, cursor: str | None, period: str | None) -> Page:
    t = i18n.locale(lang)
    found = audit_log.for_partner(session.partner_id, PartnerAuditQuery(limit=PAGE, cursor=cursor, period=period))
    tz = program.load().timezone
    more = None
    if found.next_cursor:
        more = f"/portal/audit?cursor={found.next_cursor}" + (f"&period={period}" if period else "")
    return portal_views.page(
        "portal/audit.html",
        lang,
        "/portal/audit?lang=",
        session,
        rows=[_row(t, e, tz) for e in found.items],
        more=more,
    )
