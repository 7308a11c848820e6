"""Orders in the table: one ``OrderItem`` per (partner, order id), written whole under the version it was read at."""

from __future__ import annotations

from typing import Any

from chalicelib.db import keys
from chalicelib.db.expressions import RawUpdate, fixed, typed
from chalicelib.db.models import OrderItem
from chalicelib.db.new_items import writer
from chalicelib.db.tx import Transaction
from chalicelib.domain.orders import Order

__all__ = ["load", "read_key", "save"]

ORDER_TAG = "order"
_ORDER = writer(OrderItem)  # ``wire_item(OrderItem, ...)``, its attributes named at the call
_NEW: RawUpdate = fixed(
    RawUpdate.guarded("attribute_not_exists ({0})", ("pk",))
)  # as pynamodb writes ``pk.does_not_exist()``


def read_key(partner_id: str, order_id: str) -> tuple[type[OrderItem], str, str]:
    return (OrderItem, *keys.order_record(partner_id, order_id))


def load(found: dict[tuple[str, str], Any], partner_id: str, order_id: str) -> Order | None:
    item = found.get(keys.order_record(partner_id, order_id))
    if item is None:
        return None
    return Order.from_dict(
        item.state.as_dict() if hasattr(item.state, "as_dict") else dict(item.state), int(item.version)
    )


def save(tx: Transaction, partner_id: str, order_id: str, order: Order, previous: Order | None, now_iso: str) -> None:
    """Write the whole order: the first operation creates it (it must not exist), every later one replaces it only
    if nobody wrote it since it was read (``version``). A lost race cancels the transaction and the write decides
    again on fresh data."""
    pk, sk = keys.order_record(partner_id, order_id)
    version = 0 if previous is None else previous.version + 1
    if previous is None:
        condition = _NEW
    else:  # as pynamodb writes ``version == previous.version``
        condition = RawUpdate()
        condition.guard("{0} = {1}", ("version",), typed(previous.version))
    tx.put_raw(
        OrderItem,
        _ORDER(pk, sk, version=version, state=order.to_dict(), updated_at=now_iso),
        condition=condition,
        tag=ORDER_TAG,
    )
