"""The customer's pages over HTTP (``/me``...): sign-in with a one-time code, the session cookie, and the page's
forms (a code to pay with points, sign out, sign out everywhere).

- ``GET /me``: the page, for a signed-in customer (session cookie) or from a link (``?token=``). Opening a genuine
  link also starts a session, which ends when the link would have; it is read-only (a link proves nothing about who
  holds it): every form that changes something, and the data export, answer a "confirm with a code" page instead.
  A browser signed in as someone else is asked first (``POST /me/open-link`` switches).
- ``GET /me/sign-in`` -> ``POST /me/sign-in`` (phone or e-mail) -> ``POST /me/sign-in/code`` -> ``/me``.
- ``POST /me/confirm``: on a page opened from a link, a code to the customer's own channel; with the code, a code
  session in place of the link's.
- ``POST /me/spend-code``: a six-digit code and its QR, valid for a few minutes, for any till, once.
- ``POST /me/sign-out`` and ``POST /me/sign-out-everywhere`` (allowed to a link session too: they only take away).

Cookies are HttpOnly, SameSite=Strict, ``Path=/me``, Secure except on this machine. Every signed-in form carries a
CSRF token derived from the session, checked on every POST (``require_session``); the sign-in forms a double-submit
token (a cookie and the same value in the form). ``lc_device`` marks a browser that signed in with a code (its own
sign-in bucket, see ``customer_auth``). Failures become pages, never JSON; a 429 page carries ``Retry-After``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from chalicelib import runtime
from chalicelib.domain import signing
from chalicelib.errors import ApiError, BadRequest, CodeLocked, CustomerCodeInvalid, Forbidden, Unauthorized
from chalicelib.services import customer_auth, customers, portal_links, spend_codes
from chalicelib.services.portal_links import PortalAccess
from chalicelib.web import customer_page, i18n
from chalicelib.web.portal_forms import parse_form
from chalicelib.web.portal_session import cookies
from chalicelib.web.render import Headers, Page, is_https, language_links, redirect, render

SESSION_COOKIE, CSRF_COOKIE, DEVICE_COOKIE = "lc_session", "lc_csrf", "lc_device"


class CodeSignInRequired(Forbidden):
    """A page opened from a link asked for something only a code sign-in may do: answered with "confirm with a
    code" (the page, not JSON)."""

    code, title = "code_sign_in_required", "Confirm with a code"


def cookie(call: Any, name: str, value: str, max_age: int) -> str:
    flags = "; Secure" if is_https(call) else ""
    return f"{name}={value}; Path=/me; HttpOnly; SameSite=Strict; Max-Age={max(0, max_age)}{flags}"


def csrf_for(session_value: str) -> str:
    key = signing.derive_key(runtime.get().settings.portal_secret, "customer-csrf")
    return signing.sign_hex(key, session_value, length=32)


@dataclass(frozen=True)
class Request:
    call: Any
    lang: str | None  # asked for with ?lang=
    form: dict[str, str]
    jar: dict[str, str]

    @property
    def now(self) -> datetime:
        return self.call.now  # type: ignore[no-any-return]

    @property
    def session_value(self) -> str:
        return self.jar.get(SESSION_COOKIE, "")

    def cookie(self, name: str, value: str, max_age: int) -> str:
        return cookie(self.call, name, value, max_age)

    def suffix(self) -> str:
        return "?" + urlencode({"lang": self.lang}) if self.lang else ""


def respond(page: Page, status: int = 200, set_cookies: list[str] | None = None) -> Any:
    from chalice.app import Response

    headers: Headers = dict(page.headers)
    if set_cookies:
        headers["Set-Cookie"] = set_cookies if len(set_cookies) > 1 else set_cookies[0]
    return Response(body=page.body, status_code=status, headers=headers)


