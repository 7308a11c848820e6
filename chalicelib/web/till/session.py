"""Who is at the till: the staff member signed in (``staff_session``: a cashier, or the partner's owner), the rights
the till acts with (the partner's, through the member's principal), and each press's write identity (one rendered
form, one intent: ``staff_session.write_request``, the portal's nonce mechanism)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.machinery import idempotency
from chalicelib.web import staff_session
from chalicelib.web.staff_session import StaffSession


@dataclass(frozen=True)
class Cashier:
    partner_id: str
    who: str  # the staff member: the tag in this cashier's receipt numbers
    name: str
    staff: StaffSession  # forms' CSRF tokens and presses' Idempotency-Keys are bound to it

    @property
    def scope(self) -> str:
        """The principal the till writes as: Idempotency-Keys and its limits (look-ups, wrong codes)."""
        return self.staff.principal.key_id

    @property
    def csrf(self) -> str:
        return self.staff.csrf


def cookie(name: str, value: str, secure: bool, max_age: int) -> str:
    """A cookie of the till's pages only (the portal's are under /portal)."""
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Path=/till; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}"


def require(call: Any) -> Cashier | Any:
    """The cashier at this till, or the answer for a browser that may not be here: the till's sign-in page (a form
    posted without a session: a 303 to it), or a 403 page for a role the till does not serve."""
    found = staff_session.require(call, "till")
    if not isinstance(found, StaffSession):
        return found
    if found.partner_id is None:  # the till's roles are partner staff; an operator never acts at a till
        return staff_session.page(
            call, "till", "staff/forbidden.html", 403, role=found.role, home=found.home, csrf=found.csrf
        )
    return Cashier(found.partner_id, found.staff_id or found.principal.key_id, found.name, found)


def write(cashier: Cashier, form: dict[str, str], path: str, now: datetime) -> idempotency.WriteRequest:
    """One press of one rendered form: ``path`` names the write (a press that spends and earns makes two)."""
    return staff_session.write_request(cashier.staff, form, path, now)


def check_csrf(cashier: Cashier, form: dict[str, str]) -> None:
    staff_session.check_csrf(cashier.staff, form)
