"""The console's partners and program pages: every partner with its rates and status, one partner's settings (rates
from a date, return window, spend policy), suspension and keys, and the program's settings. Built from the services'
answers; the templates (``templates/admin/``) only lay them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.machinery import program
from chalicelib.schemas import PartnerOut
from chalicelib.services import partners
from chalicelib.web import i18n, portal_format
from chalicelib.web.admin.access import Operator
from chalicelib.web.admin.shell import page
from chalicelib.web.i18n import Locale
from chalicelib.web.render import Page

POLICIES = ("always", "above", "never")


@dataclass(frozen=True)
class Change:
    """A scheduled change as the page says it: from which day, and what becomes what."""

    day: str
    what: list[tuple[str, str]]  # (label, new value)


def _percent(t: Locale, bps: int | None) -> str:
    return "" if bps is None else t.fraction(bps, 100)


def _partner_changes(t: Locale, p: PartnerOut) -> list[Change]:
    labels = {"earn_rate_bps": t("admin.earn_rate"), "max_redeem_share_bps": t("admin.max_redeem_share")}
    return [
        Change(
            portal_format.day(t, c.effective_from) + " " + c.effective_from[:4],
            [(labels[k], _percent(t, v) + "\u00a0%") for k, v in c.model_dump().items() if k in labels and v],
        )
        for c in p.scheduled_changes
    ]


def partner_values(t: Locale, p: PartnerOut) -> dict[str, str]:
    """The settings form as the partner stands now."""
    return {
        "earn_rate": _percent(t, p.earn_rate_bps),
        "max_redeem_share": _percent(t, p.max_redeem_share_bps),
        "effective_from": "",
        "pending_days": str(p.pending_days),
        "spend_confirmation": p.spend_confirmation,
        "above_points": str(p.spend_confirmation_above_points or ""),
    }


NEW_PARTNER = {
    "name": "",
    "category": "",
    "earn_rate": "5",
    "max_redeem_share": "50",
    "pending_days": "0",
    "spend_confirmation": "always",
    "above_points": "",
    "owner_name": "",
    "owner_contact": "",
}


def partners_page(
    operator: Operator,
    lang: str,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
) -> Page:
    """Every partner, and the form for a new one (``created``: the new partner and its key, shown this once)."""
    t = i18n.locale(lang)
    rows = sorted(partners.list_partners().items, key=lambda p: p.name.lower())
    return page(
        "partners.html",
        operator,
        lang,
        "partners",
        "/admin?lang=",
        partners=rows,
        changes={p.partner_id: _partner_changes(t, p) for p in rows},
        percent=lambda bps: _percent(t, bps),
        values={**NEW_PARTNER, **(values or {})},
        problems=problems or {},
        created=created,
        policies=POLICIES,
    )


def partner_page(
    operator: Operator,
    lang: str,
    partner_id: str,
    now: datetime,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    key: dict[str, Any] | None = None,
    confirm: str | None = None,
    saved: bool = False,
) -> Page:
    """One partner: its settings form, what is scheduled, suspend or resume (after a confirmation), its keys."""
    t = i18n.locale(lang)
    p = partners.to_out(partners.load(partner_id), now)
    return page(
        "partner.html",
        operator,
        lang,
        "partners",
        f"/admin/partners/{partner_id}?lang=",
        partner=p,
        changes=_partner_changes(t, p),
        percent=lambda bps: _percent(t, bps),
        values={**partner_values(t, p), **(values or {})},
        problems=problems or {},
        key=key,
        keys=partners.listed_keys(partner_id),
        confirm=confirm,
        saved=saved,
        policies=POLICIES,
    )


def program_values(t: Locale, now: datetime) -> dict[str, str]:
    current = program.load(now)
    return {
        "program_name": str(current.notifications.get("sender_name") or _default_name()),
        "point_value": t.fraction(current.point_value_minor, 100),
        "operator_fee": _percent(t, current.operator_fee_bps),
        "effective_from": "",
        "expiry_months": str(current.expiry_months),
    }


def _default_name() -> str:
    from chalicelib.notify.settings import NotificationSettings

    return NotificationSettings().sender_name


def program_page(
    operator: Operator,
    lang: str,
    now: datetime,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    saved: bool = False,
) -> Page:
    """The program's settings: money settings change from a date (what is scheduled is listed), the rest at once."""
    t = i18n.locale(lang)
    current = program.load(now)
    labels = {"point_value_minor": t("admin.point_value"), "operator_fee_bps": t("admin.operator_fee")}
    shown = {"point_value_minor": lambda v: t.money(v), "operator_fee_bps": lambda v: _percent(t, v) + "\u00a0%"}
    changes = [
        Change(
            portal_format.day(t, c.effective_from) + " " + c.effective_from[:4],
            [(labels[k], shown[k](v)) for k, v in c.values.items() if k in labels and v is not None],
        )
        for c in current.schedule.upcoming(now)
    ]
    return page(
        "program.html",
        operator,
        lang,
        "program",
        "/admin/program?lang=",
        program=current,
        changes=changes,
        values={**program_values(t, now), **(values or {})},
        problems=problems or {},
        saved=saved,
    )
