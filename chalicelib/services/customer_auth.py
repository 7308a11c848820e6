"""The customer's own keys to their page (issue 17): sign-in with a one-time code, sessions they can end, and links
that go to the customer, never to the partner.

- **Sign-in.** The customer types their phone or e-mail; if it belongs to a customer, a six-digit code (slot
  ``web``, ``SIGN_IN_MINUTES``) goes to them through their channel. The answer is the same whether or not it does,
  so the form does not tell who is enrolled. The right code opens a session; wrong ones are counted and lock the
  code (``one_time_codes``).
- **Sessions.** A random secret in an HttpOnly cookie (``<customer id>.<secret>``); the table keeps only its SHA-256
  (``CSESS#<customer>``), so sign-out deletes it and the cookie is dead at once. Sign out everywhere deletes every
  session and stamps ``signed_out_at`` on the customer: links made before it stop working too.
- **Links.** ``POST /v1/customers/{id}/portal-link`` sends the link to the customer (202, masked destination); the
  partner never sees it. New links carry the instant they were made (``v2`` tokens), so signing out everywhere can
  end them; links made before this change keep working until they expire, unless the customer signs out everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import db, runtime
from chalicelib.db import codes as store
from chalicelib.db import customers as customers_db
from chalicelib.db.customers import Customer
from chalicelib.db.store import ItemKey
from chalicelib.domain import normalize_email, normalize_phone
from chalicelib.errors import CustomerCodeInvalid, Unauthorized, Unavailable
from chalicelib.ids import b64url, unb64url
from chalicelib.notify import Channel
from chalicelib.schemas import PortalLinkRequest, PortalLinkSent
from chalicelib.services import customer_messages as messages
from chalicelib.services import customers, limits, one_time_codes
from chalicelib.services import portal_links as legacy
from chalicelib.services.idempotency import backoff
from chalicelib.services.one_time_codes import Candidate
from chalicelib.services.portal_links import PortalAccess

SIGN_IN = "sign_in"
SIGN_IN_SLOT = "web"
SIGN_IN_MINUTES = 10
SESSION_DAYS = 30
ATTEMPTS = 12  # reads and judgements of one sign-in while the same code is tried elsewhere at once
LINK_DEFAULT_MINUTES = legacy.DEFAULT_TTL_MINUTES
LINK_VERSION = "v2"
MAX_TOKEN = 300


# --- identifiers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identifier:
    kind: str  # phone | email
    value: str  # normalised

    @property
    def channel(self) -> Channel:
        return "sms" if self.kind == "phone" else "email"

    @property
    def alias(self) -> ItemKey:
        return customers_db.alias_key(self.kind, self.value)


def parse_identifier(raw: str) -> Identifier | None:
    """A phone in any common spelling, or an e-mail address; None for anything else."""
    text = raw.strip()[:254]
    try:
        return Identifier("email", normalize_email(text)) if "@" in text else Identifier("phone", normalize_phone(text))
    except ValueError:
        return None


def _customer_for(identifier: Identifier) -> Customer | None:
    owner = customers_db.owner_of(identifier.alias)
    customer = customers_db.load(owner) if owner is not None else None
    return None if customer is None or customer.deleted_at else customer


# --- sign-in ----------------------------------------------------------------------------------------------------


def start_sign_in(identifier: Identifier, now: datetime, ip: str | None = None) -> None:
    """Send a sign-in code if ``identifier`` is a customer's; say nothing either way (no enumeration)."""
    limits.signin(identifier.value, ip)  # 429 before anything is looked up: the same for anyone's identifier
    customer = _customer_for(identifier)
    if customer is None or not messages.reachable(customer):
        return
    issued = one_time_codes.issue(customer.customer_id, SIGN_IN, SIGN_IN_SLOT, now, minutes=SIGN_IN_MINUTES)
    body = messages.text(customer, "sign_in", code=issued.code)
    messages.safe_send(customer, "sign_in", body, code=issued.code, prefer=identifier.channel)


@dataclass(frozen=True)
class NewSession:
    customer_id: str
    cookie_value: str  # <customer id>.<secret>: goes into the HttpOnly cookie and nowhere else
    expires_at: datetime


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _session_tx(
    customer_id: str, now: datetime, via: str, until: datetime | None = None
) -> tuple[db.Transaction, NewSession]:
    secret = secrets.token_urlsafe(32)
    expires_at = (now + timedelta(days=SESSION_DAYS)).replace(microsecond=0)
    if until is not None:
        expires_at = min(expires_at, until)
    tx = db.Transaction()
    store.put_session(
        tx,
        customer_id,
        _secret_hash(secret),
        now_iso=now.isoformat(),
        expires_at=expires_at.isoformat(),
        ttl=int(expires_at.timestamp()),
        via=via,
    )
    return tx, NewSession(customer_id, f"{customer_id}.{secret}", expires_at)


