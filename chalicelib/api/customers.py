"""Customers: enrolment, lookup, a partner's view of their entries. The balance is in ``balances``; what needs the
customer (the link to their page, spend codes, binding an identifier) is in ``customer_reach``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib.api.common import AUTH_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    CustomerEnrolled,
    CustomerLookupQuery,
    CustomerRef,
    EnrollCustomer,
    TransactionsPage,
    TransactionsQuery,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.api import customer_reach
    from chalicelib.services import customers
else:
    customer_reach = lazy_module("chalicelib.api.customer_reach")  # enrolment's answer: its models load with it
    customers = lazy_module("chalicelib.services.customers")

api = RouteTable()


@api.route(
    "POST",
    "/v1/customers",
    "partner",
    "Enrol a customer by phone, card and/or e-mail (200 if already known; 202 if a new identifier of a known "
    "customer waits for the customer's code, see /v1/customers/{customer_id}/identifiers/confirm)",
    body=EnrollCustomer,
    response=CustomerEnrolled,
    status=201,
    also=(200, 202),
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 429, 503),
)
def enroll_customer(call: Call[EnrollCustomer, None]) -> Reply | Response:
    return customer_reach.pending_binding(customers.enroll(call.writing, call.body, call.partner_id))


@api.route(
    "GET",
    "/v1/customers/lookup",
    "partner",
    "Find a customer by phone or card",
    query=CustomerLookupQuery,
    response=CustomerRef,
    errors=(*AUTH_ERRORS, 404, 422),
)
def lookup_customer(call: Call[None, CustomerLookupQuery]) -> CustomerRef:
    return customers.lookup(call.query)


@api.route(
    "GET",
    "/v1/customers/{customer_id}/transactions",
    "partner",
    "The customer's entries made at the calling partner, newest first",
    query=TransactionsQuery,
    response=TransactionsPage,
    errors=(*AUTH_ERRORS, 404, 422),
)
def customer_transactions(call: Call[None, TransactionsQuery]) -> TransactionsPage:
    return customers.transactions(call.params["customer_id"], call.query, call.partner_id)
