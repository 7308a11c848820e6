"""How the customer item spells its lot keys: compact, so a customer's item stays under 1 KB (two write units in a
transaction) while she holds lots from a dozen months at several partners.

The domain's lot key is ``"<expiry YYYY-MM>|<issuer partner id>"`` (26 bytes for a partner). The item stores it as
``"<YYMM><n>"`` (5-6 bytes), where ``n`` is the issuer's position in the item's ``partners`` list: the partners this
customer's compact keys name, in the order they first did. The list only ever grows, so a position once given
names the same partner for good; a write that adds partners appends them under ``size(partners) = <length as
read>``, so two writes can never give one position to two partners (the second is cancelled and decides again).

``last_purchase`` is keyed the same way (the partner's position: one byte instead of the partner id), and a hold
stores its lots under compact keys too.

Items written before keep their lots under the domain key. Reading takes both spellings (a lot held under both
is their sum); a write that touches such a lot moves it to the compact key in the same update (the old key is
removed only if it still holds exactly what was read; at most ``db/wallets.MOVES_PER_WRITE`` lots a write), so old
items turn compact as they are used. An expiry
outside 2000-2099 keeps the domain spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain.lots import SEPARATOR, lot_key, split_lot_key

__all__ = ["Layout", "Spelling", "decode", "decode_purchases", "lot_parts"]


@dataclass(frozen=True)
class Layout:
    """How one customer item held its lots when it was read: the ``partners`` list, and for every lot (domain key)
    the stored keys that held it with their points."""

    partners: tuple[str, ...] = ()
    parts: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    purchases_by_id: frozenset[str] = frozenset()  # partners whose last purchase is still keyed by their id

    @staticmethod
    def of(
        partners: tuple[str, ...], parts: Mapping[str, tuple[tuple[str, int], ...]], purchases_by_id: frozenset[str]
    ) -> Layout:
        """``Layout(partners, parts, purchases_by_id)`` without the frozen ``__init__`` (one per wallet read): the
        same fields stored. tests/test_hot_path_copies.py holds the two equal."""
        layout: Layout = object.__new__(Layout)
        layout.__dict__.update(partners=partners, parts=parts, purchases_by_id=purchases_by_id)
        return layout


def decode_purchases(stored: Mapping[str, str], partners: tuple[str, ...]) -> tuple[dict[str, str], frozenset[str]]:
    """``last_purchase`` (partner -> ISO instant) from keys that are positions in ``partners`` or, on items written
    before, partner ids; the later instant where a partner has both. Also the partners keyed by id."""
    out: dict[str, str] = {}
    if not stored:
        return out, _NOBODY
    by_id = set()
    for key, when in sorted(stored.items()) if len(stored) > 1 else stored.items():
        if key.isdigit():
            partner = partners[int(key)]
        else:
            partner = key
            by_id.add(key)
        if partner not in out or datetime.fromisoformat(when) > datetime.fromisoformat(out[partner]):
            out[partner] = when
    return out, frozenset(by_id) if by_id else _NOBODY


_NOBODY: frozenset[str] = frozenset()


def decode(stored_lots: Mapping[str, int], partners: tuple[str, ...]) -> tuple[dict[str, int], Layout]:
    """The wallet's lots (domain keys) from the stored ``lots`` map in either spelling, and the layout behind them."""
    lots, parts = lot_parts(stored_lots, partners)
    return lots, Layout(partners, parts)


def lot_parts(
    stored_lots: Mapping[str, int], partners: tuple[str, ...]
) -> tuple[dict[str, int], dict[str, tuple[tuple[str, int], ...]]]:
    """:func:`decode`'s lots and the layout's ``parts``, for a reader that makes the layout itself."""
    lots: dict[str, int] = {}
    parts: dict[str, tuple[tuple[str, int], ...]] = {}
    for stored, points in sorted(stored_lots.items()) if len(stored_lots) > 1 else stored_lots.items():
        key = stored if SEPARATOR in stored else _domain_key(stored, partners)
        held = parts.get(key)
        if held is None:  # the usual case: one stored key per lot
            lots[key] = points
            parts[key] = ((stored, points),)
        else:  # a lot held under both spellings: their sum
            lots[key] += points
            parts[key] = (*held, (stored, points))
    return lots, parts


def _domain_key(stored: str, partners: tuple[str, ...]) -> str:
    position = int(stored[4:])
    if not 0 <= position < len(partners):
        # Never guess whose points these are: an item we cannot read is an error, not a smaller balance.
        raise ValueError(f"lot key {stored!r} names partner #{position} of {len(partners)}")
    return lot_key(f"20{stored[:2]}-{stored[2:4]}", partners[position])


class Spelling:
    """The stored keys of one write, against the layout its decision read; partners it names for the first time
    are collected in ``added`` (the write appends them to the list)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.added: list[str] = []

    def stored_key(self, key: str) -> str:
        """The compact key of the domain lot key ``key`` (the domain key itself for an expiry it cannot spell)."""
        expiry, issuer = split_lot_key(key)
        if not (len(expiry) == 7 and expiry.startswith("20") and expiry[2:4].isdigit() and expiry[5:].isdigit()):
            return key
        return f"{expiry[2:4]}{expiry[5:]}{self.position(issuer)}"

    def position(self, partner_id: str) -> int:
        """The partner's position in the item's partners list, once this write has appended what it adds."""
        if partner_id in self.layout.partners:
            return self.layout.partners.index(partner_id)
        if partner_id not in self.added:
            self.added.append(partner_id)
        return len(self.layout.partners) + self.added.index(partner_id)
