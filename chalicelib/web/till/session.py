"""Who is at the till: the cashier's session, the rights the till acts with (the partner's, through the cashier's
principal), and each press's write identity (one rendered form, one intent: ``portal_session.write_request``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.services import idempotency
from chalicelib.web import portal_session
from chalicelib.web.portal_session import Session, csrf_token, read_session


@dataclass(frozen=True)
class Cashier:
    partner_id: str
    who: str  # the staff member (or the key an owner signed in with): the tag in this cashier's receipt numbers
    name: str
    session: Session  # forms' CSRF tokens and presses' Idempotency-Keys are bound to it

    @property
    def scope(self) -> str:
        """The principal the till writes as: Idempotency-Keys and the key's limits (look-ups, wrong codes)."""
        return self.session.key_id

    @property
    def csrf(self) -> str:
        return csrf_token(self.session.token)


def cookie(name: str, value: str, secure: bool, max_age: int) -> str:
    """A cookie of the till's pages only (the portal's are under /portal)."""
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Path=/till; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}"


def current(call: Any) -> Cashier | None:
    session = read_session(call.header("cookie"), call.now)
    if session is None:
        return None
    return Cashier(session.partner_id, session.key_id, "", session)


def write(cashier: Cashier, form: dict[str, str], path: str, now: datetime) -> idempotency.WriteRequest:
    """One press of one rendered form: ``path`` names the write (a press that spends and earns makes two)."""
    return portal_session.write_request(cashier.session, form, path, now)


def check_csrf(cashier: Cashier, form: dict[str, str]) -> None:
    portal_session.check_csrf(form, cashier.session.token)
