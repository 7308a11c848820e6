"""Who sees what in the partner portal: each page by role. The owner (and the API key's first sign-in) everything;
the marketer campaigns and their reports; the accountant settlements and their CSV, read-only; a cashier works at
the till. A page a role does not open sends it to its own first page; a form it may not send is refused (403)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Forbidden
from chalicelib.services import auth
from chalicelib.web import staff_session
from chalicelib.web.portal_session import Session

CAMPAIGNS = (auth.KEY_ROLE, "owner", "marketer")
MONEY = (auth.KEY_ROLE, "owner", "accountant")
OWNERS = (auth.KEY_ROLE, "owner")
EVERYONE = (auth.KEY_ROLE, "owner", "marketer", "accountant")
ROLES: dict[str, tuple[str, ...]] = {
    "logout": EVERYONE,
    "dashboard": CAMPAIGNS,
    "new": CAMPAIGNS,
    "edit": CAMPAIGNS,
    "preview": CAMPAIGNS,
    "create": CAMPAIGNS,
    "campaign": CAMPAIGNS,
    "act": CAMPAIGNS,
    "settlements": MONEY,
    "csv": MONEY,
    "reconciliation_act": MONEY,
    "audit": OWNERS,
    "staff": OWNERS,
    "invite": OWNERS,
    "remove_staff": OWNERS,
    "change_role": OWNERS,
    "keys": OWNERS,
    "create_key": OWNERS,
    "rotate_key": OWNERS,
    "revoke_key": OWNERS,
    **dict.fromkeys(("webhooks", "create_webhook", "webhook", "rotate_webhook", "delete_webhook"), OWNERS),
    "resend_delivery": OWNERS,
    **dict.fromkeys(("integrations", "connect_bitrix24", "connect_amocrm", "disconnect_crm"), OWNERS),
}
READ_ONLY = {"dashboard", "new", "campaign", "settlements", "csv", "staff", "keys", "reconciliation_act", "audit",
             "webhooks", "webhook", "integrations"}  # fmt: skip


def home(role: str) -> str:
    """The first portal page a role opens."""
    return "/portal/settlements" if role == "accountant" else "/portal"


def staff(call: Any) -> Session | Any | None:
    """The staff member signed in (``ls_session``) as a portal session; a cashier's or an operator's session: the
    answer to give instead (the till, a 403 page); None: nobody."""
    signed = staff_session.current(call)
    if signed is None:
        return None
    if signed.role not in staff_session.AREAS["portal"] or signed.partner_id is None:
        return staff_session.require(call, "portal")
    key_id, partner_id = signed.principal.key_id, signed.partner_id
    return Session(key_id, partner_id, signed.token, signed.session_id, signed.role, signed.staff_id, signed.name)


def allowed(session: Session, view: str) -> str | None:
    """None if the session's role opens ``view``; else where a page goes instead. A form: 403."""
    if session.role in ROLES.get(view, OWNERS):
        return None
    if view not in READ_ONLY:
        raise Forbidden("Your role does not allow this.")
    return home(session.role)
