"""A write request's fingerprints: what binds an Idempotency-Key to its first request (method, path and body) and a
natural id to its first body. The body is spelt canonically (every field, keys sorted, one spelling), so the same
JSON sent twice in another order or spacing is the same request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from json import encoder as json_encoder
from typing import Any

__all__ = ["fingerprint", "fingerprints"]


# ``json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` makes an encoder and then its C
# encoder on every call: both made once here. Without the circular-reference check (a parsed body has no cycles;
# one would end in RecursionError rather than ValueError): a shared check would keep what a failed call left in it.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False)
_C_ENCODER: Any = getattr(json_encoder, "c_make_encoder", None)  # None where the _json accelerator is missing
_ENCODE: Callable[[Any, int], Sequence[str]] = (
    _C_ENCODER(None, _CANONICAL.default, json_encoder.encode_basestring, None, ":", ",", True, False, True)
    if _C_ENCODER is not None
    else lambda body, _: [_CANONICAL.encode(body)]
)


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
