"""Staff sessions for the pages: who is signed in (:func:`current`), and the door of each area (:func:`require`).

One mechanism for the till (``/till``), the partner portal (``/portal``) and the operator's console (``/admin``):
the ``ls_session`` cookie (HttpOnly, SameSite=Strict, Path=/) names a session in the table
(``services.staff_auth``). Forms carry a CSRF token bound to that cookie and a nonce drawn per render, exactly as the
portal's: :func:`check_csrf` and :func:`write_request` reuse ``portal_session``'s.

``request`` is the page's :class:`chalicelib.http.Call` (its headers and its clock).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.machinery import idempotency
from chalicelib.services import auth, staff_auth
from chalicelib.web import i18n, portal_session
from chalicelib.web.render import is_https, language_links, redirect, render

if TYPE_CHECKING:
    from chalice.app import Response

Area = Literal["till", "portal", "admin"]
SESSION_COOKIE, CSRF_COOKIE = "ls_session", "ls_csrf"
AREAS: dict[str, tuple[str, ...]] = {
    "till": ("cashier", "owner"),
    "portal": ("owner", "marketer", "accountant"),
    "admin": ("operator", "operator_readonly"),
}
HOME = {"till": "/till", "portal": "/portal", "admin": "/admin"}


@dataclass(frozen=True)
class StaffSession:
    principal: auth.Principal
    staff_id: str | None
    name: str
    role: str
    partner_id: str | None  # None for operator staff
    session_id: str
    csrf: str  # the CSRF token of this session's forms (``<input name="csrf">``)
    token: str = ""  # the cookie's value: what the forms' tokens are bound to

    @property
    def home(self) -> str:
        return home_of(self.role)


def home_of(role: str) -> str:
    """Where a member lands after signing in: the first area their role opens."""
    return next(HOME[area] for area, roles in AREAS.items() if role in roles)


def cookie(request: Any, name: str, value: str, max_age: int) -> str:
    flags = "; Secure" if is_https(request) else ""
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}"


def session_cookie(request: Any) -> str | None:
    return portal_session.cookies(request.header("cookie")).get(SESSION_COOKIE)


def current(request: Any) -> StaffSession | None:
    """The signed-in staff member, read fresh (removed members and suspended partners have none)."""
    token = session_cookie(request)
    signed = staff_auth.session(token, request.now) if token else None
    if signed is None or token is None:
        return None
    member = signed.member
    return StaffSession(
        principal=staff_auth.principal_of(member),
        staff_id=member.staff_id,
        name=member.name,
        role=member.role,
        partner_id=member.partner_id,
        session_id=signed.session_id,
        csrf=portal_session.csrf_token(token),
        token=token,
    )


def require(request: Any, area: Area) -> StaffSession | Response:
    """The session if its role opens ``area``; else the answer to give: the area's sign-in page (a form posted
    without a session: a 303 to it), a cashier sent to the till, a 403 page for any other role."""
    session = current(request)
    if session is None:
        if request.raw_body:
            return _answer(redirect(f"/{area}/login"))
        return _answer(page(request, area, "staff/sign_in.html", set_csrf=True))
    if session.role in AREAS[area]:
        return session
    if session.role == "cashier":
        return _answer(redirect(HOME["till"]))
    context: dict[str, Any] = {"role": session.role, "home": session.home, "csrf": session.csrf}
    forbidden = page(request, area, "staff/forbidden.html", 403, **context)
    return _answer(forbidden)


def _answer(response: Any) -> Response:
    return response  # type: ignore[no-any-return]


def language(request: Any) -> str:
    """The page's language: ``?lang=``, then the portal's language cookie, then the default."""
    asked = getattr(request.query, "lang", None) if request.query is not None else None
    return i18n.pick(asked, portal_session.cookies(request.header("cookie")).get(portal_session.LANG_COOKIE))


def page(request: Any, area: str, template: str, status: int = 200, *, set_csrf: bool = False, **context: Any) -> Any:
    """A staff page of ``area`` in the request's language. ``set_csrf``: a sign-in step, with a fresh double-submit
    token (the ``ls_csrf`` cookie and the form's ``csrf`` field)."""
    from chalice.app import Response

    lang = language(request)
    cookies: list[str] = []
    if set_csrf:
        context["csrf"] = secrets.token_urlsafe(24)
        cookies.append(cookie(request, CSRF_COOKIE, context["csrf"], 3600))
    links = language_links(lang, f"/{area}/login?lang=")
    context = {"error": None, "typed": "", "left": 0, "contact": "", "suffix": "", **context}
    shown = render(template, i18n.locale(lang), area=area, language_links=links, **context)
    headers: dict[str, Any] = dict(shown.headers)
    if cookies:
        headers["Set-Cookie"] = cookies[0]
    return Response(body=shown.body, status_code=status, headers=headers)


def check_csrf(session: StaffSession, form: dict[str, str]) -> None:
    """403 unless the form carries this session's CSRF token."""
    portal_session.check_csrf(form, session.token)


def write_request(session: StaffSession, form: dict[str, str], path: str, now: datetime) -> idempotency.WriteRequest:
    """One press of one rendered form is one intent (see ``portal_session.write_request``), scoped to the member."""
    principal = session.principal
    scoped = portal_session.Session(principal.key_id, session.partner_id or "", session.token, session.session_id)
    return portal_session.write_request(scoped, form, path, now)