def handle(call: Any, view: str, views: dict[str, Callable[[Request], Any]] | None = None) -> Any:
    """One entry for every customer route; failures become the error page."""
    lang = call.query.lang if call.query is not None else None
    r = Request(call, lang, parse_form(call.raw_body) if call.raw_body else {}, cookies(call.header("cookie")))
    try:
        return (VIEWS if views is None else views)[view](r)
    except CodeSignInRequired:
        return _confirm_page(r, 403)
    except ApiError as error:
        response = respond(customer_page.error_page(i18n.pick(lang)), error.status if error.status < 500 else 500)
        return with_retry_after(response, error)


def with_retry_after(response: Any, error: ApiError) -> Any:
    if "Retry-After" in error.headers:  # a limit (429): when to try again
        response.headers["Retry-After"] = error.headers["Retry-After"]
    return response


# --- the page ---------------------------------------------------------------------------------------------------


def _signed_in(r: Request) -> PortalAccess | None:
    return customer_auth.session_access(r.session_value, r.now)


def _page(r: Request) -> Any:
    token = r.call.query.token if r.call.query is not None else None
    cursor = r.call.query.cursor if r.call.query is not None else None
    if token:
        access = customer_auth.verify_link(token, r.now)
        view = portal_links.view(access, r.now, cursor)  # refuses a link ended by "sign out everywhere"
        current = _signed_in(r)
        if current is not None and current.customer_id != access.customer_id:
            return _switch_page(r, current, view, token)  # never replace who is signed in without asking
        # the same customer keeps the session she has (it may be a code sign-in's); else the link opens one
        set_cookies = [_link_session(r, access)[1]] if current is None else []
        return _without_token(r, cursor, set_cookies)  # the session carries her now: the token leaves the address
    found = _signed_in(r)
    if found is None:
        return redirect("/me/sign-in" + r.suffix())
    view = portal_links.view(found, r.now, cursor)
    lang = i18n.pick(r.lang, view.data.locale)
    csrf = csrf_for(r.session_value)
    page = customer_page.render_page(view, lang, "", r.now, csrf=csrf, access=found, suffix=r.suffix())
    return respond(page)


def _without_token(r: Request, cursor: str | None, set_cookies: list[str]) -> Any:
    """The page again at ``/me``, without the token: it stays out of the address bar, the history and bookmarks.
    A link opened from another site (a webmail) is a cross-site navigation: a browser would not send the
    SameSite=Strict session cookie on an HTTP redirect in that chain, so the page moves on by itself (a refresh
    from this site's own page, which does carry it)."""
    query = {k: v for k, v in (("lang", r.lang), ("cursor", cursor)) if v}
    location = "/me" + ("?" + urlencode(query) if query else "")
    if (r.call.header("sec-fetch-site") or "").lower() != "cross-site":
        return redirect(location, set_cookies)
    page = render("customer/opening.html", i18n.locale(i18n.pick(r.lang)), location=location, language_links=[])
    return respond(page, 200, set_cookies)


def _link_session(r: Request, access: PortalAccess) -> tuple[str, str]:
    """A read-only session from a genuine link (it ends with the link): its cookie value and Set-Cookie."""
    started = customer_auth.open_link_session(access, r.now)
    max_age = int((started.expires_at - r.now).total_seconds())
    return started.cookie_value, r.cookie(SESSION_COOKIE, started.cookie_value, max_age)


def _switch_page(r: Request, current: PortalAccess, view: portal_links.PortalView, token: str) -> Any:
    """ "You are signed in as X; open Y's link instead?": the switch is a POST bound to the current session."""
    lang = i18n.pick(r.lang, view.data.locale)
    signed_in_as = customers.load(current.customer_id).name or ""
    page = render(
        "customer/switch.html",
        i18n.locale(lang),
        current_name=signed_in_as,
        link_name=view.data.name or "",
        token=token,
        csrf=csrf_for(r.session_value),
        suffix=r.suffix(),
        language_links=[],
    )
    return respond(page)


def _open_link(r: Request) -> Any:
    """``POST /me/open-link``: the customer said yes: sign this browser out and open the link's page."""
    require_session(r, confirmed=False)
    access = customer_auth.verify_link(r.form.get("token", ""), r.now)
    portal_links.view(access, r.now)  # a link ended by "sign out everywhere" opens nothing
    customer_auth.sign_out(r.session_value)
    _, cookie = _link_session(r, access)
    return redirect("/me" + r.suffix(), [cookie])


