"""Who is at the console and what they may do: operator staff signed in to the ``admin`` area (``operator``: read
and write; ``operator_readonly``: read only, its writes refused here whatever the form says); a request carrying the
operator's API key is the operator itself (scripts and tests).

A write's identity follows the portal's rule (``portal_session.write_request``): one press of one rendered form is
one intent, keyed by the signed-in person, the form's nonce and its action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import runtime
from chalicelib.errors import ApiError, Forbidden
from chalicelib.services import auth, idempotency
from chalicelib.web import portal_session

WRITERS = ("operator", "key")  # operator_readonly reads only


@dataclass(frozen=True)
class Operator:
    principal: auth.Principal
    name: str
    role: str
    scope: str  # what a form's idempotency key is scoped to: the staff member or the key
    csrf: str

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
    if principal.role != "operator":
        return None
    return Operator(principal, "operator key", "key", principal.key_id, portal_session.csrf_token(principal.key_id))


def require_writer(operator: Operator) -> None:
    if not operator.can_write:
        raise Forbidden("This account may read the console but not change anything.")


def write_request(operator: Operator, form: dict[str, str], path: str, now: datetime) -> idempotency.WriteRequest:
    """The portal's form identity (see the module docstring), scoped to this operator."""
    scoped = portal_session.Session(key_id=operator.scope, partner_id="", token="")
    return portal_session.write_request(scoped, form, path, now)
