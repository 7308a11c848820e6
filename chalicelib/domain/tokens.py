"""The one encoding of bytes in tokens that travel in URLs and cookies: base64url without padding (RFC 4648 §5).

Decoding is strict: a token has exactly one spelling. Padding, the standard alphabet (``+``, ``/``), whitespace or
stray bits in the last character are refused, so a token re-encoded by some other tool is not a second valid token
(which would slip past a revocation or a replay check keyed on the text).
"""

from __future__ import annotations

import base64
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """The bytes of a canonical base64url text; ``ValueError`` for any other spelling."""
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(raw) != text:  # the last character carried bits that encode nothing
        raise ValueError("not canonical base64url")
    return raw
