"""The partner portal's pages: each builds its view model from the services' results, then renders its template
(``templates/portal/``). Templates only lay out what is computed here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from chalicelib.domain.periods import add_months, period_of
from chalicelib.errors import ApiError
from chalicelib.schemas import CampaignDay, CampaignOut, CampaignReport, CreateCampaign
from chalicelib.services import campaigns, partners, program, settlement
from chalicelib.web import i18n
from chalicelib.web.i18n import Locale
from chalicelib.web.portal_forms import CAMPAIGN_DEFAULTS
from chalicelib.web.portal_session import Session, csrf_token, new_form_nonce
from chalicelib.web.render import Page, language_links, render

Figure = tuple[str, str]  # a label and its formatted value: ("Наград", "1")


def _page(template: str, lang: str, switch: str, session: Session | None, csrf: str = "", **context: Any) -> Page:
    """Any portal page: the header, the signed-in partner's navigation, and every form's hidden fields."""
    return render(
        template,
        i18n.locale(lang),
        language_links=language_links(lang, switch),
        partner_name=partners.load(session.partner_id).name if session is not None else None,
        csrf=csrf_token(session.token) if session is not None else csrf,
        form_nonce=new_form_nonce,
        **context,
    )


def sign_in(lang: str, csrf: str, error: bool = False) -> Page:
    return _page("portal/sign_in.html", lang, "/portal?lang=", None, csrf, error=error)


def error(lang: str, problem: ApiError) -> Page:
    return render("portal/error.html", i18n.locale(lang), problem=problem)


# --- campaigns ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    campaign_id: str
    name: str
    sponsor_id: str
    sponsor_name: str  # "" when the sponsor is gone
    status: str


def dashboard(session: Session, lang: str, now: datetime) -> Page:
    items = campaigns.list_for(session.partner_id, now).items
    names = partners.names()
    rows = [
        CampaignRow(c.campaign_id, c.name, c.sponsor_partner_id, names.get(c.sponsor_partner_id, ""), c.status)
        for c in items
    ]
    inbox = [row for row, c in zip(rows, items, strict=True) if session.partner_id in c.awaiting_acceptance]
    return _page("portal/dashboard.html", lang, "/portal?lang=", session, campaigns=rows, inbox=inbox)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def campaign_form(session: Session, lang: str, values: dict[str, str], problem: str = "") -> Page:
    """The step-by-step form, filled with what was posted (back from the preview, or refused)."""
    others = [Option(p.partner_id, p.name) for p in partners.directory().items if p.partner_id != session.partner_id]
    return _page(
        "portal/campaign_form.html",
        lang,
        "/portal/campaigns/new?lang=",
        session,
        values={**CAMPAIGN_DEFAULTS, **values},
        partners=others,
        problem=problem,
    )


def describe(c: CreateCampaign, sponsor: str, t: Locale) -> str:
    """The plain-language preview of a campaign, one sentence from the catalogue's ``describe`` pieces."""
    names = partners.names()
    if c.reward.type == "fixed":
        points = c.reward.points
        reward = t.plural("describe.points", points, count=t.group(points))
    else:
        reward = t("describe.percent", rate=t.fraction(getattr(c.reward, "rate_bps", 0), 100))
    who = t("describe.who_all")
    if c.audience and c.audience.purchased_at:
        who = t("describe.who_partner", partner=names.get(c.audience.purchased_at, ""), days=c.audience.within_days)
    elif c.audience and c.audience.new_to_partner:
        who = t("describe.who_new")
    budget_minor = (c.budget_points or 0) * program.load().point_value_minor
    return t(
        "describe.sentence",
        who=who,
        reward=reward,
        first=t("describe.first") if c.per_customer_limit == 1 else "",
        here=names.get(sponsor, sponsor),
        minimum=t("describe.minimum", amount=t.money(c.min_amount_minor)) if c.min_amount_minor else "",
        budget=t("describe.budget", amount=t.money(budget_minor)) if c.budget_points else "",
    )


def preview(session: Session, lang: str, form: dict[str, str], request: CreateCampaign) -> Page:
    # this page is a new render: its forms get their own nonce and CSRF field, the rest of the form travels on
    carried = [(k, v) for k, v in form.items() if k not in ("csrf", "nonce")]
    return _page(
        "portal/preview.html",
        lang,
        "/portal/campaigns/new?lang=",
        session,
        name=request.name,
        description=describe(request, session.partner_id, i18n.locale(lang)),
        carried=carried,
    )


