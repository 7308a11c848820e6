"""The partner portal over HTTP (``/portal``): language, session and CSRF in one place, then the page or the write.

Pages are server-rendered with the customer page's security headers and call the same services as the API; every
failure becomes a page, never JSON. Sessions and form tokens: ``portal_session``; form parsing: ``portal_forms``;
pages: ``portal_views``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import runtime
from chalicelib.domain import signing
from chalicelib.errors import ApiError, PartnerSuspended, ValidationFailed
from chalicelib.machinery import limits
from chalicelib.schemas import CampaignOut
from chalicelib.services import auth, campaigns, partners, settlement, settlement_csv, staff, staff_auth
from chalicelib.web import (
    i18n,
    portal_integrations,
    portal_people,
    portal_roles,
    portal_views,
    portal_webhooks,
    staff_session,
)
from chalicelib.web.portal_forms import campaign_request, parse_form, problems
from chalicelib.web.portal_session import (
    CSRF_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    SESSION_MINUTES,
    Session,
    check_csrf,
    cookie,
    cookies,
    end_session,
    issue_session,
    new_csrf_cookie,
    read_session,
    write_request,
)
from chalicelib.web.render import Headers, Page, is_https, redirect

READS = {  # no CSRF check: they change nothing
    "dashboard",
    "new",
    "campaign",
    "settlements",
    "csv",
    "reconciliation_act",
    "audit",
    "staff",
    "keys",
    "webhooks",
    "webhook",
    "integrations",
}
ACTIONS = {
    "accept": campaigns.accept,
    "decline": campaigns.decline,
    "activate": campaigns.activate,
    "pause": campaigns.pause,
    "end": campaigns.end,
}
CONFIRM_FIRST = {"end"}  # no way back: the button leads to a confirmation, its own form does it
# refusals the campaign page explains in the page's language (the catalogue's portal.refused.*), with partner names
EXPLAINED = {
    "campaign_not_accepted",
    "campaign_declined",
    "invalid_campaign_state",
    "campaign_limit_reached",
    "forbidden",
}


@dataclass(frozen=True)
class Request:
    call: Any
    lang: str
    form: dict[str, str]
    remember: list[str]  # the Set-Cookie keeping an explicit ?lang= for the next pages

    @property
    def extra(self) -> Headers:
        return {"Set-Cookie": self.remember} if self.remember else {}

    def cookie(self, name: str, value: str, max_age: int) -> str:
        return cookie(name, value, is_https(self.call), max_age)


def _response(page: Page, status: int = 200, extra: Headers | None = None) -> Any:
    from chalice.app import Response

    return Response(body=page.body, status_code=status, headers={**page.headers, **(extra or {})})


def _language(call: Any) -> tuple[str, bool]:
    """The page's language (``?lang=``, then the cookie) and whether it was asked for explicitly."""
    asked = call.query.lang if call.query is not None else None
    return i18n.pick(asked, cookies(call.header("cookie")).get(LANG_COOKIE)), bool(asked)


def handle(call: Any, view: str) -> Any:
    """One entry for every portal route; failures become a page, not JSON."""
    try:
        return _handle(call, view)
    except ApiError as error:
        page = portal_views.error(_language(call)[0], error)
        retry: Headers = {"Retry-After": error.headers["Retry-After"]} if "Retry-After" in error.headers else {}
        return _response(page, error.status if error.status < 500 else 500, retry)


def _handle(call: Any, view: str) -> Any:
    lang, asked = _language(call)
    form = parse_form(call.raw_body) if call.raw_body else {}
    remember = [cookie(LANG_COOKIE, lang, is_https(call), 365 * 86400)] if asked else []
    request = Request(call, lang, form, remember)
    if view == "login":
        return _login(request)
    session = read_session(call.header("cookie"), call.now) or portal_roles.staff(call)
    if session is None:
        return _signed_out(request)
    if not isinstance(session, Session):
        return session  # a cashier sent to the till, operator staff refused
    if call.raw_body is not None and view not in READS:
        check_csrf(form, session.token)
    if view not in VIEWS:
        raise ApiError(f"unknown portal view {view}")
    elsewhere = portal_roles.allowed(session, view)
    # a role sent to its own page keeps the language asked for (an accountant signing in in English reads English)
    return VIEWS[view](request, session) if elsewhere is None else redirect(elsewhere, remember)