def signed_in_customer(r: Request) -> str:
    """The signed-in customer's id, for reads that only a code sign-in may make (her data export): the cookie is
    SameSite=Strict, no CSRF token needed; a link session is offered "confirm with a code"."""
    access = _signed_in(r)
    if access is None:
        raise Unauthorized("Sign in again.")
    if not access.confirmed:
        raise CodeSignInRequired("Confirm with a code to do this.")
    return access.customer_id


def require_session(r: Request, *, confirmed: bool = True) -> PortalAccess:
    """Every POST form of the page: a live session, the form's CSRF token bound to it, and (unless the form only
    takes away: sign-out) a session opened by a code sign-in, not by a link."""
    access = _signed_in(r)
    if access is None:
        raise Unauthorized("Sign in again.")
    if not signing.verify(r.form.get("csrf", ""), csrf_for(r.session_value)):
        raise Forbidden("The form expired or did not come from this page; reload the page.")
    if confirmed and not access.confirmed:
        raise CodeSignInRequired("Confirm with a code to do this.")
    return access


def _spend_code(r: Request) -> Any:
    """A code for at most the points the customer typed (the page offers her available points), never more than
    she has: the code page shows that amount with the code."""
    access = require_session(r)
    view = portal_links.view(access, r.now)
    available = view.data.balance.available
    typed = r.form.get("points", "").strip()
    wanted = int(typed) if len(typed) <= 9 and typed.isascii() and typed.isdigit() else 0
    most = min(wanted, available) if wanted > 0 else available
    issued = spend_codes.page_code(access.customer_id, r.now, most)
    lang = i18n.pick(r.lang, view.data.locale)
    page = customer_page.spend_code_page(issued, most, lang, csrf_for(r.session_value), view, r.suffix())
    return respond(page)


def _sign_out(r: Request) -> Any:
    require_session(r, confirmed=False)
    customer_auth.sign_out(r.session_value)
    return redirect("/me/sign-in" + r.suffix(), [r.cookie(SESSION_COOKIE, "", 0)])


def _sign_out_everywhere(r: Request) -> Any:
    access = require_session(r, confirmed=False)
    customer_auth.sign_out_everywhere(access.customer_id, r.now)
    return redirect("/me/sign-in" + r.suffix(), [r.cookie(SESSION_COOKIE, "", 0)])


# --- confirm with a code (a page opened from a link) ------------------------------------------------------------


def _confirm_page(r: Request, status: int = 200, sent: bool = False, error: str | None = None, left: int = 0) -> Any:
    """The offer to confirm with a code (or, once sent, the field for it): its forms carry the session's token."""
    access = _signed_in(r)
    if access is None:
        return redirect("/me/sign-in" + r.suffix())
    lang = i18n.pick(r.lang, customers.load(access.customer_id).locale)
    page = render(
        "customer/confirm.html",
        i18n.locale(lang),
        sent=sent,
        error=error,
        left=left,
        csrf=csrf_for(r.session_value),
        suffix=r.suffix(),
        language_links=[],
    )
    return respond(page, status)


def _confirm(r: Request) -> Any:
    """``POST /me/confirm``: without a code, send one to the customer's own channel; with it, a code session."""
    access = require_session(r, confirmed=False)
    if access.confirmed:
        return redirect("/me" + r.suffix())
    code = r.form.get("code", "").strip()
    if not code:
        customer_auth.start_confirmation(access, r.now, r.call.source_ip)
        return _confirm_page(r, sent=True)
    try:
        session = customer_auth.finish_confirmation(access, code, r.now, r.call.source_ip)
    except CodeLocked as error:
        return with_retry_after(_confirm_page(r, 429, sent=True, error="signin.locked"), error)
    except CustomerCodeInvalid as error:
        left = int(error.extra.get("attempts_left", 0))
        return _confirm_page(r, 403, sent=True, error="signin.wrong" if left else "signin.expired", left=left)
    customer_auth.sign_out(r.session_value)  # the link's session gives way to the code's
    max_age = int((session.expires_at - r.now).total_seconds())
    return redirect("/me" + r.suffix(), [r.cookie(SESSION_COOKIE, session.cookie_value, max_age)])


