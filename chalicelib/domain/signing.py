"""The one place a value is signed with a secret (HMAC-SHA256): webhooks, links, cookies, cursors, tokens, keyed hashes.

- :func:`derive_key` gives each purpose a key of its own, so a value made for one purpose is never valid for another;
- :func:`sign` (and :func:`sign_hex`, :func:`sign_b64url`) signs a fixed number of parts joined by a separator. The
  join is unambiguous because only the LAST part may contain the separator (a free text: a typed code, a body, a
  cursor's payload); an earlier part that does is refused with ``ValueError``;
- :func:`verify` compares in constant time, on bytes: a text in any alphabet is a plain mismatch, never an error;
- :func:`token` / :func:`open_token`: ``base64url(payload).base64url(mac)``, the self-contained links.

The messages each caller signs are those it signed before this module existed (pinned by tests/test_signing.py):
values already stored or handed out (links in sent messages, code hashes, limiter keys, webhook secrets) keep
working.

Webhook deliveries carry ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` in ``Loyalty-Signature`` (one
``v1`` per secret valid at the time: during a rotation the old and the new). The partner SDK verifies it
(partner_sdk/webhooks.py: the SDK ships alone, so it has its own copy of these few lines, checked against this one by
tests/test_webhooks.py)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from chalicelib.ids import b64url, unb64url

SCHEME = "v1"
Part = str | bytes


def _bytes(value: Part) -> bytes:
    # surrogatepass: a lone surrogate (JSON allows one) is still a distinct text, never an encoding error (a 500)
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def message(*parts: Part, sep: str = "\n") -> bytes:
    """The bytes signed for ``parts``: joined by ``sep``; only the last part may contain ``sep``."""
    raw = [_bytes(p) for p in parts]
    separator = sep.encode()
    if any(separator in p for p in raw[:-1]):
        raise ValueError("only the last part of a signed message may contain its separator")
    return separator.join(raw)


def sign(key: Part, *parts: Part, sep: str = "\n") -> bytes:
    """The HMAC-SHA256 of :func:`message` of ``parts`` under ``key``."""
    return hmac.new(_bytes(key), message(*parts, sep=sep), hashlib.sha256).digest()


def sign_hex(key: Part, *parts: Part, sep: str = "\n", length: int = 64) -> str:
    """:func:`sign` in hex, its first ``length`` characters (values kept shorter where a short one is enough)."""
    return sign(key, *parts, sep=sep).hex()[:length]


def sign_b64url(key: Part, *parts: Part, sep: str = "\n", size: int = 32) -> str:
    """:func:`sign`'s first ``size`` bytes in base64url."""
    return b64url(sign(key, *parts, sep=sep)[:size])


def derive_key(secret: Part, purpose: str) -> bytes:
    """A key for one purpose only, from a secret that serves several: HMAC-SHA256(secret, purpose)."""
    return sign(secret, purpose)


def verify(given: Part, expected: Part) -> bool:
    """Whether two signatures are equal, in constant time. On bytes: ``hmac.compare_digest`` raises on a str that is
    not ASCII, and what a client sends may be in any alphabet."""
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def token(key: Part, payload: bytes) -> str:
    """``base64url(payload).base64url(mac)``: a value carrying its own proof, checked by :func:`open_token`."""
    return f"{b64url(payload)}.{b64url(sign(key, payload))}"


def open_token(key: Part, text: str) -> bytes:
    """The payload of a :func:`token` made with ``key``; ``ValueError`` for anything else (malformed, another
    spelling of the same bytes, tampered). The caller reads the payload's own expiry."""
    payload_b64, mac_b64 = text.split(".")  # ValueError unless exactly two parts
    payload = unb64url(payload_b64)  # the one spelling: any other is refused
    if not verify(sign(key, payload), unb64url(mac_b64)):
        raise ValueError("bad signature")
    return payload


def mac(secret: str, timestamp: int, body: bytes) -> str:
    """A webhook delivery's signature: the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return sign_hex(secret, str(timestamp), body, sep=".")


def header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The signature header: the timestamp, then one ``v1`` per secret."""
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={mac(s, timestamp, body)}" for s in secrets)])


def derive(key: str, purpose: str, text: str) -> str:
    """A value derived from ``key`` for one purpose (a webhook's secret from its salt): the hex HMAC-SHA256 of
    ``"<purpose>\\n<text>"``, so values for different purposes never coincide."""
    return sign_hex(key, purpose, text)