def _login(r: Request) -> Any:
    """The sign-in form posts the API key; the answer is the session cookie, never the key."""
    csrf = cookies(r.call.header("cookie")).get(CSRF_COOKIE, "")
    if not csrf or not signing.verify(r.form.get("csrf", ""), csrf):
        return redirect("/portal")
    typed = r.form.get("api_key", "").strip()
    limits.portal_login(r.call.source_ip, typed)  # 429 page with Retry-After before the key is even looked at
    suspended = False
    try:
        principal = auth.authenticate(f"Bearer {typed}", runtime.get().settings.key_pepper, at_once=True)
    except PartnerSuspended:  # the key is right: say why the door is shut, not that the key is wrong
        principal, suspended = None, True
    except ApiError:
        principal = None
    # the key signs in only until the partner has an owner: then its people sign in as themselves
    closed = principal is not None and not principal.operator and staff.has_owner(principal.require_partner())
    if principal is None or principal.operator or closed:
        fresh = new_csrf_cookie()
        page = portal_views.sign_in(r.lang, fresh, error=True, suspended=suspended, closed=closed)
        return _response(page, 401, {"Set-Cookie": [r.cookie(CSRF_COOKIE, fresh, 3600), _staff_csrf(r, fresh)]})
    token = issue_session(principal, r.call.now)
    return redirect(
        "/portal",
        [r.cookie(SESSION_COOKIE, token, SESSION_MINUTES * 60), r.cookie(CSRF_COOKIE, "", 0)],
    )


def _signed_out(r: Request) -> Any:
    if r.call.raw_body:  # a form posted after the session ended: back to sign-in
        return redirect("/portal")
    fresh = new_csrf_cookie()
    page = portal_views.sign_in(r.lang, fresh)
    set_cookies = [*r.remember, r.cookie(CSRF_COOKIE, fresh, 3600), _staff_csrf(r, fresh)]
    return _response(page, 200, {"Set-Cookie": set_cookies})


def _staff_csrf(r: Request, fresh: str) -> str:
    """The staff sign-in form on the same page checks its own double-submit cookie (Path=/, all areas)."""
    return staff_session.cookie(r.call, staff_session.CSRF_COOKIE, fresh, 3600)


def _logout(r: Request, session: Session) -> Any:
    if session.staff_id is not None:  # a staff member's session: the same sign-out as at the till
        staff_auth.sign_out(session.token)
        return redirect("/portal", [staff_session.cookie(r.call, staff_session.SESSION_COOKIE, "", 0)])
    end_session(session)  # server-side: a copy of the cookie is refused from now on
    return redirect("/portal", [r.cookie(SESSION_COOKIE, "", 0)])


def _dashboard(r: Request, session: Session) -> Any:
    return _response(portal_views.dashboard(session, r.lang, r.call.now), extra=r.extra)


def _campaign_form(r: Request, session: Session) -> Any:
    return _response(portal_views.campaign_form(session, r.lang, r.form), extra=r.extra)


def _preview(r: Request, session: Session) -> Any:
    try:
        request = campaign_request(session, r.form, r.call.now)
    except ValidationFailed as error:
        return _refused(r, session, error)
    return _response(portal_views.preview(session, r.lang, r.form, request), extra=r.extra)


