"""API keys and who is calling.

A key is shown once. DynamoDB holds only ``sha256(pepper : key)``, so a stolen table does not yield usable keys;
the pepper lives outside the table (SSM in AWS). Lookup is one GetItem by that hash.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from chalicelib import cache, db
from chalicelib.db import api_keys as api_keys_db
from chalicelib.db import keys
from chalicelib.db import partners as partners_db
from chalicelib.db import program as program_db
from chalicelib.db import sessions as sessions_db
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain import signing
from chalicelib.domain.api_keys import KEY_PREFIX, NAME_SEP, named_in
from chalicelib.domain.partners import Partner
from chalicelib.errors import Forbidden, PartnerSuspended, Unauthorized
from chalicelib.machinery import program

Role = Literal["partner", "operator"]
SECRET_PLACEHOLDER = "__SECRET__"  # noqa: S105 - a marker, not a secret


KEY_ROLE = "key"  # the role of a caller with an API key: the key's own rights (partner or operator routes)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (``role`` "key") or a staff member signed in with a code (``role`` their role:
    owner, marketer, cashier, accountant; operator, operator_readonly). ``partner_id`` None: the operator's.
    ``key_id`` scopes Idempotency-Keys and request rates: the key's id, or the staff member's id."""

    key_id: str
    role: str
    partner_id: str | None
    staff_id: str | None = None

    @property
    def operator(self) -> bool:
        return self.partner_id is None

    @functools.cached_property  # an API key's principal is made once per key (``_key_principal``), read per write
    def actor(self) -> str:
        """Who did it, as the audit log names them: ``staff:<staff id>`` or ``key:<key id>``."""
        return f"staff:{self.staff_id}" if self.staff_id is not None else f"key:{self.key_id}"

    def require_partner(self) -> str:
        if self.partner_id is None:
            raise Forbidden("This route is for partner keys.")
        return self.partner_id


def require_role(principal: Principal, *roles: str) -> None:
    """Refuse (403) a caller whose role is none of ``roles`` ("key": an API key, with its route's rights)."""
    if principal.role not in roles:
        raise Forbidden("Your role does not allow this.")


def hash_key(raw_key: str, pepper: str) -> str:
    return hashlib.sha256(f"{pepper}:{raw_key}".encode()).hexdigest()


def new_secret(key_id: str, pepper: str, idempotency_key: str | None, partner_id: str | None = None) -> str:
    """A fresh key. With a seed (the request's Idempotency-Key, or else its never-stored nonce) it is derived from
    it, so a replayed 'create key' request can show the same key again although only its hash was stored:
    re-deriving needs the seed, which the server keeps only as a hash, and the pepper, which the table never holds.

    A partner's key names its partner and key id in the clear before its secret (``lk_<partner>.<key id>.<40
    characters>``): a cold instance reads the key, the partner and the request's own items in one batch (see
    :func:`authenticate`). Neither id is a secret; the key is still only as strong as its 40 random characters."""
    if idempotency_key is None:
        secret = secrets.token_urlsafe(30)
    else:
        secret = signing.sign_b64url(pepper, key_id, idempotency_key, sep="\x00")[:40]
    named = f"{partner_id}{NAME_SEP}{key_id}{NAME_SEP}" if partner_id is not None else ""
    return KEY_PREFIX + named + secret


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


def authenticate(authorization: str | None, pepper: str, *, at_once: bool = False) -> Principal:
    """Who is calling. From the per-process cache when it knows the key, its partner and the program; otherwise,
    when the caller's key id and partner are known (named in the key, or remembered from an earlier request: which
    key and partner a key hash is never changes), the principal is answered at once and the key, partner and
    program items are *carried* by the request's first read (``db.carry``): checked before that read returns
    anything, and before any other call or any answer leaves (``chalicelib/http.py``). A cold instance thus pays
    no round trip of its own for them. Only a key that names nothing and was never seen is read first.
    ``at_once``: checked before returning (the portal's sign-in, which reads nothing else)."""
    token = bearer_token(authorization)
    key_hash = hash_key(token, pepper)
    key: api_keys_db.ApiKey | None = cache.peek(f"apikey:{key_hash}")
    binding: tuple[str, Role, str | None] | None
    if key is not None:
        binding = (key.key_id, _role(key), key.partner_id)
    else:
        binding = cache.recall(f"binding:{key_hash}")
        named = named_in(token) if binding is None else None
        if named is not None:
            binding = (named[1], "partner", named[0])
    if binding is None:
        return _read_now(key_hash)
    key_id, _, partner_id = binding
    if key is not None and key.status != "active":
        raise Unauthorized("The API key is unknown or revoked.")
    partner = cache.peek(f"partner:{partner_id}") if partner_id is not None else None
    # A partner's state is told only to one of its keys: to a key not yet read (one that may only name it), once
    # its read has shown it real (``_land``); before that, a made-up key learns nothing but 401.
    if key is not None and partner is not None and partner.status != "active":
        raise PartnerSuspended("This partner is suspended; contact the coalition operator.")
    carried: list[ReadKey] = []
    if key is None:
        carried.append(api_keys_db.read_key(key_hash))
    if partner_id is not None and partner is None:
        carried.append(partners_db.read_key(partner_id))
    if cache.peek("program") is None:
        carried.append(program_db.read_key())
    if carried:
        db.carry(carried, lambda found: _land(found, key_hash, binding, carried, partner))
        if at_once:
            db.land_riders()
    return _key_principal(key_id, partner_id)


