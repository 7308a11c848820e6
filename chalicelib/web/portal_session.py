"""The partner portal's session and forms' tokens.

Sign-in exchanges the API key for a signed session cookie (HttpOnly, SameSite=Strict, one hour); the key is never
stored in the browser. Every form carries a CSRF token bound to the session (the sign-in form: to a cookie) and a
random nonce new with each render: a write's Idempotency-Key is derived from the key id, the nonce and the form's
action and target, so the same rendered form sent twice acts once and every press on a freshly loaded page is a new
intent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import runtime
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.services import auth, idempotency

SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE = "lp_session", "lp_csrf", "lp_lang"
SESSION_MINUTES = 60
NONCE_BYTES = 16
_NONCE = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(NONCE_BYTES), matched whole


@dataclass(frozen=True)
class Session:
    key_id: str
    partner_id: str
    token: str


def _secret() -> bytes:
    return hmac.new(runtime.get().settings.portal_secret.encode(), b"partner-portal-session", hashlib.sha256).digest()


def _sign(text: str) -> str:
    return hmac.new(_secret(), text.encode(), hashlib.sha256).hexdigest()


def issue_session(principal: auth.Principal, now: datetime) -> str:
    expires = int((now + timedelta(minutes=SESSION_MINUTES)).timestamp())
    payload = f"{principal.key_id}:{principal.partner_id}:{expires}"
    return f"{payload}:{_sign(payload)}"


def cookies(header: str | None) -> dict[str, str]:
    out = {}
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def read_session(cookie_header: str | None, now: datetime) -> Session | None:
    """The signed-in partner, if the cookie is genuine, unexpired, and its key and partner are still active."""
    token = cookies(cookie_header).get(SESSION_COOKIE, "")
    try:
        key_id, partner_id, expires, mac = token.split(":")
        if not hmac.compare_digest(mac, _sign(f"{key_id}:{partner_id}:{expires}")) or now.timestamp() >= int(expires):
            return None
    except ValueError:
        return None
    if not auth.session_active(key_id, partner_id):
        return None
    return Session(key_id, partner_id, token)


def cookie(name: str, value: str, secure: bool, max_age: int) -> str:
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Path=/portal; HttpOnly; SameSite=Strict; Max-Age={max_age}{flags}"


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(bound_to: str) -> str:
    return _sign(f"csrf:{bound_to}")[:32]


def check_csrf(form: dict[str, str], bound_to: str) -> None:
    if not hmac.compare_digest(form.get("csrf", ""), csrf_token(bound_to)):
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
    )
