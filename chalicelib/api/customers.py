"""Customers: enrolment, lookup, balance, a partner's view of their entries, the link to their page."""

from __future__ import annotations

from chalicelib import runtime
from chalicelib.api.common import AUTH_ERRORS, BODY_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.schemas import (
    Balance,
    CustomerEnrolled,
    CustomerLookupQuery,
    CustomerRef,
    EnrollCustomer,
    PortalLink,
    PortalLinkRequest,
    TransactionsPage,
    TransactionsQuery,
)
from chalicelib.services import customers
from chalicelib.services import portal_links as portal
from chalicelib.services.idempotency import Reply

api = RouteTable()


@api.route(
    "POST",
    "/v1/customers",
    "partner",
    "Enrol a customer by phone and/or card (200 if already known)",
    body=EnrollCustomer,
    response=CustomerEnrolled,
    status=201,
    idempotent_post=True,
    errors=WRITE_ERRORS,
)
def enroll_customer(call: Call[EnrollCustomer, None]) -> Reply:
    return customers.enroll(call.writing, call.body, call.partner_id)


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
    "/v1/customers/{customer_id}/balance",
    "partner",
    "Balance, expiring points and tier (one read)",
    response=Balance,
    errors=(*AUTH_ERRORS, 404),
)
def customer_balance(call: Call[None, None]) -> Balance:
    return customers.balance(call.params["customer_id"], call.now)


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


def _base_url(call: Call[PortalLinkRequest, None]) -> str:
    configured = runtime.get().settings.public_base_url
    if configured:
        return configured
    host = call.header("host") or "localhost"
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]")
    scheme = call.header("x-forwarded-proto") or ("http" if loopback else "https")
    return f"{scheme}://{host}"


@api.route(
    "POST",
    "/v1/customers/{customer_id}/portal-link",
    "partner",
    "A signed, expiring link to the customer's balance page (for a receipt, SMS or app)",
    body=PortalLinkRequest,
    response=PortalLink,
    status=201,
    errors=BODY_ERRORS,
)
def portal_link(call: Call[PortalLinkRequest, None]) -> PortalLink:
    call.partner_id  # noqa: B018 - partners only
    return portal.create_link(call.params["customer_id"], call.body, _base_url(call), call.now)
