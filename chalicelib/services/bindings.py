"""Binding an identifier to an existing customer needs the customer (issue 17).

``POST /v1/customers`` with an identifier that finds a customer and one that is new (a known phone and a new card,
a known card and a new phone...) no longer attaches the new one. It answers ``202`` with ``confirmation``
{status: pending, channel, destination (masked), expires_at, identifiers}: a code went to the customer through an
identifier they already have (phone, e-mail or linked chat, never the new one). The till then sends
``POST /v1/customers/{id}/identifiers/confirm`` {code}: the identifiers are attached, the code used, in one
transaction. Only the partner that asked may confirm (the code's slot is that partner), a wrong code is counted and
locks after five tries, and a customer with nothing to send a code to (card only) cannot be bound by a partner.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from chalicelib import db
from chalicelib.db import codes as store
from chalicelib.db import keys
from chalicelib.errors import ApiError, IdentityConflict, NotFound
from chalicelib.notify import mask
from chalicelib.schemas import BindingPending, CustomerEnrolled, EnrollCustomer, IdentifierKind, IdentifiersConfirmed
from chalicelib.services import customer_messages as messages
from chalicelib.services import one_time_codes, partners
from chalicelib.services.idempotency import Plan, ReadKey, Reply, WriteRequest, execute
from chalicelib.services.one_time_codes import Candidate

PURPOSE = "bind"
MINUTES = 15
KINDS = ("phone", "card", "email")

Found = dict[tuple[str, str], Any]


def alias_key(kind: str, value: str) -> tuple[str, str]:
    return {"phone": keys.phone, "card": keys.card, "email": keys.email}[kind](value)


def pending_plan(
    req: WriteRequest, body: EnrollCustomer, customer_id: str, new: dict[str, str], partner_id: str, code: str
) -> Plan:
    """The answer to an enrolment that would attach ``new`` ({kind: value}) to a known customer: a bind code,
    written with the request's record; it is sent after the commit (:func:`send_pending`)."""
    customer = db.get_one(db.CustomerItem, *keys.customer(customer_id))
    if customer is None:
        raise NotFound("Customer not found.")
    for kind in new:
        if getattr(customer, kind):
            raise IdentityConflict(f"This customer already has a different {kind}.")
    channel, to = messages.choose(customer)  # 422 customer_unreachable: nothing to confirm with
    plan = Plan(status=202, customer_id=customer_id)
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
        code=code,
    )
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


def send_pending(reply: Reply, code: str, partner_id: str) -> None:
    """After the commit of a fresh 202: send the code (a replay sends nothing)."""
    if reply.status != 202 or reply.replayed:
        return
    # rate limit (i17-limits): limits.check("bind_code", customer_id) goes here
    data = json.loads(reply.body)
    customer = db.get_one(db.CustomerItem, *keys.customer(data["customer_id"]))
    if customer is None:
        return
    what = messages.what(customer, data["confirmation"]["identifiers"])
    partner = partners.cached(partner_id)
    body = messages.text(customer, "bind", code=code, partner=partner.name if partner else "", what=what)
    messages.send(customer, "bind_code", body, code=code)


def confirm(req: WriteRequest, customer_id: str, code: str, partner_id: str, now: datetime) -> Reply:
    """``POST /v1/customers/{id}/identifiers/confirm``: attach what the code was made for."""
    pending = store.get(customer_id, PURPOSE, partner_id)
    wanted = dict(pending.payload.as_dict()) if pending is not None and pending.payload else {}
    reads: list[ReadKey] = [
        store.read_key(customer_id, PURPOSE, partner_id),
        (db.CustomerItem, *keys.customer(customer_id)),
        *((db.AliasItem, *alias_key(kind, value)) for kind, value in wanted.items()),
    ]

    def decide(found: Found) -> Plan:
        customer = found.get(keys.customer(customer_id))
        if customer is None:
            raise NotFound(f"No customer {customer_id}.")
        item = found.get(keys.one_time_code(customer_id, PURPOSE, partner_id))
        outcome = one_time_codes.check(customer_id, code, [Candidate(partner_id, item)], now)
        if outcome.matched is None:
            assert isinstance(outcome.error, ApiError)
            refused = Plan(status=outcome.error.status, error=outcome.error)
            one_time_codes.count_failures(refused.tx, outcome.failures)
            return refused
        new = {str(k): str(v) for k, v in outcome.matched.payload.as_dict().items() if k in KINDS}
        plan = Plan(status=200, customer_id=customer_id)
        one_time_codes.consume(plan.tx, outcome.matched)
        attach = _attach(plan, found, customer, new, req.now_iso)
        plan.response = IdentifiersConfirmed(customer_id=customer_id, attached=attach)
        return plan

    return execute(req, None, reads, decide)


def _attach(
    plan: Plan, found: Found, customer: db.CustomerItem, new: dict[str, str], now_iso: str
) -> list[IdentifierKind]:
    C = db.CustomerItem
    actions, condition, attached = [], C.pk.exists(), list[IdentifierKind]()
    for kind, value in sorted(new.items()):
        owner = found.get(alias_key(kind, value))
        if owner is not None and owner.customer_id != customer.customer_id:
            raise IdentityConflict(f"This {kind} now belongs to another customer.")
        if getattr(customer, kind) not in (None, value):
            raise IdentityConflict(f"This customer already has a different {kind}.")
        attribute = getattr(C, kind)
        actions.append(attribute.set(value))
        condition &= attribute.does_not_exist() | (attribute == value)
        if owner is None:
            plan.tx.put(
                db.AliasItem(*alias_key(kind, value), customer_id=customer.customer_id, created_at=now_iso),
                condition=db.AliasItem.pk.does_not_exist(),
                tag="alias",
            )
        attached.append(cast(IdentifierKind, kind))
    if actions:
        plan.tx.update(db.CustomerItem(*keys.customer(customer.customer_id)), actions, condition=condition)
    return attached