@functools.lru_cache(maxsize=1024)
def _key_principal(key_id: str, partner_id: str | None) -> Principal:
    """An API key's principal: the same immutable value for every request of the key, made once."""
    return Principal(key_id=key_id, role=KEY_ROLE, partner_id=partner_id)


def _role(key: api_keys_db.ApiKey) -> Role:
    return "operator" if key.role == "operator" else "partner"


def _land(
    found: Found,
    key_hash: str,
    binding: tuple[str, Role, str | None],
    carried: list[ReadKey],
    partner: Partner | None,
) -> None:
    """The carried items have come: the caller is who it said, or the request ends here (401, 403). The key first:
    only a key shown real learns its partner's state. ``partner``: the partner as this instance knew it (not
    carried)."""
    partner_id = binding[2]
    asked = {(pk, sk) for _, pk, sk in carried}
    if keys.api_key(key_hash) in asked:
        key = api_keys_db.from_found(found, key_hash)
        if key is None or key.status != "active" or (key.key_id, _role(key), key.partner_id) != binding:
            raise Unauthorized("The API key is unknown or revoked.")
        cache.put(f"apikey:{key_hash}", key)
        cache.remember(f"binding:{key_hash}", binding)
    if partner_id is not None and keys.partner(partner_id) in asked:
        partner = partners_db.from_found(found, partner_id)
        if partner is None:
            raise Unauthorized("The API key is unknown or revoked.")
        cache.put(f"partner:{partner_id}", partner)
    if partner is not None and partner.status != "active":
        raise PartnerSuspended("This partner is suspended; contact the coalition operator.")
    if keys.program() in asked:
        cache.put("program", program.from_stored(program_db.from_found(found)))


def _read_now(key_hash: str) -> Principal:
    """A key never seen that names nothing (the operator's, a key issued before keys named their partner): read
    it now, with the program if this instance has not got it."""
    wanted = [api_keys_db.read_key(key_hash)]
    if cache.peek("program") is None:
        wanted.append(program_db.read_key())
    found = db.get_many(wanted)
    key = api_keys_db.from_found(found, key_hash)
    if keys.program() in {(pk, sk) for _, pk, sk in wanted}:
        cache.put("program", program.from_stored(program_db.from_found(found)))
    if key is None or key.status != "active":
        raise Unauthorized("The API key is unknown or revoked.")
    cache.put(f"apikey:{key_hash}", key)
    binding = (key.key_id, _role(key), key.partner_id)
    cache.remember(f"binding:{key_hash}", binding)
    if binding[1] == "partner":
        # The same cache entry as partner_cache.cached (status only, no rates needed), so both see one invalidation.
        partner_id = key.partner_id or ""
        partner = cache.get(f"partner:{partner_id}", lambda: partners_db.load(partner_id))
        if partner is None:
            raise Unauthorized("The API key is unknown or revoked.")
        if partner.status != "active":
            raise PartnerSuspended("This partner is suspended; contact the coalition operator.")
    return Principal(key_id=key.key_id, role=KEY_ROLE, partner_id=key.partner_id)


def session_active(key_id: str, partner_id: str, session_digest: str) -> bool:
    """Whether a portal session still exists (not signed out) and its key and partner are both still active, read
    fresh in one batch (never from the cache)."""
    return sessions_db.portal_session_active(session_digest, key_id, partner_id)


def start_portal_session(session_digest: str, key_id: str, partner_id: str, now_iso: str, expires_at: int) -> None:
    sessions_db.put_portal_session(session_digest, key_id, partner_id, now_iso, expires_at)


def end_portal_session(session_digest: str) -> None:
    """Sign-out: the session record goes, and with it every copy of its cookie."""
    sessions_db.delete_portal_session(session_digest)


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
