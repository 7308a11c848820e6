"""The customer's view, and the portal links of the first format.

A link of the first format is ``base64url(customer_id:expiry_epoch) . base64url(HMAC-SHA256(secret, payload))``:
verified in constant time, no storage, dead at its expiry, or when the customer signs out everywhere (it carries no
instant of its own, and every one of them predates that). Links are now made and sent to the customer by
``customer_auth``; the signing secret lives outside the table (SSM in AWS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.db.customers import Customer
from chalicelib.domain import signing
from chalicelib.domain.partners import Partner
from chalicelib.errors import Unauthorized
from chalicelib.machinery import program, wallets
from chalicelib.schemas import MeOut, TransactionsQuery
from chalicelib.services import customers, partners

DEFAULT_TTL_MINUTES = 7 * 24 * 60


def sign(customer_id: str, expires_at: datetime, secret: str) -> str:
    return signing.token(secret, f"{customer_id}:{int(expires_at.timestamp())}".encode())


@dataclass(frozen=True)
class PortalAccess:
    customer_id: str
    expires_at: datetime
    issued_at: datetime | None = None  # None: a link of the first format
    session: bool = False  # a signed-in session (cookie), not a link
    via: str = "link"  # code: a session opened by a code sign-in; link: a link, or a session opened from one
    link_issued_at: datetime | None = None  # a session opened from a link: when that link was made (None: a v1 link)

    @property
    def confirmed(self) -> bool:
        """Whether the customer proved, with a one-time code, that she holds her phone or mailbox. A link proves
        nothing of the kind (partners hold links made before links went to the customer, messages get forwarded):
        what a link opens is read-only; changing anything on the page needs a code sign-in."""
        return self.session and self.via == "code"

    def revoked(self, signed_out_at: str | None) -> bool:
        """A link made at or before the second the customer last signed out everywhere, or a session opened from
        one. (Sessions are ended server-side then: their items are deleted; a link's session written while that
        happened escapes the deletion, and is ended here by its link's age.)"""
        if not signed_out_at or (self.session and self.via == "code"):
            return False
        made = self.link_issued_at if self.session else self.issued_at
        return made is None or made <= datetime.fromisoformat(signed_out_at)


def verify(token: str | None, secret: str, now: datetime) -> PortalAccess:
    """The customer a token is for; ``Unauthorized`` for anything tampered, malformed or expired."""
    try:
        if not token or len(token) > 300:
            raise ValueError("missing")
        payload = signing.open_token(secret, token)
        customer_id, expiry = payload.decode().rsplit(":", 1)
        expires_at = datetime.fromtimestamp(int(expiry), UTC)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthorized("This link is not valid.") from exc
    if now >= expires_at:
        raise Unauthorized("This link has expired; ask for a new one at the till or in the app.")
    return PortalAccess(customer_id, expires_at)


@dataclass(frozen=True)
class PortalView:
    """What the customer page needs, read once: the JSON view, the customer and every partner."""

    data: MeOut
    customer: Customer
    partners: list[Partner]


def live_customer(access: PortalAccess) -> Customer:
    """The customer ``access`` is for, read fresh; ``Unauthorized`` for a link (or a link's session) that her "sign
    out everywhere" ended since (:meth:`PortalAccess.revoked`): whatever it asks, the page, a code, a sign-out."""
    customer = customers.load(access.customer_id)
    if access.revoked(customer.signed_out_at):
        raise Unauthorized("This link was ended when the customer signed out everywhere.")
    return customer


def view(access: PortalAccess, now: datetime, cursor: str | None = None) -> PortalView:
    customer = live_customer(access)
    balance = wallets.balance(access.customer_id, customer.wallet, program.load(), now)
    page = customers.transactions(access.customer_id, TransactionsQuery(limit=20, cursor=cursor), None)
    every = partners.load_all()
    names = {p.partner_id: p.name for p in every}
    for entry in page.items:
        entry.partner_name = names.get(entry.partner_id, "")
    data = MeOut(
        customer_id=access.customer_id,
        name=customer.name,
        locale="en" if customer.locale == "en" else "ru",
        balance=balance,
        transactions=page.items,
        next_cursor=page.next_cursor,
        partners=partners.directory(every).items,
        link_expires_at=access.expires_at.isoformat(),
    )
    return PortalView(data, customer, every)


def me(access: PortalAccess, now: datetime, cursor: str | None = None) -> MeOut:
    """Everything the customer page shows, as JSON (for partners' apps too)."""
    return view(access, now, cursor).data