def _create(r: Request, session: Session) -> Any:
    try:
        request = campaign_request(session, r.form, r.call.now)
        write = write_request(session, r.form, "/portal/campaigns", r.call.now)
        created = campaigns.create(write, request, session.partner_id, r.call.now)
    except ValidationFailed as error:
        return _refused(r, session, error)
    return redirect(f"/portal/campaigns/{created.result(CampaignOut).campaign_id}")


def _refused(r: Request, session: Session, error: ValidationFailed) -> Any:
    """Back to the form, as typed, with what was wrong."""
    return _response(portal_views.campaign_form(session, r.lang, r.form, problems(error)), 422, r.extra)


def _campaign(r: Request, session: Session) -> Any:
    page = portal_views.campaign(session, r.lang, r.call.params["campaign_id"], r.call.now)
    return _response(page, extra=r.extra)


def _act(r: Request, session: Session) -> Any:
    campaign_id, action = r.call.params["campaign_id"], r.call.params["action"]
    if action not in ACTIONS:
        raise ValidationFailed.at(["path", "action"], "unknown action", "enum")
    if action in CONFIRM_FIRST and r.form.get("confirmed") != "yes":
        page = portal_views.campaign(session, r.lang, campaign_id, r.call.now, confirm=action)
        return _response(page, extra=r.extra)
    path = f"/portal/campaigns/{campaign_id}/{action}"
    try:
        write = write_request(session, r.form, path, r.call.now)
        ACTIONS[action](write, campaign_id, session.partner_id, r.call.now)
    except ApiError as error:
        if error.code not in EXPLAINED:
            raise
        names = partners.names()
        who = [names.get(p, p) for p in error.extra.get("awaiting", error.extra.get("declined", []))]
        refusal = (error.code, ", ".join(who))
        page = portal_views.campaign(session, r.lang, campaign_id, r.call.now, refusal=refusal)
        return _response(page, error.status, r.extra)
    return redirect(f"/portal/campaigns/{campaign_id}")


def _settlements(r: Request, session: Session) -> Any:
    period = r.call.query.period if r.call.query is not None else None
    checked = settlement.check_period(period, r.call.now) if period else None
    return _response(portal_views.settlements(session, r.lang, checked, r.call.now), extra=r.extra)


def _csv(r: Request, session: Session) -> Any:
    from chalice.app import Response

    s = settlement.partner_settlement(session.partner_id, r.call.params["period"], r.call.now)
    table = r.call.query.table if r.call.query is not None else "statement"
    # the same file, under the same name, as GET /v1/settlements/{period}?format=csv; headers in the page's language
    headers: Headers = {**settlement_csv.headers(s.partner_name, s.period, table), "Content-Language": r.lang}
    return Response(body=settlement_csv.partner_csv(s, r.lang, table), status_code=200, headers=headers)


def _reconciliation_act(r: Request, session: Session) -> Any:
    from chalicelib.web import settlement_act

    period = settlement.check_period(r.call.params["period"], r.call.now)
    back = f"/portal/settlements?period={period}"
    switch = f"/portal/settlements/{period}/act?lang="
    page = settlement_act.page(session.partner_id, period, r.lang, r.call.now, back=back, switch=switch)
    return _response(page, extra=r.extra)


def _audit(r: Request, session: Session) -> Any:
    from chalicelib.web import portal_audit

    q = r.call.query
    period = settlement.check_period(q.period, r.call.now) if q is not None and q.period else None
    return _response(portal_audit.page(session, r.lang, q.cursor if q is not None else None, period), extra=r.extra)


VIEWS: dict[str, Callable[[Request, Session], Any]] = {
    "logout": _logout,
    "dashboard": _dashboard,
    "new": _campaign_form,
    "edit": _campaign_form,
    "preview": _preview,
    "create": _create,
    "campaign": _campaign,
    "act": _act,
    "settlements": _settlements,
    "csv": _csv,
    **portal_people.VIEWS,
    **portal_webhooks.VIEWS,
    **portal_integrations.VIEWS,
    "reconciliation_act": _reconciliation_act,
    "audit": _audit,
}
