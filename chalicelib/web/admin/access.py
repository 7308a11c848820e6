"""Who is at the console and what they may do: operator staff signed in to the ``admin`` area
(``staff_session.require``: ``operator`` reads and writes; ``operator_readonly`` reads only, its writes refused here
whatever the form says); a request carrying the operator's API key is the operator itself (scripts and tests: no
cookie, so no CSRF to fear).

A write's identity follows the portal's rule (``portal_session.write_request``): one press of one rendered form is
one intent, keyed by the signed-in person, the form's nonce and its action."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from chalicelib import runtime
from chalicelib.domain import signing
from chalicelib.domain.audit import Stamp
from chalicelib.errors import ApiError, Forbidden
from chalicelib.machinery import idempotency
from chalicelib.services import auth
from chalicelib.web import portal_session, staff_session
from chalicelib.web.staff_session import StaffSession

WRITERS = ("operator", auth.KEY_ROLE)  # operator_readonly reads only


@dataclass(frozen=True)
class Operator:
    principal: auth.Principal
    name: str
    role: str
    csrf: str
    session: StaffSession | None = None  # None: the operator's API key

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS


def by_key(call: Any) -> Operator | None:
    """The operator's API key in ``Authorization``; anything else: not signed in this way."""
    header = call.header("authorization")
    if not header:
        return None
    try:
        principal = auth.authenticate(header, runtime.get().settings.key_pepper, at_once=True)
    except ApiError:
        return None
    if not principal.operator:
        return None
    return Operator(principal, principal.actor, principal.role, "")


def signed_in(call: Any) -> Operator | Any:
    """The operator at the console, or the answer for one who is not: the sign-in page (a form: a 303 to it), a
    403 page for partner staff."""
    operator = by_key(call)
    if operator is not None:
        return operator
    found = staff_session.require(call, "admin")
    if not isinstance(found, StaffSession):
        return found
    return Operator(found.principal, found.name, found.role, found.csrf, found)


def check_form(operator: Operator, form: dict[str, str]) -> None:
    """A write: refused to read-only staff; from a browser, only with this session's CSRF token."""
    if not operator.can_write:
        raise Forbidden("This account may read the console but not change anything.")
    if operator.session is not None and not signing.verify(form.get("csrf", ""), operator.csrf):
        raise Forbidden("The form expired or did not come from this console; reload the page and try again.")


def stamp(operator: Operator, call: Any) -> Stamp:
    """What the audit log records of a change made at the console: the staff member (or key), the request, when."""
    return Stamp(operator.principal.actor, call.request_id, call.now)


def write_request(operator: Operator, form: dict[str, str], call: Any, path: str) -> idempotency.WriteRequest:
    """The portal's form identity (see the module docstring), scoped to this operator, named in the audit log."""
    if operator.session is not None:
        req = staff_session.write_request(operator.session, form, path, call.now)
    else:
        scoped = portal_session.Session(key_id=operator.principal.key_id, partner_id="", token="")
        req = portal_session.write_request(scoped, form, path, call.now)
    return replace(req, actor=operator.principal.actor, request_id=call.request_id)