# --- one campaign and its report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    date: str
    points: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)


def chart(days: list[CampaignDay], width: int = 320, height: int = 120, gap: int = 4) -> Chart | None:
    """Points awarded by day as bars (inline SVG: no script)."""
    if not days:
        return None
    top = max(d.points_awarded for d in days) or 1
    bar = max(4, (width - gap * len(days)) // len(days))
    bars = []
    for i, d in enumerate(days):
        h = d.points_awarded * (height - 20) // top
        bars.append(Bar(i * (bar + gap), height - 14 - h, bar, h, d.date, d.points_awarded))
    return Chart(width, height, bars)


def actions(c: CampaignOut, partner_id: str) -> list[tuple[str, bool]]:
    """The buttons this partner's role allows on the campaign now: (action, secondary)."""
    out = []
    if partner_id in c.awaiting_acceptance:
        out.append(("accept", False))
    if partner_id == c.sponsor_partner_id:
        if c.status in ("draft", "pending_acceptance", "paused"):
            out.append(("activate", False))
        if c.status == "active":
            out.append(("pause", True))
        if c.status not in ("ended", "exhausted"):
            out.append(("end", True))
    return out


def results(report: CampaignReport, t: Locale) -> list[Figure]:
    remaining, ratio = report.budget_remaining, report.revenue_per_cost_bps
    return [
        (t("portal.awards"), t.group(report.awards)),
        (t("portal.customers"), t.group(report.customers)),
        (t("portal.new_customers"), t.group(report.new_customers)),
        (t("portal.points_awarded"), t.group(report.points_awarded)),
        (t("portal.budget_left"), t.group(remaining) if remaining is not None else "—"),
        (t("portal.cost"), t.money(report.cost_minor)),
        (t("portal.revenue"), t.money(report.revenue_minor)),
        (t("portal.roi"), t.fraction(ratio, 10_000) if ratio else "—"),
    ]


def _as_request(c: CampaignOut) -> CreateCampaign:
    """The campaign as the request that would create it: what ``describe`` reads."""
    fields = {
        "name": c.name,
        "earn_at": c.earn_at,
        "audience": c.audience,
        "reward": c.reward,
        "min_amount_minor": c.min_amount_minor,
        "budget_points": c.budget_points,
        "per_customer_limit": c.per_customer_limit,
    }
    return CreateCampaign.model_validate({k: v for k, v in fields.items() if v is not None})


def campaign(session: Session, lang: str, campaign_id: str, now: datetime) -> Page:
    t = i18n.locale(lang)
    c = campaigns.get_visible(campaign_id, session.partner_id, now)
    report = campaigns.report(campaign_id, session.partner_id, now)
    names = partners.names()
    return _page(
        "portal/campaign.html",
        lang,
        f"/portal/campaigns/{campaign_id}?lang=",
        session,
        campaign=c,
        description=describe(_as_request(c), c.sponsor_partner_id, t),
        sponsor_name=names.get(c.sponsor_partner_id, ""),
        awaiting=[names.get(p, p) for p in c.awaiting_acceptance],
        actions=actions(c, session.partner_id),
        results=results(report, t),
        chart=chart(report.daily),
    )


# --- settlements --------------------------------------------------------------------------------------------------


def settlements(session: Session, lang: str, period: str | None, now: datetime) -> Page:
    t = i18n.locale(lang)
    current = period_of(now, program.load().timezone)
    period = period or current
    s = settlement.partner_settlement(session.partner_id, period, now)
    points = [
        ("portal.issued", s.issued_points),
        ("portal.reversed", s.issued_reversed_points),
        ("portal.promo", s.promo_points_funded),
        ("portal.accepted", s.accepted_points),
        ("portal.refunded", s.accepted_refunded_points),
    ]
    figures = [(t(key), t.group(value)) for key, value in points] + [(t("portal.fee"), t.money(s.operator_fee_minor))]
    return _page(
        "portal/settlements.html",
        lang,
        f"/portal/settlements?period={quote(period)}&lang=",
        session,
        settlement=s,
        months=[add_months(current, -n) for n in range(6)],
        owed_to_you=s.net_amount_minor >= 0,
        net_minor=abs(s.net_amount_minor),
        figures=figures,
    )
