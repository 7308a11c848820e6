"""Binding an identifier to an existing customer needs the customer.

``POST /v1/customers`` with an identifier that finds a customer and one that is new (a known phone and a new card,
a known card and a new phone...) no longer attaches the new one. It answers ``202`` with ``confirmation``
{status: pending, channel, destination (masked), expires_at, identifiers}: a code went to the customer through an
identifier they already have (phone, e-mail or linked chat, never the new one). The till then sends
``POST /v1/customers/{id}/identifiers/confirm`` {code}: the identifiers are attached, the code used, in one
transaction. Only the partner that asked may confirm (the code's slot is that partner), a wrong code is counted (on
the code, and on the key's ``wrong_code`` allowance) and the fifth locks it (429), and a customer with nothing to
send a code to (card only) cannot be bound by a partner.

The operator can (``POST /v1/admin/customers/{id}/identifiers``, :func:`attach_by_operator`): it has checked who the
customer is itself, at its desk or by its own procedure, so no code is asked; uniqueness is the same alias items'.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from chalicelib.db import codes as codes_db
from chalicelib.db import customers as customers_db
from chalicelib.db.customers import Customer
from chalicelib.db.reads import Found, ItemKey, ReadKey
from chalicelib.domain.events import MESSAGE_REQUESTED
from chalicelib.errors import ApiError, IdentityConflict, NotFound
from chalicelib.machinery import limits
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.notify import mask
from chalicelib.schemas import BindingPending, CustomerEnrolled, IdentifierKind, IdentifiersConfirmed
from chalicelib.services import customer_messages, message_outbox, one_time_codes
from chalicelib.services.one_time_codes import Candidate

PURPOSE = "bind"
MINUTES = 15
KINDS = customers_db.IDENTIFIER_KINDS


def is_pending(reply: Reply) -> bool:
    """Whether an enrolment's answer waits for the customer's code (the API answers it 202)."""
    return not reply.created and '"confirmation":' in reply.body


def pending_plan(req: WriteRequest, customer_id: str, new: dict[str, str], partner_id: str, seed: str) -> Plan:
    """The answer to an enrolment that would attach ``new`` ({kind: value}) to a known customer: a bind code
    (derived from the request's ``seed``) and its message, written with the request's record; the message is sent
    after the commit (:func:`send_pending`)."""
    customer = customers_db.load(customer_id)
    if customer is None or customer.deleted_at:
        raise NotFound("Customer not found.")
    for kind in new:
        if customer.identifier(kind):
            raise IdentityConflict(f"This customer already has a different {kind}.")
    channel, to = customer_messages.choose(customer)  # 422 customer_unreachable: nothing to confirm with
    plan = Plan(customer_id=customer_id)
    now = datetime.fromisoformat(req.now_iso)
    issued = one_time_codes.issue(
        customer_id,
        PURPOSE,
        partner_id,
        now,
        minutes=MINUTES,
        partner_id=partner_id,
        payload=new,
        tx=plan.tx,
        code=one_time_codes.derived_code(seed, customer_id, PURPOSE, partner_id),
    )
    kinds = sorted(new)
    until, slot = issued.expires_at, partner_id
    message = message_outbox.code_message(
        "bind", customer_id, PURPOSE, slot, seed, until, now, partner=partner_id, identifiers=kinds
    )
    plan.events.append(message)
    plan.response = CustomerEnrolled(
        customer_id=customer_id,
        created=False,
        confirmation=BindingPending(
            status="pending",
            channel=channel,
            destination=mask(to, channel),
            expires_at=issued.expires_at.isoformat(),
            identifiers=[cast(IdentifierKind, kind) for kind in sorted(new)],
        ),
    )
    return plan


def send_pending(reply: Reply, plan: Plan | None, now: datetime) -> None:
    """After the commit of a fresh pending enrolment (``plan``: the decision that was committed): send the code at
    once; its failure is the answer, and the dispatcher retries one that may mend (a replay sends nothing)."""
    if not is_pending(reply) or reply.replayed or plan is None:
        return
    # its limit (spend_code, messages to one customer) was taken in the decision: a 429 commits nothing
    for message in plan.events:
        if message.type == MESSAGE_REQUESTED:
            message_outbox.send_now(message, now)


def confirm(req: WriteRequest, customer_id: str, code: str, partner_id: str, now: datetime) -> Reply:
    """``POST /v1/customers/{id}/identifiers/confirm``: attach what the code was made for."""
    pending = codes_db.get(customer_id, PURPOSE, partner_id)
    wanted = pending.payload if pending is not None else {}
    reads: list[ReadKey] = [
        codes_db.read_key(customer_id, PURPOSE, partner_id),
        customers_db.read_key(customer_id),
        *(customers_db.alias_read_key(customers_db.alias_key(kind, value)) for kind, value in wanted.items()),
    ]

    charge_wrong_code = limits.wrong_code(req.scope)

    def decide(found: Found) -> Plan:
        customer = customers_db.from_found(found, customer_id)
        if customer is None or customer.deleted_at:
            raise NotFound(f"No customer {customer_id}.")
        item = codes_db.from_found(found, customer_id, PURPOSE, partner_id)
        limits.wrong_codes_left(req.scope, now)  # a key that guessed too often learns nothing more
        outcome = one_time_codes.check(customer_id, code, [Candidate(partner_id, item)], now, at_till=True)
        if outcome.matched is None:
            assert isinstance(outcome.error, ApiError)
            charge_wrong_code()
            refused = Plan(error=outcome.error)
            one_time_codes.count_failures(refused.tx, outcome.failures)  # the fifth wrong try locks the code
            return refused
        new = {k: v for k, v in outcome.matched.payload.items() if k in KINDS}
        plan = Plan(customer_id=customer_id)
        one_time_codes.consume(plan.tx, outcome.matched)
        attached = _attach(plan, found, customer, new, req.now_iso)
        plan.response = IdentifiersConfirmed(customer_id=customer_id, attached=attached)
        return plan

    return execute(req, None, reads, decide)


def attach_by_operator(req: WriteRequest, customer_id: str, new: dict[str, str]) -> Reply:
    """Attach identifiers without a code (the operator's key only): one transaction, an identifier that belongs to
    another customer or a different one of the same kind is 409 ``identity_conflict``, a repeat attaches nothing."""
    reads: list[ReadKey] = [
        customers_db.read_key(customer_id),
        *(customers_db.alias_read_key(customers_db.alias_key(kind, value)) for kind, value in new.items()),
    ]

    def decide(found: Found) -> Plan:
        customer = customers_db.from_found(found, customer_id)
        if customer is None or customer.deleted_at:
            raise NotFound(f"No customer {customer_id}.")
        plan = Plan(customer_id=customer_id)
        attached = _attach(plan, found, customer, new, req.now_iso)
        plan.response = IdentifiersConfirmed(customer_id=customer_id, attached=attached)
        return plan

    return execute(req, None, reads, decide)


def _attach(plan: Plan, found: Found, customer: Customer, new: dict[str, str], now_iso: str) -> list[IdentifierKind]:
    fresh: list[ItemKey] = []
    for kind, value in sorted(new.items()):
        owner = customers_db.alias_owner(found, customers_db.alias_key(kind, value))
        if owner is not None and owner != customer.customer_id:
            raise IdentityConflict(f"This {kind} now belongs to another customer.")
        if customer.identifier(kind) not in (None, value):
            raise IdentityConflict(f"This customer already has a different {kind}.")
        if owner is None:
            fresh.append(customers_db.alias_key(kind, value))
    customers_db.set_identifiers(plan.tx, customer.customer_id, new)
    customers_db.add_aliases(plan.tx, customer.customer_id, now_iso, fresh)
    return [cast(IdentifierKind, kind) for kind in sorted(new)]
