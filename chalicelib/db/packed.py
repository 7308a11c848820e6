"""Text an item holds compressed: a frozen settlement report, a reconciliation's folded figures. Both grow with the
partners that trade with each other (one figure per issuer and acceptor), and an item holds 400 KB at most; JSON of
ids and numbers compresses several times over. Stored as base64 of zlib, so it stays a string attribute."""

from __future__ import annotations

import base64
import zlib

__all__ = ["pack", "unpack", "unpack_json"]


def pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def unpack(data: str) -> str:
    return zlib.decompress(base64.b64decode(data)).decode()


def unpack_json(stored: str) -> str:
    """JSON stored packed, or as it is (items written before packing: a JSON object starts with ``{``, which base64
    never does)."""
    return stored if not stored or stored.startswith("{") else unpack(stored)
