"""The order a write joins: one customer, one amount, fixed by its first operation (``chalicelib/domain/orders.py``)."""

from __future__ import annotations

from chalicelib.db import orders as orders_db
from chalicelib.domain.orders import (
    Order,
)
from chalicelib.errors import (
    OrderConflict,
)
from chalicelib.machinery.program import Program
from chalicelib.machinery.write_session import Found


def new_order(customer_id: str, amount_minor: int, prog: Program) -> Order:
    values = (("operator_fee_bps", prog.operator_fee_bps), ("point_value_minor", prog.point_value_minor))
    return Order.opened(customer_id, amount_minor, values)


def order_for(found: Found, partner_id: str, order_id: str, customer_id: str, amount_minor: int) -> Order | None:
    """The order this operation joins, if another operation made it: same customer, same amount, no refunds yet."""
    order = orders_db.load(found, partner_id, order_id)
    if order is not None:
        reason = order.conflict(customer_id, amount_minor)
        if reason is not None:
            raise OrderConflict(f"Order {order_id}: {reason}")
    return order
