"""The operator's other tools: any customer's entries, manual adjustments, the program's settings. (Partners and
keys: ``partners.py``; settlements: ``settlements.py``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import AUTH_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    AdjustmentOut,
    AttachIdentifiers,
    CreateAdjustment,
    CustomerLinksEnded,
    EndCustomerLinks,
    IdentifiersConfirmed,
    ProgramSettings,
    TransactionsPage,
    TransactionsQuery,
    UpdateProgram,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.machinery import program
    from chalicelib.services import bindings, bonuses, customer_auth, customers, program_settings
else:
    bindings = lazy_module("chalicelib.services.bindings")
    bonuses = lazy_module("chalicelib.services.bonuses")
    customer_auth = lazy_module("chalicelib.services.customer_auth")
    customers = lazy_module("chalicelib.services.customers")
    program = lazy_module("chalicelib.machinery.program")
    program_settings = lazy_module("chalicelib.services.program_settings")

api = RouteTable(tag="operator")


@api.route(
    "GET",
    "/v1/admin/customers/{customer_id}/transactions",
    "operator",
    "Every entry of a customer, at every partner, newest first",
    query=TransactionsQuery,
    response=TransactionsPage,
    errors=(*AUTH_ERRORS, 404, 422),
)
def admin_customer_transactions(call: Call[None, TransactionsQuery]) -> TransactionsPage:
    return customers.transactions(call.params["customer_id"], call.query, None)


@api.route(
    "POST",
    "/v1/admin/customers/{customer_id}/revoke-links",
    "operator",
    "End every link to the customer's page and every session of theirs (a lost phone, a forwarded message)",
    status=204,
    errors=(*AUTH_ERRORS, 404),
)
def admin_revoke_links(call: Call[None, None]) -> None:
    customer_auth.revoke_links(call.params["customer_id"], call.now)


@api.route(
    "POST",
    "/v1/admin/customer-links/revoke",
    "operator",
    "End every link to any customer's page issued before an instant, and the page sessions opened from them",
    body=EndCustomerLinks,
    response=CustomerLinksEnded,
    errors=(400, 401, 403, 413, 415, 422),
)
def admin_end_customer_links(call: Call[EndCustomerLinks, None]) -> CustomerLinksEnded:
    cutoff = customer_auth.end_links_issued_before(call.body.issued_before, call.now)
    return CustomerLinksEnded(issued_before=cutoff.isoformat(), undated_links_ended=True)


@api.route(
    "POST",
    "/v1/admin/customers/{customer_id}/identifiers",
    "operator",
    "Attach a phone, card or e-mail to a customer whom the operator has identified (no code: a card-only customer)",
    body=AttachIdentifiers,
    response=IdentifiersConfirmed,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def admin_attach_identifiers(call: Call[AttachIdentifiers, None]) -> Reply:
    return bindings.attach_by_operator(call.writing, call.params["customer_id"], call.body.values())


@api.route(
    "POST",
    "/v1/admin/adjustments",
    "operator",
    "Credit or debit a customer with a reason",
    body=CreateAdjustment,
    response=AdjustmentOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def admin_create_adjustment(call: Call[CreateAdjustment, None]) -> Reply:
    return bonuses.adjust(call.writing, call.body, call.now)


@api.route("GET", "/v1/admin/program", "operator", "Program settings", response=ProgramSettings, errors=AUTH_ERRORS)
def admin_get_program(call: Call[None, None]) -> ProgramSettings:
    return program.load().to_schema()


@api.route(
    "PUT",
    "/v1/admin/program",
    "operator",
    "Change program settings (any subset)",
    body=UpdateProgram,
    response=ProgramSettings,
    errors=(400, 401, 403, 413, 415, 422),
)
def admin_put_program(call: Call[UpdateProgram, None]) -> ProgramSettings:
    return program_settings.update(call.body, call.now.isoformat(), call.stamp).to_schema()
