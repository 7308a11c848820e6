"""The customer's own keys to their page: sign-in with a one-time code, sessions they can end, and links
that go to the customer, never to the partner.

- **Sign-in.** The customer types their phone or e-mail; if it belongs to a customer, a six-digit code (slot
  ``web``, ``SIGN_IN_MINUTES``) goes to them through their channel. For anyone else's identifier the same work is
  done on a *decoy* (a code item under a keyed hash of the identifier that nobody receives), so the pages, the
  wrong-code answers and the DynamoDB work are the same whether or not the identifier is enrolled. The right code
  opens a session; wrong ones are counted and lock the code (``one_time_codes``).
- **Limits that an outsider cannot turn against the customer.** Codes asked for and codes typed are counted per
  identifier *and client address* (``signin_pair``, ``code_pair``) under a higher per-identifier ceiling; a browser
  that signed in to this identifier before (the ``lc_device`` cookie, a keyed MAC only this service can make) has a
  bucket of its own instead of the ceiling. docs/security.md, "Customer sign-in", has the numbers.
- **Sessions.** A random secret in an HttpOnly cookie (``<customer id>.<secret>``); the table keeps only its SHA-256
  (``CSESS#<customer>``), so sign-out deletes it and the cookie is dead at once. Its expiry is checked on every
  read. Sign out everywhere deletes every session and stamps ``signed_out_at`` on the customer: links made before it
  stop working too.
- **Powers.** A session opened by a code sign-in may do everything the page offers; a link, and a session opened
  from one (any link version), only reads (``PortalAccess.confirmed``). "Confirm with a code" upgrades it.
- **Links.** ``POST /v1/customers/{id}/portal-link`` sends the link to the customer (202, masked destination); the
  partner never sees it. New links carry the instant they were made (``v2`` tokens), so signing out everywhere can
  end them. The operator ends every link issued before an instant at once (``end_links_issued_before``); links
  that carry no instant (v1) all end when any such cutoff exists.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import db, runtime
from chalicelib.db import codes as codes_db
from chalicelib.db import customers as customers_db
from chalicelib.db import sessions as sessions_db
from chalicelib.db.customers import Customer
from chalicelib.db.reads import ItemKey
from chalicelib.domain import normalize_email, normalize_phone, signing
from chalicelib.domain.events import Event
from chalicelib.errors import ApiError, Unauthorized, Unavailable, ValidationFailed
from chalicelib.machinery import events, limits
from chalicelib.machinery.idempotency import backoff
from chalicelib.notify import Channel, mask
from chalicelib.schemas import PortalLinkRequest, PortalLinkSent
from chalicelib.services import customer_messages, customers, link_tokens, message_outbox, one_time_codes, portal_links
from chalicelib.services.link_tokens import LINK_VERSION
from chalicelib.services.link_tokens import sign_link as sign_link  # the links a customer is sent
from chalicelib.services.one_time_codes import Candidate, Outcome
from chalicelib.services.portal_links import PortalAccess

SIGN_IN = "sign_in"
SIGN_IN_SLOT = "web"
SIGN_IN_MINUTES = 10
SESSION_DAYS = 30
ATTEMPTS = 12  # reads and judgements of one sign-in while the same code is tried elsewhere at once
LINK_DEFAULT_MINUTES = portal_links.DEFAULT_TTL_MINUTES
MAX_TOKEN = 300
DEVICE_DAYS = 365


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
    """The live customer an identifier belongs to. Two reads whether or not it belongs to anyone (an unknown one
    reads its decoy's customer key, which is never there): the time taken tells nobody which it was."""
    owner = customers_db.owner_of(identifier.alias)
    customer = customers_db.load(owner if owner is not None else _decoy_id(identifier))
    return None if owner is None or customer is None or customer.deleted_at else customer


# --- sign-in ---------------------------------------------------------------------------------------------------


def _key(purpose: str) -> bytes:
    return signing.derive_key(runtime.get().settings.portal_secret, purpose)


def _decoy_id(identifier: Identifier) -> str:
    """Where an unknown identifier's sign-in code is kept: a keyed hash, so the table never shows the identifier
    and nobody outside can tell a decoy's item from a customer's by its key."""
    return "dcy_" + signing.sign_hex(_key("sign-in-decoy"), identifier.kind, identifier.value, length=24)


def _owner(identifier: Identifier) -> tuple[str, Customer | None]:
    """Whose sign-in code an identifier asks for or types: the customer's, or the decoy's for an identifier that is
    nobody's (or a customer no channel reaches: she gets no code either)."""
    customer = _customer_for(identifier)
    if customer is None or not customer_messages.reachable(customer):
        return _decoy_id(identifier), None
    return customer.customer_id, customer


def _device_mac(identifier: Identifier, device: str) -> str:
    return signing.sign_b64url(_key("sign-in-device"), identifier.kind, identifier.value, device, size=18)


def device_cookie(identifier: Identifier) -> str:
    """The ``lc_device`` cookie a browser gets when it signs in with a code: proof that it signed in to this
    identifier before, worth a sign-in bucket of its own (an outsider flooding the identifier cannot empty it)."""
    device = secrets.token_urlsafe(12)
    return f"{device}.{_device_mac(identifier, device)}"


def known_device(cookie_value: str | None, identifier: Identifier) -> str | None:
    """The device id of a genuine ``lc_device`` cookie made for ``identifier``; None otherwise."""
    device, _, mac = (cookie_value or "")[:100].partition(".")
    if not device or not mac or not signing.verify(mac, _device_mac(identifier, device)):
        return None
    return device


def start_sign_in(identifier: Identifier, now: datetime, ip: str | None = None, device: str | None = None) -> None:
    """Send a sign-in code if ``identifier`` is a customer's; answer and work the same either way (no enumeration):
    the same look-ups, and a code item written for a decoy that nobody receives."""
    limits.signin(identifier.value, ip, device)  # 429 before anything is looked up: the same for anyone
    owner, _ = _owner(identifier)
    message = _issue_sign_in_code(owner, now, prefer=identifier.channel)
    try:
        message_outbox.send_now(message, now)  # a decoy's finds nobody to send to, and is dropped
    except ApiError:
        pass  # the same answer either way; a failure that may mend is retried by the dispatcher


def _issue_sign_in_code(owner: str, now: datetime, prefer: Channel | None = None) -> Event:
    """A sign-in code for ``owner`` and the message that carries it, in one transaction (the message holds the
    code's seed, never the code: message_outbox)."""
    seed = one_time_codes.new_seed()
    code = one_time_codes.derived_code(seed, owner, SIGN_IN, SIGN_IN_SLOT)
    tx = db.Transaction()
    issued = one_time_codes.issue(owner, SIGN_IN, SIGN_IN_SLOT, now, minutes=SIGN_IN_MINUTES, tx=tx, code=code)
    until = issued.expires_at
    message = message_outbox.code_message("sign_in", owner, SIGN_IN, SIGN_IN_SLOT, seed, until, now, prefer=prefer)
    events.stage(tx, [message])
    message_outbox.commit(tx, message)
    return message


@dataclass(frozen=True)
class NewSession:
    customer_id: str
    cookie_value: str  # <customer id>.<secret>: goes into the HttpOnly cookie and nowhere else
    expires_at: datetime


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _session_tx(
    customer_id: str, now: datetime, via: str, until: datetime | None = None, link_issued_at: datetime | None = None
) -> tuple[db.Transaction, NewSession]:
    secret = secrets.token_urlsafe(32)
    expires_at = (now + timedelta(days=SESSION_DAYS)).replace(microsecond=0)
    if until is not None:
        expires_at = min(expires_at, until)
    tx = db.Transaction()
    codes_db.put_session(
        tx,
        customer_id,
        _secret_hash(secret),
        now_iso=now.isoformat(),
        expires_at=expires_at.isoformat(),
        ttl=int(expires_at.timestamp()),
        via=via,
        link_issued_at=link_issued_at.isoformat() if link_issued_at is not None else None,
    )
    return tx, NewSession(customer_id, f"{customer_id}.{secret}", expires_at)


def finish_sign_in(
    identifier: Identifier, code: str, now: datetime, ip: str | None = None, device: str | None = None
) -> NewSession:
    """The right code opens a session (the code is used in the same transaction); a wrong one is counted. An unknown
    identifier's tries are judged and counted on its decoy, so the answers (tries left, then locked) are the same."""
    limits.code_attempt(identifier.value, ip, device)  # per phone and address, on top of each code's own tries
    owner, customer = _owner(identifier)
    return _judge(owner, code, now, genuine=customer is not None)


def _decoy_miss(code: str) -> str:
    """Another six digits than ``code``: a decoy's code is never right, even guessed, and is judged as wrong."""
    return f"{(int(code) + 1) % 10**one_time_codes.DIGITS:0{one_time_codes.DIGITS}d}"


def _judge(owner: str, code: str, now: datetime, *, genuine: bool) -> NewSession:
    for attempt in range(ATTEMPTS):
        if attempt:
            backoff(attempt)
        item = codes_db.get(owner, SIGN_IN, SIGN_IN_SLOT)
        outcome: Outcome = one_time_codes.check(owner, code, [Candidate(SIGN_IN_SLOT, item)], now)
        if outcome.matched is not None and not genuine:
            outcome = one_time_codes.check(owner, _decoy_miss(code), [Candidate(SIGN_IN_SLOT, item)], now)
        try:
            if outcome.matched is None:
                one_time_codes.record_failures(outcome.failures)
                assert outcome.error is not None
                raise outcome.error
            tx, session = _session_tx(owner, now, "code")
            one_time_codes.consume(tx, outcome.matched)
            tx.commit(db.connection())
        except db.TxCancelled:
            continue  # tried or used meanwhile: judge again on what is there now
        return session
    raise Unavailable("The code is being tried from elsewhere at the same time; try again.")


def _confirmation_identifier(customer: Customer) -> Identifier:
    """The destination a confirmation code goes to, as the identifier its limits count: her phone, or e-mail."""
    channel, to = customer_messages.choose(customer)  # 422 customer_unreachable: no code can confirm anything
    return Identifier("email" if channel == "email" else "phone" if channel == "sms" else channel, to)


def start_confirmation(access: PortalAccess, now: datetime, ip: str | None = None) -> None:
    """ "Confirm with a code" on a page opened from a link: a sign-in code goes to the customer's own channel (never
    to anything the link holder chose: a link session cannot change the channel), under the sign-in limits."""
    customer = portal_links.live_customer(access)
    limits.signin(_confirmation_identifier(customer).value, ip)
    message_outbox.send_now(_issue_sign_in_code(customer.customer_id, now), now)  # its failure is the answer


def finish_confirmation(access: PortalAccess, code: str, now: datetime, ip: str | None = None) -> NewSession:
    """The code the customer received opens a code session for her, in place of the link's."""
    customer = portal_links.live_customer(access)
    limits.code_attempt(_confirmation_identifier(customer).value, ip)
    return _judge(customer.customer_id, code, now, genuine=True)


def open_link_session(access: PortalAccess, now: datetime) -> NewSession:
    """A read-only session from a genuine link: it ends when the link would have (never later), and with the link
    when the operator ends links issued before some instant."""
    tx, session = _session_tx(access.customer_id, now, "link", until=access.expires_at, link_issued_at=access.issued_at)
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
    item = codes_db.get_session(parts[0], _secret_hash(parts[1]))
    if item is None:
        return None
    expires_at = datetime.fromisoformat(item.expires_at)
    if now >= expires_at:  # the item outlives its expiry until DynamoDB's TTL removes it: the expiry is checked here
        return None
    via = "code" if item.via == "code" else "link"
    link_issued_at = datetime.fromisoformat(item.link_issued_at) if item.link_issued_at else None
    if via == "link" and links_ended(link_issued_at):
        return None
    return PortalAccess(
        parts[0],
        expires_at,
        issued_at=datetime.fromisoformat(item.created_at),
        session=True,
        via=via,
        link_issued_at=link_issued_at,
    )


def sign_out(cookie_value: str | None) -> None:
    parts = _split(cookie_value or "")
    if parts is not None:
        codes_db.delete_session(parts[0], _secret_hash(parts[1]))


def sign_out_everywhere(customer_id: str, now: datetime) -> int:
    return codes_db.end_every_session(customer_id, now.isoformat())


def revoke_links(customer_id: str, now: datetime) -> None:
    """The operator ends every link and session of a customer (``POST /v1/admin/customers/{id}/revoke-links``)."""
    customers.load(customer_id)  # 404 for none
    sign_out_everywhere(customer_id, now)


def revoke_own_links(access: PortalAccess, now: datetime) -> None:
    """The customer, with a link that still works, ends it and every other link and session of theirs."""
    portal_links.live_customer(access)
    sign_out_everywhere(access.customer_id, now)


def links_ended(issued_at: datetime | None) -> bool:
    """Whether the operator's cutoff ends a link issued at ``issued_at`` (None: a v1 link, which carries no instant
    and so ends with any cutoff). Read fresh on every check: one GetItem."""
    cutoff = sessions_db.link_cutoff()
    if cutoff is None:
        return False
    return issued_at is None or int(issued_at.timestamp()) < cutoff


def end_links_issued_before(issued_before: datetime, now: datetime) -> datetime:
    """``POST /v1/admin/customer-links/revoke``: every link to any customer's page issued before ``issued_before``,
    and every session opened from one, stops working at once. The cutoff only moves later; returns the one in force."""
    if issued_before > now:
        raise ValidationFailed.at(["body", "issued_before"], "must not be in the future", "future")
    kept = sessions_db.move_link_cutoff(int(issued_before.timestamp()), now.isoformat())
    return datetime.fromtimestamp(kept, UTC)


# --- links ------------------------------------------------------------------------------------------------------


def verify_link(token: str | None, now: datetime) -> PortalAccess:
    """The customer a link is for (new links and those of the first format); Unauthorized otherwise, also for a
    link the operator's cutoff ended."""
    access = _verify_signature(token, now)
    if links_ended(access.issued_at):
        raise Unauthorized("This link was ended by the program; sign in with your phone or ask for a new link.")
    return access


def _verify_signature(token: str | None, now: datetime) -> PortalAccess:
    if not token or not token.startswith(LINK_VERSION + "."):
        return portal_links.verify(token, runtime.get().settings.portal_secret, now)
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError("too long")
        payload = signing.open_token(link_tokens.key(), token.removeprefix(LINK_VERSION + "."))
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
    channel, to = customer_messages.choose(customer)  # 422 customer_unreachable before anything is made
    minutes = body.ttl_minutes if body and body.ttl_minutes else LINK_DEFAULT_MINUTES
    now = now.replace(microsecond=0)
    expires_at = now + timedelta(minutes=minutes)
    message = message_outbox.link_message(customer_id, now, expires_at, base_url, now)
    tx = db.Transaction()  # the link's message alone: the link itself is made again when it is sent
    events.stage(tx, [message])
    message_outbox.commit(tx, message)
    sent = message_outbox.send_now(message, now)  # its failure is the answer (the dispatcher retries one that may mend)
    shown = sent or customer_messages.Sent(channel, mask(to, channel))  # another attempt has it: where it goes
    return PortalLinkSent(channel=shown.channel, destination=shown.destination, expires_at=expires_at.isoformat())