def finish_sign_in(identifier: Identifier, code: str, now: datetime, ip: str | None = None) -> NewSession:
    """The right code opens a session (the code is used in the same transaction); a wrong one is counted."""
    limits.code_attempt(identifier.value, ip)  # per phone and IP, on top of each code's own tries
    customer = _customer_for(identifier)
    if customer is None:
        raise CustomerCodeInvalid("The code is not right.", attempts_left=0)
    cid = customer.customer_id
    for attempt in range(ATTEMPTS):
        if attempt:
            backoff(attempt)
        item = store.get(cid, SIGN_IN, SIGN_IN_SLOT)
        outcome = one_time_codes.check(cid, code, [Candidate(SIGN_IN_SLOT, item)], now)
        try:
            if outcome.matched is None:
                one_time_codes.record_failures(outcome.failures)
                assert outcome.error is not None
                raise outcome.error
            tx, session = _session_tx(cid, now, "code")
            one_time_codes.consume(tx, outcome.matched)
            tx.commit(db.connection())
        except db.TxCancelled:
            continue  # tried or used meanwhile: judge again on what is there now
        return session
    raise Unavailable("The code is being tried from elsewhere at the same time; try again.")


def open_session(customer_id: str, now: datetime, via: str, until: datetime | None = None) -> NewSession:
    """A session for a customer who proved who they are some other way (a genuine link): it ends with the link."""
    tx, session = _session_tx(customer_id, now, via, until)
    tx.commit(db.connection())
    return session


def _split(cookie_value: str) -> tuple[str, str] | None:
    customer_id, _, secret = cookie_value.partition(".")
    if not customer_id or not secret or len(cookie_value) > MAX_TOKEN:
        return None
    return customer_id, secret


def session_access(cookie_value: str | None, now: datetime) -> PortalAccess | None:
    """The signed-in customer, if the cookie names a live session."""
    parts = _split(cookie_value or "")
    if parts is None:
        return None
    item = store.get_session(parts[0], _secret_hash(parts[1]))
    if item is None:
        return None
    expires_at = datetime.fromisoformat(item.expires_at)
    if now >= expires_at:
        return None
    return PortalAccess(parts[0], expires_at, issued_at=datetime.fromisoformat(item.created_at), session=True)


def sign_out(cookie_value: str | None) -> None:
    parts = _split(cookie_value or "")
    if parts is not None:
        store.delete_session(parts[0], _secret_hash(parts[1]))


def sign_out_everywhere(customer_id: str, now: datetime) -> int:
    return store.end_every_session(customer_id, now.isoformat())


def revoke_links(customer_id: str, now: datetime) -> None:
    """The operator ends every link and session of a customer (``POST /v1/admin/customers/{id}/revoke-links``)."""
    customers.load(customer_id)  # 404 for none
    sign_out_everywhere(customer_id, now)


def revoke_own_links(access: PortalAccess, now: datetime) -> None:
    """The customer, with a link that still works, ends it and every other link and session of theirs."""
    if access.revoked(customers.load(access.customer_id).signed_out_at):
        raise Unauthorized("This link was ended when the customer signed out everywhere.")
    sign_out_everywhere(access.customer_id, now)


# --- links ------------------------------------------------------------------------------------------------------


def _mac(payload: bytes) -> bytes:
    key = hmac.new(runtime.get().settings.portal_secret.encode(), b"customer-link-v2", hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign_link(customer_id: str, issued_at: datetime, expires_at: datetime) -> str:
    payload = f"{customer_id}:{int(issued_at.timestamp())}:{int(expires_at.timestamp())}".encode()
    return f"{LINK_VERSION}.{b64url(payload)}.{b64url(_mac(payload))}"


def verify_link(token: str | None, now: datetime) -> PortalAccess:
    """The customer a link is for (new links and those made before issue 17); Unauthorized otherwise."""
    if not token or not token.startswith(LINK_VERSION + "."):
        return legacy.verify(token, runtime.get().settings.portal_secret, now)
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError("too long")
        _, payload_b64, mac_b64 = token.split(".")
        payload = unb64url(payload_b64)  # the one spelling: any other is refused
        if not hmac.compare_digest(_mac(payload), unb64url(mac_b64)):
            raise ValueError("bad signature")
        customer_id, issued, expiry = payload.decode().split(":")
        issued_at, expires_at = (datetime.fromtimestamp(int(v), UTC) for v in (issued, expiry))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthorized("This link is not valid.") from exc
    if now >= expires_at:
        raise Unauthorized("This link has expired; ask for a new one at the till or sign in with your phone.")
    return PortalAccess(customer_id, expires_at, issued_at=issued_at)


def send_link(
    customer_id: str, partner_id: str, body: PortalLinkRequest | None, base_url: str, now: datetime
) -> PortalLinkSent:
    """``POST /v1/customers/{id}/portal-link``: the link goes to the customer through their channel."""
    limits.spend_code(customer_id, partner_id)  # messages to one customer, per partner under a ceiling
    customer = customers.load(customer_id)
    messages.choose(customer)  # 422 customer_unreachable before anything is made
    minutes = body.ttl_minutes if body and body.ttl_minutes else LINK_DEFAULT_MINUTES
    now = now.replace(microsecond=0)
    expires_at = now + timedelta(minutes=minutes)
    url = f"{base_url.rstrip('/')}/me?token={sign_link(customer_id, now, expires_at)}"
    sent = messages.send(customer, "portal_link", messages.text(customer, "portal_link", url=url))
    return PortalLinkSent(channel=sent.channel, destination=sent.destination, expires_at=expires_at.isoformat())
