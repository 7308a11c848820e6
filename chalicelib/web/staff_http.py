"""Staff sign-in pages (``/till/login``, ``/portal/login``, ``/admin/login``): the contact, then the code, then the
session cookie and the member's own home (a cashier who signs in at the portal lands at the till). Sign-out ends
the session in the table. Every step's form carries a double-submit token (``ls_csrf``); failures are pages."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import signing
from chalicelib.errors import ApiError, BadRequest, CodeLocked, CustomerCodeInvalid
from chalicelib.services import staff_auth
from chalicelib.web import portal_session
from chalicelib.web.portal_forms import parse_form
from chalicelib.web.render import redirect
from chalicelib.web.staff_session import (
    AREAS,
    CSRF_COOKIE,
    SESSION_COOKIE,
    cookie,
    current,
    home_of,
    language,
    page,
    session_cookie,
)

AREA_NAMES = tuple(AREAS)


def handle(call: Any, area: str, view: str) -> Any:
    """One entry for the sign-in routes of every area; failures become the sign-in page, saying why."""
    if area not in AREAS:
        raise ValueError(f"unknown staff area {area}")
    form = parse_form(call.raw_body) if call.raw_body else {}
    try:
        return VIEWS[view](call, area, form)
    except ApiError as error:
        status = error.status if error.status < 500 else 503
        why = {429: "staff.too_many", 503: "staff.unavailable"}.get(status, "staff.expired_form")
        shown = page(call, area, "staff/sign_in.html", status, set_csrf=True, error=why)
        if "Retry-After" in error.headers:
            shown.headers["Retry-After"] = error.headers["Retry-After"]
        return shown


def _suffix(call: Any) -> str:
    lang = getattr(call.query, "lang", None) if call.query is not None else None
    return f"?lang={lang}" if lang else ""


def _login(call: Any, area: str, form: dict[str, str]) -> Any:
    signed = current(call)
    if signed is not None:
        return redirect(signed.home if signed.role not in AREAS[area] else f"/{area}")
    return page(call, area, "staff/sign_in.html", set_csrf=True, suffix=_suffix(call))


def _double_submit(call: Any, form: dict[str, str]) -> None:
    expected = portal_session.cookies(call.header("cookie")).get(CSRF_COOKIE, "")
    if not expected or not signing.verify(form.get("csrf", ""), expected):
        raise BadRequest("The form expired; open the sign-in page again.")


def _send_code(call: Any, area: str, form: dict[str, str]) -> Any:
    """Step 2: a code goes to the contact if it is a staff member's; the page is the same either way."""
    _double_submit(call, form)
    typed = form.get("contact", "")
    identifier = staff_auth.parse_identifier(typed)
    suffix = _suffix(call)
    if identifier is None:
        error, shown = "staff.not_a_contact", typed[:254]
        return page(call, area, "staff/sign_in.html", 422, set_csrf=True, error=error, typed=shown, suffix=suffix)
    staff_auth.start_sign_in(identifier, language(call), call.now, call.source_ip)
    minutes = staff_auth.SIGN_IN_MINUTES
    return page(call, area, "staff/code.html", set_csrf=True, contact=identifier.value, minutes=minutes, suffix=suffix)


def _check_code(call: Any, area: str, form: dict[str, str]) -> Any:
    """Step 3: the right code opens a session; a wrong one says how many tries are left."""
    _double_submit(call, form)
    identifier = staff_auth.parse_identifier(form.get("contact", ""))
    suffix = _suffix(call)
    if identifier is None:
        return redirect(f"/{area}/login{suffix}")
    context = {"contact": identifier.value, "minutes": staff_auth.SIGN_IN_MINUTES, "suffix": suffix}
    try:
        signed = staff_auth.finish_sign_in(identifier, form.get("code", "").strip(), call.now, call.source_ip)
    except CodeLocked as error:
        shown = page(call, area, "staff/code.html", 429, set_csrf=True, error="staff.locked", **context)
        shown.headers["Retry-After"] = error.headers.get("Retry-After", "1")
        return shown
    except CustomerCodeInvalid as error:
        left = int(error.extra.get("attempts_left", 0))
        key = "staff.wrong" if left else "staff.expired"
        return page(call, area, "staff/code.html", 403, set_csrf=True, error=key, left=left, **context)
    max_age = int((signed.expires_at - call.now).total_seconds())
    home = f"/{area}" if signed.member.role in AREAS[area] else home_of(signed.member.role)
    cookies = [cookie(call, SESSION_COOKIE, signed.cookie_value, max_age), cookie(call, CSRF_COOKIE, "", 0)]
    return redirect(home + suffix, cookies)  # the language chosen at sign-in carries on


def _logout(call: Any, area: str, form: dict[str, str]) -> Any:
    """Sign-out: the session record goes (every copy of the cookie is dead), then the area's sign-in page."""
    signed = current(call)
    if signed is not None:
        portal_session.check_csrf(form, signed.token)
        staff_auth.sign_out(session_cookie(call))
    return redirect(f"/{area}/login", [cookie(call, SESSION_COOKIE, "", 0)])


VIEWS = {"sign_in": _login, "sign_in_code": _send_code, "sign_in_session": _check_code, "sign_out": _logout}
