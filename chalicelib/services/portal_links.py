"""Customer portal links: signed, expiring, revocable tokens bound to one customer.

A token is ``base64url(customer_id:expiry:issued) . base64url(HMAC-SHA256(secret, payload))`` (instants in epoch
seconds), in the one canonical spelling of ``chalicelib.ids.b64url`` (no padding, URL alphabet: any other spelling is
refused). It is verified in constant time and dies at its expiry. The signing secret lives outside the table (SSM
in AWS).

Revocation: the customer item keeps ``signed_out_at``; a link made at or before that second is refused where the page
reads the customer anyway (no extra read). :func:`revoke` sets it (the operator, or the customer from their page);
links made afterwards work. Links made before links carried their instant (``customer_id:expiry``) keep working until
they expire, unless revoked.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import runtime
from chalicelib.db import sessions
from chalicelib.db.customers import Customer
from chalicelib.domain.partners import Partner
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.ids import b64url, unb64url
from chalicelib.schemas import MeOut, PortalLink, PortalLinkRequest, TransactionsQuery
from chalicelib.services import customers, partners, program
from chalicelib.services import wallets as wallet

DEFAULT_TTL_MINUTES = 7 * 24 * 60


def sign(customer_id: str, expires_at: datetime, secret: str, issued_at: datetime | None = None) -> str:
    issued = f":{int(issued_at.timestamp())}" if issued_at is not None else ""
    payload = f"{customer_id}:{int(expires_at.timestamp())}{issued}".encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return f"{b64url(payload)}.{b64url(mac)}"


@dataclass(frozen=True)
class PortalAccess:
    customer_id: str
    expires_at: datetime
    issued_at: datetime | None = None  # None: a link made before links carried their instant

    def revoked(self, signed_out_at: str | None) -> bool:
        """Made at or before the customer's links were last revoked (to the second: what a token records)."""
        if not signed_out_at:
            return False
        return self.issued_at is None or self.issued_at <= datetime.fromisoformat(signed_out_at)


def verify(token: str | None, secret: str, now: datetime) -> PortalAccess:
    """The customer a token is for; ``Unauthorized`` for anything tampered, malformed or expired."""
    try:
        if not token or len(token) > 300:
            raise ValueError("missing")
        payload_b64, mac_b64 = token.split(".")
        payload = unb64url(payload_b64)
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, unb64url(mac_b64)):
            raise ValueError("bad signature")
        customer_id, expiry, *issued = payload.decode().split(":")  # older links: no instant of their own
        expires_at = datetime.fromtimestamp(int(expiry), UTC)
        issued_at = [datetime.fromtimestamp(int(v), UTC) for v in issued]
        if len(issued_at) > 1:
            raise ValueError("malformed")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthorized("This link is not valid.") from exc
    if now >= expires_at:
        raise Unauthorized("This link has expired; ask for a new one at the till or in the app.")
    return PortalAccess(customer_id, expires_at, issued_at[0] if issued_at else None)


def check_not_revoked(access: PortalAccess, customer: Customer) -> None:
    if access.revoked(customer.signed_out_at):
        raise Unauthorized("This link was revoked; ask for a new one at the till or in the app.")


def revoke(customer_id: str, now: datetime) -> None:
    """End every portal link of the customer made up to this second (links made from the next second on work)."""
    if not sessions.end_links(customer_id, now.replace(microsecond=0).isoformat()):
        raise NotFound(f"No customer {customer_id}.")


def revoke_own(access: PortalAccess, now: datetime) -> None:
    """The customer, from a link still valid, ends it and every other link of theirs."""
    check_not_revoked(access, customers.load(access.customer_id))
    revoke(access.customer_id, now)


def create_link(customer_id: str, body: PortalLinkRequest | None, base_url: str, now: datetime) -> PortalLink:
    customers.load(customer_id)
    ttl = body.ttl_minutes if body and body.ttl_minutes else DEFAULT_TTL_MINUTES
    expires_at = (now + timedelta(minutes=ttl)).replace(microsecond=0)
    token = sign(customer_id, expires_at, runtime.get().settings.portal_secret, issued_at=now)
    return PortalLink(url=f"{base_url.rstrip('/')}/me?token={token}", token=token, expires_at=expires_at.isoformat())


@dataclass(frozen=True)
class PortalView:
    """What the customer page needs, read once: the JSON view, the customer and every partner."""

    data: MeOut
    customer: Customer
    partners: list[Partner]


def view(access: PortalAccess, now: datetime, cursor: str | None = None) -> PortalView:
    customer = customers.load(access.customer_id)
    check_not_revoked(access, customer)
    balance = wallet.balance(access.customer_id, customer.wallet, program.load(), now)
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
