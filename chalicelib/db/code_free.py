"""Storage of the code-free allowance (``chalicelib/domain/code_free.py``): one item per customer and partner.

A code-free spend adds its points to its slot and to ``total``, removes the stale slots it was told to prune, and
is guarded by the condition that ``total`` after the write stays within the ceiling (``total <= ceiling - points +
pruned`` before it) and that each pruned slot still holds exactly what was read (so it is subtracted once). Never
read-modified-written: two simultaneous code-free spends both add, and the second one's condition sees the first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.maps import ints
from chalicelib.db.models import CodeFreeItem
from chalicelib.db.reads import Found, ReadKey
from chalicelib.db.tx import Transaction
from chalicelib.domain.code_free import SLOT, WINDOW, Allowance

CODE_FREE_TAG = "code_free"  # the tag a failed ceiling guard reports in TxCancelled.failed


def read_key(customer_id: str, partner_id: str) -> ReadKey:
    return (CodeFreeItem, *keys.code_free(customer_id, partner_id))


def from_found(found: Found, customer_id: str, partner_id: str) -> Allowance:
    """The allowance from a batch read that asked for :func:`read_key`; empty if none is stored."""
    item = found.get(keys.code_free(customer_id, partner_id))
    if not isinstance(item, CodeFreeItem):
        return Allowance()
    return Allowance(total=int(item.total), slots=ints(item.slots), stored=True)


def add_use(
    tx: Transaction,
    customer_id: str,
    partner_id: str,
    read: Allowance,
    *,
    points: int,
    slot: str,
    pruned: dict[str, int],
    ceiling: int,
    now: datetime,
) -> None:
    """Count ``points`` taken without the customer's code in ``slot``, removing the ``pruned`` stale slots, in
    ``tx``; the transaction is cancelled if the day's code-free points would then exceed ``ceiling``. ``read`` is
    the allowance as the write read it: the first use creates the item (only if nobody created it meanwhile)."""
    key = keys.code_free(customer_id, partner_id)
    expires = int((now + WINDOW + SLOT + timedelta(days=1)).timestamp())
    if not read.stored:
        item = CodeFreeItem(*key, total=points, slots={slot: points}, ttl=expires)
        tx.put(item, condition=CodeFreeItem.pk.does_not_exist(), tag=CODE_FREE_TAG)
        return
    freed = sum(pruned.values())
    total = CodeFreeItem.total
    actions: list[Action] = [total.set((total | 0) + (points - freed))] if points != freed else []
    entry = CodeFreeItem.slots[slot]
    actions.append(entry.set((entry | 0) + points))
    condition: Condition = total <= ceiling - points + freed
    for stale, value in sorted(pruned.items()):
        actions.append(CodeFreeItem.slots[stale].remove())
        condition &= CodeFreeItem.slots[stale] == value
    actions.append(CodeFreeItem.ttl.set(expires))
    tx.update(CodeFreeItem(*key), actions, condition=condition, tag=CODE_FREE_TAG)
