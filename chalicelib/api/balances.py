"""A customer's balance: the read a till makes most, and often a new instance's first request. Its own module, with
its answer rendered without the response models (chalicelib/services/balances.py): the route's first request loads
neither pydantic's models nor the customers' other use cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib.api.common import AUTH_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.services import balances
else:
    balances = lazy_module("chalicelib.services.balances")

api = RouteTable()


@api.route(
    "GET",
    "/v1/customers/{customer_id}/balance",
    "partner",
    "Balance, expiring points and tier (one read)",
    response="Balance",
    errors=(*AUTH_ERRORS, 404),
)
def customer_balance(call: Call[None, None]) -> Response:
    body = balances.as_json(call.params["customer_id"], call.now)
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})
