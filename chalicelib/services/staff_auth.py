"""Staff sign-in with a one-time code, and staff sessions: one mechanism for the till, the portal and the console.

- **Sign-in.** A person types their phone or e-mail; if it is a staff member's, a six-digit code goes to it through
  the notifications port (``one_time_codes``: stored as its HMAC, ``MAX_ATTEMPTS`` wrong tries, single use). For
  any other contact the same work is done on a *decoy* (a code item under a keyed hash of the contact that nobody
  receives, never right even when guessed), so the answers and the DynamoDB work tell nobody who is staff.
- **Limits.** Codes asked for and codes typed are counted per contact and client address under a per-contact
  ceiling (``limits.signin`` / ``limits.code_attempt``, the customer sign-in's buckets); they fail closed.
- **Sessions.** A random secret in an HttpOnly cookie (``<scope>.<staff id>.<secret>``); the table keeps only its
  SHA-256. Every check reads the session, the member and the partner in one batch: sign-out, removing the member
  and suspending the partner each end it at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import db, runtime
from chalicelib.db import codes as codes_db
from chalicelib.db import staff as staff_db
from chalicelib.db.staff import Member
from chalicelib.domain import signing
from chalicelib.errors import ApiError, Unavailable
from chalicelib.machinery import events, limits
from chalicelib.machinery.idempotency import backoff
from chalicelib.services import message_outbox, one_time_codes
from chalicelib.services.auth import Principal
from chalicelib.services.customer_auth import Identifier, parse_identifier
from chalicelib.services.one_time_codes import Candidate

__all__ = ["Identifier", "NewSession", "finish_sign_in", "parse_identifier", "principal_of", "session", "sign_out"]

SIGN_IN = "staff_sign_in"
SLOT = "web"
SIGN_IN_MINUTES = 10
SESSION_HOURS = 12  # a shift
ATTEMPTS = 12
MAX_COOKIE = 200


def _decoy_id(identifier: Identifier) -> str:
    """Where an unknown contact's code is kept: a keyed hash (the table never shows the contact)."""
    key = signing.derive_key(runtime.get().settings.portal_secret, "staff-sign-in-decoy")
    return "dcy_" + signing.sign_hex(key, identifier.kind, identifier.value, length=24)


def _owner(identifier: Identifier) -> tuple[str, Member | None]:
    """Whose code a contact asks for or types: the member's, or the decoy's. Two reads either way (an unknown
    contact reads the decoy's member item, which is never there)."""
    claim = staff_db.contact_owner(identifier.kind, identifier.value)
    scope, staff_id = claim if claim is not None else (staff_db.OPERATOR_SCOPE, _decoy_id(identifier))
    member = staff_db.load_member(scope, staff_id)
    if claim is None or member is None or member.status != "active":
        return _decoy_id(identifier), None
    return member.staff_id, member


def start_sign_in(identifier: Identifier, lang: str, now: datetime, ip: str | None = None) -> None:
    """Send a code if ``identifier`` is a staff member's; the same answer and work either way."""
    limits.signin(identifier.value, ip)  # 429 before anything is looked up: the same for anyone
    owner, member = _owner(identifier)
    scope = member.scope if member is not None else staff_db.OPERATOR_SCOPE
    seed = one_time_codes.new_seed()
    code = one_time_codes.derived_code(seed, owner, SIGN_IN, SLOT)
    tx = db.Transaction()  # the code and its message together (the message holds the seed, never the code)
    issued = one_time_codes.issue(owner, SIGN_IN, SLOT, now, minutes=SIGN_IN_MINUTES, tx=tx, code=code)
    message = message_outbox.staff_code_message(scope, owner, SIGN_IN, SLOT, seed, lang, issued.expires_at, now)
    events.stage(tx, [message])
    message_outbox.commit(tx, message)
    try:
        message_outbox.send_now(message, now)  # a decoy's finds nobody to send to, and is dropped
    except ApiError:
        pass  # the same answer either way; a failure that may mend is retried by the dispatcher


@dataclass(frozen=True)
class NewSession:
    member: Member
    cookie_value: str  # <scope>.<staff id>.<secret>: into the HttpOnly cookie and nowhere else
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(f"staff-session:{secret}".encode()).hexdigest()


def _decoy_miss(code: str) -> str:
    """Six digits other than ``code``: a decoy's code is never right, even guessed."""
    return f"{(int(code) + 1) % 10**one_time_codes.DIGITS:0{one_time_codes.DIGITS}d}"


def finish_sign_in(identifier: Identifier, code: str, now: datetime, ip: str | None = None) -> NewSession:
    """The right code opens a session (the code used in the same transaction); a wrong one is counted and says how
    many tries are left, the same for a decoy (``customer_code_invalid``, then ``customer_code_locked``)."""
    limits.code_attempt(identifier.value, ip)  # per contact and address, on top of each code's own tries
    owner, member = _owner(identifier)
    for attempt in range(ATTEMPTS):
        if attempt:
            backoff(attempt)
        item = codes_db.get(owner, SIGN_IN, SLOT)
        outcome = one_time_codes.check(owner, code, [Candidate(SLOT, item)], now)
        if outcome.matched is not None and member is None:
            outcome = one_time_codes.check(owner, _decoy_miss(code), [Candidate(SLOT, item)], now)
        try:
            if outcome.matched is None or member is None:
                one_time_codes.record_failures(outcome.failures)
                assert outcome.error is not None
                raise outcome.error
            secret = secrets.token_urlsafe(32)
            expires_at = (now + timedelta(hours=SESSION_HOURS)).replace(microsecond=0)
            tx = db.Transaction()
            staff_db.put_session(
                tx, _digest(secret), member.scope, member.staff_id, now.isoformat(), int(expires_at.timestamp())
            )
            one_time_codes.consume(tx, outcome.matched)
            staff_db.commit(tx)
        except db.TxCancelled:
            continue  # tried or used meanwhile: judge again on what is there now
        return NewSession(member, f"{member.scope}.{member.staff_id}.{secret}", expires_at)
    raise Unavailable("The code is being tried from elsewhere at the same time; try again.")


def _split(cookie_value: str | None) -> tuple[str, str, str] | None:
    parts = (cookie_value or "").split(".")
    if len(parts) != 3 or not all(parts) or len(cookie_value or "") > MAX_COOKIE:
        return None
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class Signed:
    member: Member
    session_id: str  # the digest of the secret: names the session without revealing it


def session(cookie_value: str | None, now: datetime) -> Signed | None:
    """The signed-in member, if the cookie names a live session of an active member of an active partner."""
    parts = _split(cookie_value)
    if parts is None:
        return None
    scope, staff_id, secret = parts
    member = staff_db.session_check(_digest(secret), scope, staff_id, int(now.timestamp()))
    return None if member is None else Signed(member, _digest(secret))


def sign_out(cookie_value: str | None) -> None:
    parts = _split(cookie_value)
    if parts is not None:
        staff_db.delete_session(_digest(parts[2]))


def principal_of(member: Member) -> Principal:
    """The member as a caller of the services: their role, their partner (None: the operator's)."""
    return Principal(key_id=member.staff_id, role=member.role, partner_id=member.partner_id, staff_id=member.staff_id)
