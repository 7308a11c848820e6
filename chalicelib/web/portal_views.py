"""The partner portal's pages: each builds its view model from the services' results, then renders its template
(``templates/portal/``). Templates only lay out what is computed here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from chalicelib.domain.periods import add_months, period_of
from chalicelib.errors import ApiError
from chalicelib.machinery import program
from chalicelib.schemas import CampaignOut, CampaignReport, CreateCampaign
from chalicelib.services import campaigns, partners, settlement
from chalicelib.web import i18n, portal_chart, portal_format
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
        role=session.role if session is not None else None,
        person=session.name if session is not None else "",
        csrf=csrf_token(session.token) if session is not None else csrf,
        form_nonce=new_form_nonce,
        **context,
    )


page = _page  # the portal's other page modules (portal_people) build their pages the same way


def sign_in(lang: str, csrf: str, error: bool = False, suspended: bool = False, closed: bool = False) -> Page:
    """Staff sign in with a code; the API key only until the partner has an owner (its first sign-in)."""
    context = {"error": error, "suspended": suspended, "closed": closed}
    return _page("portal/sign_in.html", lang, "/portal?lang=", None, csrf, **context)


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
    """The inbox (waiting for this partner's answer), the campaigns it sponsors, and those that name it."""
    items = campaigns.list_for(session.partner_id, now).items
    names = partners.names()
    me = session.partner_id

    def row(c: CampaignOut) -> CampaignRow:
        return CampaignRow(c.campaign_id, c.name, c.sponsor_partner_id, names.get(c.sponsor_partner_id, ""), c.status)

    return _page(
        "portal/dashboard.html",
        lang,
        "/portal?lang=",
        session,
        inbox=[row(c) for c in items if me in c.awaiting_acceptance],
        campaigns=[row(c) for c in items if c.sponsor_partner_id == me],
        invitations=[row(c) for c in items if c.sponsor_partner_id != me and me not in c.awaiting_acceptance],
    )


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def campaign_form(session: Session, lang: str, values: dict[str, str], problems: dict[str, str] | None = None) -> Page:
    """The step-by-step form, filled with what was posted (back from the preview, or refused: ``problems`` by field,
    each shown beside its field and all listed at the top)."""
    others = [Option(p.partner_id, p.name) for p in partners.directory().items if p.partner_id != session.partner_id]
    return _page(
        "portal/campaign_form.html",
        lang,
        "/portal/campaigns/new?lang=",
        session,
        values={**CAMPAIGN_DEFAULTS, **values},
        partners=others,
        problems=problems or {},
    )


def describe(c: CreateCampaign, sponsor: str, t: Locale, viewer: str | None = None) -> str:
    """The plain-language preview of a campaign, one sentence from the catalogue's ``describe`` pieces; a named
    partner (``viewer`` other than the sponsor) reads who pays, the sponsor reads that it pays."""
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
        here=t("describe.or").join(names.get(p, p) for p in c.earn_at),  # the sentence quotes each name (ru)
        minimum=t("describe.minimum", amount=t.money(c.min_amount_minor)) if c.min_amount_minor else "",
        budget=_budget(t, budget_minor, names.get(sponsor, sponsor), viewer in (None, sponsor))
        if c.budget_points
        else "",
    )


def _budget(t: Locale, amount_minor: int, sponsor_name: str, sponsor_reads: bool) -> str:
    if sponsor_reads:
        return t("describe.budget", amount=t.money(amount_minor))
    return t("describe.budget_sponsor", sponsor=sponsor_name, amount=t.money(amount_minor))


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


ANSWERABLE = ("draft", "pending_acceptance")  # a named partner answers until the campaign first runs


def actions(c: CampaignOut, partner_id: str) -> list[tuple[str, bool]]:
    """The buttons this partner's role allows on the campaign now: (action, secondary). "Activate" only once every
    named partner has accepted; a named partner may change its answer until the campaign runs."""
    out = []
    state = c.partner_states.get(partner_id)
    if state in ("awaiting", "declined") and c.status in ANSWERABLE:
        out.append(("accept", False))
    if state in ("awaiting", "accepted") and c.status in ANSWERABLE:
        out.append(("decline", True))
    if partner_id == c.sponsor_partner_id:
        ready = not c.awaiting_acceptance and not c.declined_by
        if ready and c.status in ("draft", "pending_acceptance", "paused"):
            out.append(("activate", False))
        if c.status == "active":
            out.append(("pause", True))
        if c.status not in ("ended", "exhausted"):
            out.append(("end", True))
    return out


def results(report: CampaignReport, t: Locale) -> list[Figure]:
    """The report's figures; the cost is what the sponsor pays: the points' value and the operator's fee on it."""
    remaining = report.budget_remaining
    fee = report.cost_minor * program.load().operator_fee_bps // 10_000 if report.cost_minor > 0 else 0
    total = report.cost_minor + fee
    return [
        (t("portal.awards"), t.group(report.awards)),
        (t("portal.customers"), t.group(report.customers)),
        (t("portal.new_customers"), t.group(report.new_customers)),
        (t("portal.points_awarded"), t.group(report.points_awarded)),
        (t("portal.budget_left"), t.group(remaining) if remaining is not None else "—"),
        (t("portal.points_cost"), t.money(report.cost_minor)),
        (t("portal.fee"), t.money(fee)),
        (t("portal.cost"), t.money(total)),
        (t("portal.revenue"), t.money(report.revenue_minor)),
        (t("portal.roi"), portal_format.ratio(t, report.revenue_minor, total) if total > 0 else "—"),
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


def _dates(c: CampaignOut, t: Locale) -> tuple[str, str]:
    tz = program.load().timezone
    starts = t.date(c.starts_at, tz) if c.starts_at else t("portal.starts_on_launch")
    ends = t.date(c.ends_at, tz) if c.ends_at else t("portal.no_end")
    return starts, ends


def campaign(
    session: Session,
    lang: str,
    campaign_id: str,
    now: datetime,
    refusal: tuple[str, str] | None = None,
    confirm: str = "",
) -> Page:
    """One campaign; ``refusal`` is why the last action was refused, ``confirm`` an action to confirm first."""
    t = i18n.locale(lang)
    c = campaigns.get_visible(campaign_id, session.partner_id, now)
    report = campaigns.report(campaign_id, session.partner_id, now)
    names = partners.names()
    starts, ends = _dates(c, t)
    return _page(
        "portal/campaign.html",
        lang,
        f"/portal/campaigns/{campaign_id}?lang=",
        session,
        campaign=c,
        description=describe(_as_request(c), c.sponsor_partner_id, t, session.partner_id),
        sponsor_name=names.get(c.sponsor_partner_id, ""),
        awaiting=[names.get(p, p) for p in c.awaiting_acceptance],
        answers=[(names.get(p, p), state) for p, state in sorted(c.partner_states.items())],
        starts=starts,
        ends=ends,
        actions=[] if confirm else actions(c, session.partner_id),
        confirm=confirm,
        refusal=refusal,
        results=results(report, t),
        chart=portal_chart.chart(report.daily, t),
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
        month_name=portal_format.month(t, s.period),
        months=[(m, portal_format.month(t, m)) for m in (add_months(current, -n) for n in range(6))],
        owed_to_you=s.net_amount_minor >= 0,
        net_minor=abs(s.net_amount_minor),
        figures=figures,
    )
