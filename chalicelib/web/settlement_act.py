"""The reconciliation act: one partner's month on one printable page, in Russian or English. The formula from
points to money (points issued, points of its campaigns, points accepted, their value, the operator's fee, the net),
then what is paid (each payment) and what is still open, and room for both sides' signatures.

The same page serves the partner's portal (``/portal/settlements/{period}/act``) and the operator
(``GET /v1/admin/settlements/{period}/act?partner_id=``; the operator's console links it): :func:`page` is all
either needs."""

from __future__ import annotations

from datetime import datetime

from chalice.app import Response

from chalicelib.domain.periods import zone
from chalicelib.http import Call
from chalicelib.machinery import program
from chalicelib.services import partners, payments, settlement, settlement_csv
from chalicelib.web import i18n, portal_format
from chalicelib.web.queries import ActQuery
from chalicelib.web.render import Page, language_links, render


def page(partner_id: str, period: str, lang: str, now: datetime, *, back: str | None, switch: str) -> Page:
    """The act of ``partner_id`` for ``period`` (checked by the caller). ``back``: where the page's back link goes
    (None: none); ``switch``: the language switch's address up to the language code."""
    t = i18n.locale(lang)
    s = settlement.partner_settlement(partner_id, period, now)
    paid = payments.listed(period, partner_id)
    prog = settlement.program_at_end(period)
    issued_net = s.issued_points - s.issued_reversed_points
    accepted_net = s.accepted_points - s.accepted_refunded_points
    fee_bps = prog.operator_fee_bps
    lines = [
        (t("act.issued_net"), -issued_net, None),
        (t("act.promo"), -s.promo_points_funded, None),
        (t("act.accepted_net"), accepted_net, None),
        (t("act.net_points"), s.net_points, None),
        (t("act.value"), None, s.net_amount_minor + s.operator_fee_minor),
        (t("act.fee", percent=t.fraction(fee_bps, 100)), None, -s.operator_fee_minor),
        (t("act.net"), None, s.net_amount_minor),
        (t("act.paid"), None, s.paid_minor),
        (t("act.open"), None, s.open_minor),
    ]
    owed = t("act.owed_to_you") if s.open_minor > 0 else t("act.you_owe") if s.open_minor < 0 else t("act.settled")
    return render(
        "act/act.html",
        t,
        language_links=language_links(lang, switch),
        program_name=_program_name(t),
        partner_name=partners.load(partner_id).name,
        settlement=s,
        month_name=portal_format.month(t, period),
        point_value=prog.point_value_minor,
        lines=lines,
        owed=owed,
        payments=paid.items,
        day=lambda iso: portal_format.day(t, iso) + " " + iso[:4],
        back=back,
        generated=now.astimezone(zone(prog.timezone)).strftime("%Y-%m-%d %H:%M"),
    )


def _program_name(t: i18n.Locale) -> str:
    """The program's own name where its settings have one, else the site's title."""
    named = getattr(program.load(), "name", None)
    return named if isinstance(named, str) and named else t("site.title")


def for_operator(call: Call[None, ActQuery]) -> Response:
    """``GET /v1/admin/settlements/{period}/act?partner_id=``: the operator's copy of a partner's act."""
    period = settlement.check_period(call.params["period"], call.now)
    partner_id = call.query.partner_id
    partners.load(partner_id)  # 404 for a partner that does not exist
    lang = i18n.pick(call.query.lang, settlement_csv.language(call.header("Accept-Language")))
    switch = f"/v1/admin/settlements/{period}/act?partner_id={partner_id}&lang="
    act = page(partner_id, period, lang, call.now, back=None, switch=switch)
    return Response(body=act.body, status_code=200, headers=dict(act.headers))
