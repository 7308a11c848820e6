"""A count a partner's things keep beside them, so that a cap on them holds under concurrency: a partner's active
API keys, its webhook endpoints.

Every change of the set moves the count in the change's own transaction, under ``count < cap`` when it grows, so
two changes at once cannot pass the cap together. A partner whose things predate the count has them counted from the
things themselves by the first change, which puts the count under ``attribute_not_exists``: every change touches
this one item, so two first changes cannot both put it, and the one cancelled counts again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute

from chalicelib.db.models import _Item
from chalicelib.db.reads import Found, ReadKey
from chalicelib.db.tx import Transaction

__all__ = ["CappedCount", "Counted"]

Counted = tuple[int, bool]  # how many, and whether that number is stored (False: counted from the things)


@dataclass(frozen=True)
class CappedCount:
    """One kind of count: its item (``model``, at ``key(partner)``, the number in its attribute ``number``), how to
    count the things without it (``recount``), and the tag its item has in a transaction (a cancellation there
    means it was moved or first stored meanwhile: read it again)."""

    model: type[_Item]
    number: str
    key: Callable[[str], tuple[str, str]]
    recount: Callable[[str], int]
    tag: str

    def read_key(self, partner_id: str) -> ReadKey:
        return (self.model, *self.key(partner_id))

    def live(self, found: Found, partner_id: str) -> Counted:
        """The partner's count, :meth:`read_key` having been read in ``found``."""
        item = found.get(self.key(partner_id))
        if isinstance(item, self.model):
            return int(getattr(item, self.number)), True
        return self.recount(partner_id), False

    def move(self, tx: Transaction, partner_id: str, counted: Counted, delta: int, cap: int | None = None) -> None:
        """Move the count read as ``counted`` by ``delta`` in ``tx``; with ``cap``, only while it is below it."""
        pk, sk = self.key(partner_id)
        live, stored = counted
        if not stored:
            first = self.model(pk, sk)
            setattr(first, self.number, live + delta)
            tx.put(first, condition=self.model.pk.does_not_exist(), tag=self.tag)
            return
        number: NumberAttribute = getattr(self.model, self.number)
        guard = number < cap if cap is not None else self.model.pk.exists()
        tx.update(self.model(pk, sk), [number.add(delta)], condition=guard, tag=self.tag)