# --- sign-in ----------------------------------------------------------------------------------------------------


def _sign_in_page(r: Request, template: str, status: int = 200, **context: Any) -> Any:
    """A sign-in step with a fresh double-submit token (cookie and form)."""
    lang = i18n.pick(r.lang)
    csrf = secrets.token_urlsafe(24)
    links = language_links(lang, "/me/sign-in?lang=")
    context = {"error": None, "typed": "", "left": 0, "identifier": "", **context}
    page = render(template, i18n.locale(lang), csrf=csrf, suffix=r.suffix(), language_links=links, **context)
    return respond(page, status, [r.cookie(CSRF_COOKIE, csrf, 3600)])


def _sign_in_form(r: Request) -> Any:
    if _signed_in(r) is not None:
        return redirect("/me" + r.suffix())
    return _sign_in_page(r, "customer/sign_in.html")


def _check_double_submit(r: Request) -> None:
    expected = r.jar.get(CSRF_COOKIE, "")
    if not expected or not signing.verify(r.form.get("csrf", ""), expected):
        raise BadRequest("The form expired; open the sign-in page again.")


def _send_code(r: Request) -> Any:
    """Step 2: a code goes to the customer if the phone or address is theirs; the page is the same either way."""
    _check_double_submit(r)
    typed = r.form.get("identifier", "")
    identifier = customer_auth.parse_identifier(typed)
    if identifier is None:
        return _sign_in_page(r, "customer/sign_in.html", 422, error="signin.not_an_identifier", typed=typed[:254])
    customer_auth.start_sign_in(identifier, r.now, r.call.source_ip, _device(r, identifier))
    return _sign_in_page(r, "customer/code.html", identifier=identifier.value)


def _device(r: Request, identifier: customer_auth.Identifier) -> str | None:
    return customer_auth.known_device(r.jar.get(DEVICE_COOKIE), identifier)


def _check_code(r: Request) -> Any:
    """Step 3: the right code opens a session; a wrong one says how many tries are left."""
    _check_double_submit(r)
    identifier = customer_auth.parse_identifier(r.form.get("identifier", ""))
    if identifier is None:
        return redirect("/me/sign-in" + r.suffix())
    code, device = r.form.get("code", "").strip(), _device(r, identifier)
    try:
        session = customer_auth.finish_sign_in(identifier, code, r.now, r.call.source_ip, device)
    except CodeLocked as error:
        page = _sign_in_page(r, "customer/code.html", 429, identifier=identifier.value, error="signin.locked")
        return with_retry_after(page, error)
    except CustomerCodeInvalid as error:
        left = int(error.extra.get("attempts_left", 0))
        key = "signin.wrong" if left else "signin.expired"
        return _sign_in_page(r, "customer/code.html", 403, identifier=identifier.value, error=key, left=left)
    max_age = int((session.expires_at - r.now).total_seconds())
    cookies_out = [r.cookie(SESSION_COOKIE, session.cookie_value, max_age), r.cookie(CSRF_COOKIE, "", 0)]
    if device is None:
        device_max_age = customer_auth.DEVICE_DAYS * 86400
        cookies_out.append(r.cookie(DEVICE_COOKIE, customer_auth.device_cookie(identifier), device_max_age))
    return redirect("/me" + r.suffix(), cookies_out)


VIEWS: dict[str, Callable[[Request], Any]] = {
    "page": _page,
    "spend_code": _spend_code,
    "sign_out": _sign_out,
    "sign_out_everywhere": _sign_out_everywhere,
    "confirm": _confirm,
    "open_link": _open_link,
    "sign_in_form": _sign_in_form,
    "send_code": _send_code,
    "check_code": _check_code,
}
