"""A write request's fingerprints: what binds an Idempotency-Key to its first request (method, path and body) and a
natural id to its first body. The body is spelt canonically (every field, keys sorted, one spelling), so the same
JSON sent twice in another order or spacing is the same request."""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.sorted_json import ENCODE as _ENCODE  # sorted, compact JSON: one spelling per body

__all__ = ["fingerprint", "fingerprints"]


def _canonical(body: Any) -> str:
    """The body as its fingerprints see it: every field, in one spelling."""
    return "".join(_ENCODE(body, 0))


def fingerprint(method: str, path: str, body: Any) -> str:
    return hashlib.sha256(f"{method} {path}\n{_canonical(body)}".encode()).hexdigest()


def fingerprints(method: str, path: str, body: Any) -> tuple[str, str]:
    """``(fingerprint(method, path, body), fingerprint("", "", body))``, the body encoded once."""
    canonical = _canonical(body).encode()
    return (
        hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest(),
        hashlib.sha256(b" \n" + canonical).hexdigest(),
    )
