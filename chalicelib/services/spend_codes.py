"""Spending needs the customer (issue 17): the partner's policy, the two ways a customer gives a code, and the check
inside the redemption's own write.

- The customer's page shows a code and its QR (``page`` slot, ``PAGE_MINUTES``): any till may use it once.
- A till asks the system to send one (``POST /v1/customers/{id}/spend-code``, slot ``till#<partner>``,
  ``SENT_MINUTES``): only that partner may use it.

The redemption reads both code items in the batch read it makes anyway (no extra round trip) and deletes the one
that matched in its own transaction, guarded: under concurrency one redemption gets the code, the others find it
gone. The quote never needs a code.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.db import codes as store
from chalicelib.db import customers as customers_db
from chalicelib.db.customers import Customer
from chalicelib.db.store import Found, ReadKey
from chalicelib.domain.partners import Partner
from chalicelib.domain.periods import zone
from chalicelib.errors import ApiError, CustomerConfirmationRequired, NotFound
from chalicelib.notify import mask
from chalicelib.schemas import SpendCodeSent
from chalicelib.services import customer_messages as messages
from chalicelib.services import customers, limits, one_time_codes, program
from chalicelib.services.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.services.one_time_codes import Candidate, Issued, Verdict
from chalicelib.services.session import load_partner

PURPOSE = "spend"
PAGE_SLOT = "page"
PAGE_MINUTES = 5
SENT_MINUTES = 10
POLICIES = ("always", "above", "never")


def till_slot(partner_id: str) -> str:
    return f"till#{partner_id}"


def required(partner: Partner, points: int) -> bool:
    """Does this partner's policy ask for the customer's code for a spend of ``points``?"""
    return partner.needs_customer_code(points)


def reads(customer_id: str, partner_id: str) -> list[ReadKey]:
    return [
        store.read_key(customer_id, PURPOSE, PAGE_SLOT),
        store.read_key(customer_id, PURPOSE, till_slot(partner_id)),
    ]


def demand(partner: Partner, points: int, code: str | None) -> bool:
    """Whether this spend needs a code; 403 customer_confirmation_required if it does and none came."""
    if not required(partner, points):
        return False
    if code is None:
        raise CustomerConfirmationRequired(
            "This partner spends points only with the customer's code: the one on their page (or its QR), or one "
            "sent to them with POST /v1/customers/{id}/spend-code."
        )
    return True


def confirm(found: Found, plan: Plan, customer_id: str, partner_id: str, code: str, now: datetime) -> Plan:
    """Check ``code`` against the codes read with the write. A match is deleted in ``plan``'s transaction and
    ``plan`` is returned; anything else returns a plan that only counts the wrong try and answers with the error
    (never recorded: the same order may be tried again with the right code)."""
    candidates = [
        Candidate(slot, store.from_found(found, customer_id, PURPOSE, slot))
        for slot in (PAGE_SLOT, till_slot(partner_id))
    ]
    outcome = one_time_codes.check(customer_id, code, candidates, now)
    if outcome.matched is not None:
        one_time_codes.consume(plan.tx, outcome.matched)
        return plan
    assert isinstance(outcome.error, ApiError)
    refused = Plan(error=outcome.error)
    one_time_codes.count_failures(refused.tx, outcome.failures)
    return refused


def page_code(customer_id: str, now: datetime) -> Issued:
    """A code for the customer's page (and its QR); it replaces the page's previous code."""
    return one_time_codes.issue(customer_id, PURPOSE, PAGE_SLOT, now, minutes=PAGE_MINUTES)


def send_code(req: WriteRequest, customer_id: str, partner_id: str, now: datetime) -> Reply:
    """``POST /v1/customers/{id}/spend-code``: a code only this partner may use, sent to the customer.

    Bound to its Idempotency-Key like any write: the code is derived from the key, so a retry (after a lost answer,
    or after a send that failed) replays the first answer and delivers the same code, never a second one that would
    void the code the customer may already be reading out."""
    limits.spend_code(customer_id, partner_id)  # a till may not flood a customer with messages, retries included
    slot = till_slot(partner_id)
    code = one_time_codes.derived_code(req.secret_seed, customer_id, PURPOSE, slot)
    read: list[Customer] = []  # the customer as the write read it: the message needs no second read

    def decide(found: Found) -> Plan:
        customer = customers_db.from_found(found, customer_id)
        if customer is None or customer.deleted_at:
            raise NotFound("Customer not found.")
        read[:] = [customer]
        channel, to = messages.choose(customer)  # 422 customer_unreachable: nothing written but the answer
        load_partner(partner_id, now)
        plan = Plan(created=True, customer_id=customer_id)
        issued = one_time_codes.issue(
            customer_id, PURPOSE, slot, now, minutes=SENT_MINUTES, partner_id=partner_id, tx=plan.tx, code=code
        )
        plan.response = SpendCodeSent(
            channel=channel, destination=mask(to, channel), expires_at=issued.expires_at.isoformat()
        )
        return plan

    reply = execute(req, None, [customers_db.read_key(customer_id)], decide)
    _deliver(reply, read[0] if read else None, customer_id, partner_id, code, now)
    return reply


def _deliver(
    reply: Reply, customer: Customer | None, customer_id: str, partner_id: str, code: str, now: datetime
) -> None:
    """Send the code after its commit; on a replay, again only while that very code still waits to be used (its
    first message may never have left; a second copy of the same code is harmless)."""
    slot = till_slot(partner_id)
    if reply.replayed:
        stored = store.get(customer_id, PURPOSE, slot)
        if one_time_codes.judge(stored, customer_id, slot, code, now) is not Verdict.OK:
            return  # used, expired, locked, or replaced by a newer code: nothing to deliver
    if customer is None:  # a replay: this request's write did not read the customer
        customer = customers.load(customer_id)
    partner = load_partner(partner_id, now)
    expires_at = datetime.fromisoformat(reply.result(SpendCodeSent).expires_at)
    until = expires_at.astimezone(zone(program.load(now).timezone)).strftime("%H:%M")
    body = messages.text(customer, "spend", code=code, partner=partner.name, until=until)
    messages.send(customer, "spend_code", body, code=code)
