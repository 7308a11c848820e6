"""The partner portal's session and forms' tokens.

Sign-in exchanges the API key for a signed session cookie (HttpOnly, SameSite=Strict, one hour); the key is never
stored in the browser. The cookie names a session record in the table (by its hash): signing out deletes it, so a
copied cookie is refused afterwards, and revoking the API key ends every session signed in with it.

Every form carries a CSRF token bound to the session (the sign-in form: to a cookie) and a random nonce new with
each render: a write's Idempotency-Key is derived from the key id, the nonce and the form's action and target, so the
same rendered form sent twice acts once and every press on a freshly loaded page is a new intent.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import runtime
from chalicelib.domain import signing
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.machinery import idempotency
from chalicelib.services import auth

SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE = "lp_session", "lp_csrf", "lp_lang"
SESSION_MINUTES = 60
NONCE_BYTES = 16
_NONCE = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(NONCE_BYTES), matched whole
SESSION_ID_BYTES = 18


@dataclass(frozen=True)
class Session:
    """A signed-in portal: with the partner's API key (the owner's first sign-in: ``role`` "key"), or a staff
    member's session (``ls_session``, ``web/staff_session.py``): ``key_id`` is then the member's id."""

    key_id: str
    partner_id: str
    token: str
    session_id: str = ""
    role: str = auth.KEY_ROLE
    staff_id: str | None = None
    name: str = ""

    @property
    def principal(self) -> auth.Principal:
        return auth.Principal(self.key_id, self.role, self.partner_id, self.staff_id)


def _secret() -> bytes:
    return signing.derive_key(runtime.get().settings.portal_secret, "partner-portal-session")


def _sign(text: str) -> str:
    return signing.sign_hex(_secret(), text)


def _session_digest(session_id: str) -> str:
    return hashlib.sha256(f"portal-session:{session_id}".encode()).hexdigest()


def issue_session(principal: auth.Principal, now: datetime) -> str:
    """A new session: its record in the table and the cookie naming it, ``key:partner:expiry:session id:mac``."""
    expires = int((now + timedelta(minutes=SESSION_MINUTES)).timestamp())
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    auth.start_portal_session(
        _session_digest(session_id), principal.key_id, principal.partner_id or "", now.isoformat(), expires
    )
    payload = f"{principal.key_id}:{principal.partner_id}:{expires}:{session_id}"
    return f"{payload}:{_sign(payload)}"


def end_session(session: Session) -> None:
    """Sign-out: the record goes, and with it every copy of the cookie."""
    auth.end_portal_session(_session_digest(session.session_id))


def cookies(header: str | None) -> dict[str, str]:
    out = {}
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def read_session(cookie_header: str | None, now: datetime) -> Session | None:
    """The signed-in partner, if the cookie is genuine and unexpired, its session was not ended, and its key and
    partner are still active."""
    token = cookies(cookie_header).get(SESSION_COOKIE, "")
    try:
        key_id, partner_id, expires, session_id, mac = token.split(":")
        payload = f"{key_id}:{partner_id}:{expires}:{session_id}"
        if not signing.verify(mac, _sign(payload)) or now.timestamp() >= int(expires):
            return None
    except ValueError:
        return None
    if not auth.session_active(key_id, partner_id, _session_digest(session_id)):
        return None
    return Session(key_id, partner_id, token, session_id)


def cookie(name: str, value: str, secure: bool, max_age: int) -> str:
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Path=/portal; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}"


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(bound_to: str) -> str:
    return _sign(f"csrf:{bound_to}")[:32]


def check_csrf(form: dict[str, str], bound_to: str) -> None:
    if not signing.verify(form.get("csrf", ""), csrf_token(bound_to)):
        raise Forbidden("The form expired or did not come from this portal; reload the page and try again.")


def new_form_nonce() -> str:
    """Drawn for each form as it is rendered: one press of that form is one intent."""
    return secrets.token_urlsafe(NONCE_BYTES)


def write_request(session: Session, form: dict[str, str], path: str, now: datetime) -> idempotency.WriteRequest:
    """One press of one rendered form is one intent: the key is derived from the API key id, the form's nonce and
    its action and target (``path``). The same page submitted twice replays; a freshly rendered page is a new key.
    The nonce is trusted only to tell presses apart: the key is scoped to the session's API key id (and hashed with
    it), so a nonce copied from another partner's page is just a new key of this partner's own."""
    nonce = form.get("nonce", "")
    if not _NONCE.fullmatch(nonce):
        raise BadRequest("The form is missing its one-time token or it is malformed; reload the page and try again.")
    body = {k: v for k, v in form.items() if k != "csrf"}
    key = hashlib.sha256(f"{session.key_id}\n{nonce}\nPOST {path}".encode()).hexdigest()
    return idempotency.WriteRequest(
        scope=session.key_id,
        idempotency_key=f"portal:{key}",
        request_fingerprint=idempotency.fingerprint("POST", path, body),
        body_fingerprint=idempotency.fingerprint("", "", body),
        now_iso=now.isoformat(),
        actor=session.principal.actor,  # the audit log's name for who pressed it: the key or the staff member
    )
