"""The console's audit log: every change, newest first, with filters (partner, action, who, month) and, per record,
each value that changed, old and new, written the way the console writes it (rates as percentages, money in
roubles, a schedule as the days and values it holds). The records are ``services/audit_log.py``'s, as stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from chalicelib.domain.audit import ACTIONS
from chalicelib.domain.periods import add_months, period_of, zone
from chalicelib.domain.schedule import Schedule
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.machinery import program
from chalicelib.schemas import AuditEntryOut, AuditQuery
from chalicelib.services import audit_log, partners, staff
from chalicelib.web import i18n, portal_format
from chalicelib.web.admin.access import Operator
from chalicelib.web.admin.shell import page
from chalicelib.web.i18n import Locale
from chalicelib.web.render import Page

FILTERS = ("partner_id", "action", "actor", "period")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")
PAGE_SIZE = 50
SCHEDULES = ("rate_schedule", "schedule")  # a setting's changes by day: shown as the days and values they hold


@dataclass(frozen=True)
class Value:
    field: str  # the setting's name as the console calls it
    old: str
    new: str


@dataclass(frozen=True)
class Row:
    when: str
    actor: str
    action: str
    target: str
    values: list[Value]
    request_id: str


def _scalar(t: Locale, name: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and _DAY.fullmatch(value):  # a day or a month as the console writes them elsewhere
        return f"{portal_format.day(t, value)} {value[:4]}"
    if isinstance(value, str) and _MONTH.fullmatch(value):
        return portal_format.month(t, value)
    if isinstance(value, bool) or not isinstance(value, int):
        return t.get(f"admin.{value}", str(value)) if name == "status" else str(value)
    if name.endswith("_bps"):
        return t.fraction(value, 100) + "\u00a0%"
    if name.endswith("_minor"):
        return t.money(value)
    return t.group(value)


def _label(t: Locale, name: str) -> str:
    return t.get(f"admin.field.{name}", name)


def _schedule(t: Locale, entries: Any) -> str:
    """A schedule's entries: "from 1 Apr 2026: Points earned 7.5 %"."""
    if not isinstance(entries, list) or not entries:
        return "—"
    said = []
    for entry in entries:
        day = str(entry.get("effective_from", ""))
        values = entry.get("values", {})
        what = "; ".join(f"{_label(t, k)} {_scalar(t, k, v)}" for k, v in sorted(values.items()))
        said.append(t("admin.from_day", day=f"{portal_format.day(t, day)} {day[:4]}") + f": {what}")
    return " · ".join(said)


def _base(record: AuditEntryOut) -> Mapping[str, int] | None:
    """The first values a schedule starts from (they never change: every later value is a dated change), or None
    when the record's target is gone."""
    kind, _, ident = record.target.partition(":")
    if kind == "program":
        return program.load().schedule.base
    try:
        return partners.load(ident).rate_schedule.base if kind == "partner" else None
    except NotFound:
        return None


def _scheduled(t: Locale, name: str, record: AuditEntryOut, base: Mapping[str, int]) -> list[Value]:
    """A schedule's change as values: for each day it adds or changes, each setting in force that day before the
    change and after it ("Points earned from 1 Apr 2026: 5 % -> 7.5 %")."""
    before = Schedule.from_list(base, (record.before or {}).get(name) or [])
    after = Schedule.from_list(base, (record.after or {}).get(name) or [])
    kept = list(before.changes)
    out = []
    for change in after.changes:
        if change in kept:
            continue
        was, now = before.at(change.effective_at), after.at(change.effective_at)
        day = t("admin.from_day", day=f"{portal_format.day(t, change.effective_from)} {change.effective_from[:4]}")
        for key in sorted(k for k in change.values if was.get(k) != now.get(k)):  # a rate sent unchanged: no news
            out.append(Value(f"{_label(t, key)} {day}", _scalar(t, key, was.get(key)), _scalar(t, key, now.get(key))))
    return out


def values(t: Locale, record: AuditEntryOut) -> list[Value]:
    before, after = record.before or {}, record.after or {}
    out = []
    for name in sorted({*before, *after}):
        whole = all(isinstance(side.get(name, []), list) for side in (before, after))  # not a too-large marker
        base = _base(record) if name in SCHEDULES and whole else None
        if base is not None:
            out += _scheduled(t, name, record, base)
            continue
        show = _schedule if name in SCHEDULES else (lambda t_, v, n=name: _scalar(t_, n, v))
        old = show(t, before.get(name)) if name in before else "—"
        new = show(t, after.get(name)) if name in after else "—"
        out.append(Value(_label(t, name), old, new))
    return out


def _target(record: AuditEntryOut, names: dict[str, str]) -> str:
    """A partner by name; anything else of a partner's (a key, a payment, a campaign) under that partner's name."""
    kind, _, ident = record.target.partition(":")
    if kind == "partner":
        return names.get(ident, record.target)
    owner = names.get(record.partner_id or "")
    return f"{owner} · {record.target}" if owner else record.target


def _actor(actor: str, t: Locale, people: dict[str, str]) -> str:
    """The operator's own staff by name; anyone else by kind and id ("ключ key_…")."""
    kind, _, ident = actor.partition(":")
    if kind == "staff" and ident in people:
        return people[ident]
    return f"{t.get(f'admin.actor.{kind}', kind)} {ident}" if ident else actor


def audit_page(operator: Operator, lang: str, query: dict[str, str], now: datetime) -> Page:
    """A page of the log under the filters asked for; a filter that cannot be one is said next to it."""
    t = i18n.locale(lang)
    tz = program.load(now).timezone
    asked = {k: v for k, v in query.items() if k in (*FILTERS, "cursor") and v}
    problems: dict[str, str] = {}
    try:
        found = audit_log.for_operator(AuditQuery.model_validate({**asked, "limit": PAGE_SIZE}))
    except (ValidationError, ValidationFailed) as error:
        errors = error.errors() if isinstance(error, ValidationError) else error.extra.get("errors", [])
        for e in errors:
            problems[str(e["loc"][-1])] = "invalid"
        found = None
    names = partners.names()
    people = {m.staff_id: m.name for m in staff.list_staff(operator.principal).items}

    def when(iso: str) -> str:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone(tz))
        return f"{t.date(iso.replace('Z', '+00:00'), tz)} {moment:%H:%M}"

    rows = [
        Row(
            when(r.at),
            _actor(r.actor, t, people),
            t.get(f"admin.action.{r.action.replace('.', '_')}", r.action),
            _target(r, names),
            values(t, r),
            r.request_id,
        )
        for r in (found.items if found else [])
    ]
    filters = {k: asked.get(k, "") for k in FILTERS}
    older = None
    if found is not None and found.next_cursor:
        older = "/admin/audit?" + urlencode({**{k: v for k, v in filters.items() if v}, "cursor": found.next_cursor})
    current = period_of(now, tz)
    return page(
        "audit.html",
        operator,
        lang,
        "audit",
        "/admin/audit?" + urlencode({k: v for k, v in filters.items() if v}) + "&lang=",
        rows=rows,
        filters=filters,
        problems=problems,
        older=older,
        partner_options=sorted(names.items(), key=lambda item: item[1].lower()),
        actions=sorted(ACTIONS),
        months=[(m, portal_format.month(t, m)) for m in (add_months(current, -n) for n in range(12))],
    )
