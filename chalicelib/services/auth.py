"""API keys and who is calling.

A key is shown once. DynamoDB holds only ``sha256(pepper : key)``, so a stolen table does not yield usable keys;
the pepper lives outside the table (SSM in AWS). Lookup is one GetItem by that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from chalicelib import cache, db
from chalicelib.db import api_keys as api_keys_db
from chalicelib.db import partners as partners_db
from chalicelib.errors import Forbidden, PartnerSuspended, Unauthorized
from chalicelib.ids import b64url

Role = Literal["partner", "operator"]
KEY_PREFIX = "lk_"
SECRET_PLACEHOLDER = "__SECRET__"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: Role
    partner_id: str | None

    def require_partner(self) -> str:
        if self.role != "partner" or self.partner_id is None:
            raise Forbidden("This route is for partner keys.")
        return self.partner_id


def hash_key(raw_key: str, pepper: str) -> str:
    return hashlib.sha256(f"{pepper}:{raw_key}".encode()).hexdigest()


def new_secret(key_id: str, pepper: str, idempotency_key: str | None) -> str:
    """A fresh key. With a seed (the request's Idempotency-Key, or else its never-stored nonce) it is derived from
    it, so a replayed 'create key' request can show the same key again although only its hash was stored:
    re-deriving needs the seed, which the server keeps only as a hash, and the pepper, which the table never holds."""
    if idempotency_key is None:
        return KEY_PREFIX + secrets.token_urlsafe(30)
    mac = hmac.new(pepper.encode(), f"{key_id}\x00{idempotency_key}".encode(), hashlib.sha256).digest()
    return KEY_PREFIX + b64url(mac)[:40]


def add_key(
    tx: db.Transaction,
    raw_key: str,
    key_id: str,
    role: Role,
    partner_id: str | None,
    pepper: str,
    now_iso: str,
    *,
    new_only: bool,
) -> None:
    """Add storing the key (by its hash, never itself) to ``tx``; ``new_only``: its hash and id must be new."""
    api_keys_db.add_key(tx, hash_key(raw_key, pepper), key_id, role, partner_id, now_iso, new_only=new_only)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    return token


def authenticate(authorization: str | None, pepper: str) -> Principal:
    token = bearer_token(authorization)
    key_hash = hash_key(token, pepper)
    key = cache.get(f"apikey:{key_hash}", lambda: api_keys_db.load(key_hash))
    if key is None or key.status != "active":
        raise Unauthorized("The API key is unknown or revoked.")
    role: Role = "operator" if key.role == "operator" else "partner"
    if role == "partner":
        partner_id = key.partner_id or ""
        # The same cache entry as partners.cached (status only, no rates needed), so both see one invalidation.
        partner = cache.get(f"partner:{partner_id}", lambda: partners_db.load(partner_id))
        if partner is None:
            raise Unauthorized("The API key is unknown or revoked.")
        if partner.status != "active":
            raise PartnerSuspended("This partner is suspended; contact the coalition operator.")
    return Principal(key_id=key.key_id, role=role, partner_id=key.partner_id)


def session_active(key_id: str, partner_id: str) -> bool:
    """Whether a portal session's key and partner are both still active, read fresh (never from the cache)."""
    return api_keys_db.key_and_partner_active(key_id, partner_id)


def ensure_operator_key(raw_key: str, pepper: str, now_iso: str) -> str:
    """Install a known operator key (``make run`` with LOYALTY_OPERATOR_KEY, or first deploy). Idempotent."""
    key_hash = hash_key(raw_key, pepper)
    existing = api_keys_db.load(key_hash)
    if existing is not None:
        return existing.key_id
    key_id = "key_operator_" + key_hash[:12]
    tx = db.Transaction()
    add_key(tx, raw_key, key_id, "operator", None, pepper, now_iso, new_only=False)
    tx.commit(db.connection())
    return key_id
