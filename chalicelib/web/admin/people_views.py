"""The console's customers and campaigns: a customer found by phone (balance, tier, latest entries at every partner,
an adjustment with a reason), and every partner's campaigns with pause and end (end after a confirmation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.campaign_lifecycle import TRANSITIONS
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.machinery import program
from chalicelib.schemas import Balance, CampaignOut, CustomerLookupQuery, LedgerEntryOut, TransactionsQuery
from chalicelib.services import campaigns, customers, partners, staff
from chalicelib.web import i18n, portal_format
from chalicelib.web.admin.access import Operator
from chalicelib.web.admin.shell import page
from chalicelib.web.render import Page

LATEST_ENTRIES = 20


@dataclass(frozen=True)
class Found:
    customer_id: str
    balance: Balance
    entries: list[LedgerEntryOut]


def find(phone: str, now: datetime) -> Found | None:
    """The customer with this phone (any spelling), or None; a phone that cannot be one is a ValidationFailed."""
    try:
        ref = customers.lookup(CustomerLookupQuery(phone=phone))
    except NotFound:
        return None
    return by_id(ref.customer_id, now)


def by_id(customer_id: str, now: datetime) -> Found:
    page_ = customers.transactions(customer_id, TransactionsQuery(limit=LATEST_ENTRIES), None)
    return Found(customer_id, customers.balance(customer_id, now), page_.items)


def customers_page(
    operator: Operator,
    lang: str,
    now: datetime,
    phone: str = "",
    found: Found | None = None,
    problems: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
) -> Page:
    """The search by phone; with a customer: their balance, entries and the adjustment form."""
    problems = dict(problems or {})
    if phone and found is None and not problems:
        try:
            found = find(phone, now)
        except ValidationFailed:
            problems["phone"] = "phone"
        if found is None and "phone" not in problems:
            problems["phone"] = "not_found"
    t = i18n.locale(lang)
    tz = program.load(now).timezone
    return page(
        "customers.html",
        operator,
        lang,
        "customers",
        "/admin/customers?lang=",
        phone=phone,
        found=found,
        names=partners.names(),
        when=lambda iso: t.date(iso, tz),
        problems=problems,
        values={"points": "", "reason": "", **(values or {})},
        done=done,
    )


@dataclass(frozen=True)
class CampaignRow:
    campaign: CampaignOut
    sponsor: str
    dates: str
    can_pause: bool
    can_end: bool


def every_campaign(now: datetime) -> list[CampaignOut]:
    """Every partner's campaigns, once each, newest first (through each partner's list: the service's own read)."""
    seen: dict[str, CampaignOut] = {}
    for partner in partners.load_all():
        for c in campaigns.list_for(partner.partner_id, now).items:
            seen.setdefault(c.campaign_id, c)
    return sorted(seen.values(), key=lambda c: c.created_at, reverse=True)


def campaigns_page(operator: Operator, lang: str, now: datetime, confirm: str | None = None) -> Page:
    """Every campaign with its sponsor, dates and status; pause (live ones) and end (any not ended) for a writer;
    ``confirm``: the campaign whose end asks for a confirmation."""
    t = i18n.locale(lang)
    names = partners.names()

    def dates(c: CampaignOut) -> str:
        start = portal_format.day(t, c.starts_at) if c.starts_at else t("portal.starts_on_launch")
        end = portal_format.day(t, c.ends_at) if c.ends_at else t("portal.no_end")
        return f"{start} — {end}"

    rows = [
        CampaignRow(
            c,
            names.get(c.sponsor_partner_id, c.sponsor_partner_id),
            dates(c),
            c.status == "active",  # pausing a paused campaign changes nothing: no button
            c.status in TRANSITIONS["end"][0] and c.status != "ended",
        )
        for c in every_campaign(now)
    ]
    return page("campaigns.html", operator, lang, "campaigns", "/admin/campaigns?lang=", rows=rows, confirm=confirm)


OPERATOR_ROLES = ("operator", "operator_readonly")


def staff_page(
    operator: Operator,
    lang: str,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    status_note: str | None = None,
) -> Page:
    """The operator's own staff: who signs in to the console with which role; invite one, remove one."""
    return page(
        "staff.html",
        operator,
        lang,
        "staff",
        "/admin/staff?lang=",
        members=staff.list_staff(operator.principal).items,
        roles=OPERATOR_ROLES,
        values={"staff_name": "", "contact": "", "role": "operator_readonly", **(values or {})},
        problems=problems or {},
        note=status_note,
    )
