"""JSON text with sorted keys and no spaces, non-ASCII kept: what a body's fingerprints hash
(``machinery/fingerprints.py``) and how an outbox event's data is stored (``db/outbox.py``).

``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` makes an encoder, and then its C
encoder, on every call: both are made once here. Without the circular-reference check: what is encoded is a parsed
body or data our code made, with no cycles (one would end in RecursionError rather than ValueError), and a check kept
across calls would keep what a failed call left in it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json import encoder as json_encoder
from typing import Any

__all__ = ["ENCODE", "dumps"]

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False)
_C_ENCODER: Any = getattr(json_encoder, "c_make_encoder", None)  # None where the _json accelerator is missing

# ``ENCODE(data, 0)``: the text's chunks (``"".join`` them), as ``JSONEncoder.iterencode`` gives them.
ENCODE: Callable[[Any, int], Sequence[str]] = (
    _C_ENCODER(None, _ENCODER.default, json_encoder.encode_basestring, None, ":", ",", True, False, True)
    if _C_ENCODER is not None
    else lambda data, _: [_ENCODER.encode(data)]
)


def dumps(data: Any) -> str:
    """``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``."""
    return "".join(ENCODE(data, 0))
