"""Customers: enrolment by phone, card and/or e-mail, lookup, balance and history."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import ids
from chalicelib.db import customers as customers_db
from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from chalicelib.db.customers import Customer, NewCustomer
from chalicelib.db.reads import Found, ItemKey
from chalicelib.domain.events import CUSTOMER_ENROLLED
from chalicelib.errors import IdentityConflict, NotFound, ValidationFailed
from chalicelib.lazy import lazy_module
from chalicelib.machinery import program, wallets
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import (
    Balance,
    CustomerEnrolled,
    CustomerLookupQuery,
    CustomerRef,
    EnrollCustomer,
    LedgerEntryOut,
    TransactionsPage,
    TransactionsQuery,
)
from chalicelib.services.balances import load

if TYPE_CHECKING:  # enrolment's and history's needs load on their first use (chalicelib/lazy.py): not a balance's
    from chalicelib.db import amo as amo_db
    from chalicelib.db import crm as crm_db
    from chalicelib.db import history as history_db
    from chalicelib.db.history import PostedEntry
    from chalicelib.machinery import events, limits
    from chalicelib.services import bindings, one_time_codes
else:
    amo_db = lazy_module("chalicelib.db.amo")
    crm_db = lazy_module("chalicelib.db.crm")
    events = lazy_module("chalicelib.machinery.events")
    history_db = lazy_module("chalicelib.db.history")
    bindings = lazy_module("chalicelib.services.bindings")
    limits = lazy_module("chalicelib.machinery.limits")
    one_time_codes = lazy_module("chalicelib.services.one_time_codes")

_CURSOR_KEY = re.compile(r"E#ent_[0-9a-z]{22}")  # fullmatch

__all__ = ["Customer", "balance", "enroll", "entry_out", "load", "lookup", "transactions"]


def enroll(req: WriteRequest, body: EnrollCustomer, partner_id: str) -> Reply:
    """A new customer (created), a known one, or a known one with an identifier to attach: then the answer carries
    ``confirmation`` and the identifier waits for the customer's code (``bindings``)."""
    given = {kind: value for kind in bindings.KINDS if (value := getattr(body, kind)) is not None}
    aliases = {kind: customers_db.alias_key(kind, value) for kind, value in given.items()}
    crms = (crm_db.BITRIX24, amo_db.AMOCRM)
    # The partner's CRM connections ride in the same batch read: an enrolment tells a CRM only where there is one.
    reads = [customers_db.alias_read_key(k) for k in aliases.values()] + crm_db.connection_reads(partner_id, crms)
    new_id = ids.random_id("cus")  # once per request, not per attempt
    seed = one_time_codes.new_seed()  # likewise: a decision made again writes the same code
    pending: list[Plan] = []  # the binding's decision, if that is what was committed
    count_lookup = limits.once("lookup", req.scope)  # a known phone or card answers like a look-up: same limit
    count_message = limits.once("spend_code")  # a binding's code is a message to the customer

    def decide(found: Found) -> Plan:
        owners = {kind: customers_db.alias_owner(found, key) for kind, key in aliases.items()}
        known = {owner for owner in owners.values() if owner}
        if known:
            count_lookup()
        if len(known) > 1:
            raise IdentityConflict("These identifiers belong to different customers.")
        if not known:
            plan = _new_customer(req, body, partner_id, list(aliases.values()), new_id)
            if crm_db.any_connected(found, partner_id, crms):  # in the enrolment's own transaction
                now = datetime.fromisoformat(req.now_iso)
                plan.events.append(events.new(CUSTOMER_ENROLLED, partner_id, now, customer_id=new_id))
            return plan
        existing_id = known.pop()
        new = {kind: given[kind] for kind, owner in owners.items() if not owner}
        if not new:
            return Plan(response=CustomerEnrolled(customer_id=existing_id, created=False), customer_id=existing_id)
        count_message(existing_id)
        pending[:] = [bindings.pending_plan(req, existing_id, new, partner_id, seed)]
        return pending[0]

    reply = execute(req, None, reads, decide)
    bindings.send_pending(reply, pending[0] if pending else None, datetime.fromisoformat(req.now_iso))
    return reply


def _new_customer(
    req: WriteRequest, body: EnrollCustomer, partner_id: str, aliases: list[ItemKey], customer_id: str
) -> Plan:
    plan = Plan(created=True, response=CustomerEnrolled(customer_id=customer_id, created=True), customer_id=customer_id)
    customers_db.add_new(
        plan.tx,
        NewCustomer(
            customer_id=customer_id,
            phone=body.phone,
            card=body.card,
            email=body.email,
            name=body.name,
            birthday=body.birthday.isoformat() if body.birthday else None,
            locale=body.locale,
            marketing_consent=body.marketing_consent,
            created_at=req.now_iso,
            enrolled_by=partner_id,
        ),
    )
    customers_db.add_aliases(plan.tx, customer_id, req.now_iso, aliases)
    if body.birthday:  # the greeting job reads the day's index, never the customers
        messages_db.add_birthday(plan.tx, customer_id, body.birthday.isoformat(), req.now_iso)
    return plan


def lookup(query: CustomerLookupQuery) -> CustomerRef:
    key = keys.phone(query.phone) if query.phone else keys.card(query.card or "")
    customer_id = customers_db.owner_of(key)
    if customer_id is None:
        raise NotFound("No customer with that phone or card.")
    return CustomerRef(customer_id=customer_id)


def balance(customer_id: str, now: datetime) -> Balance:
    customer = load(customer_id)  # one read: the program comes from the per-process cache
    return wallets.balance(customer_id, customer.wallet, program.load(), now)


def entry_out(entry: PostedEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        entry_id=entry.entry_id,
        type=entry.type,
        partner_id=entry.partner_id,
        points=entry.points,
        available_delta=entry.available_delta,
        pending_delta=entry.pending_delta,
        held_delta=entry.held_delta,
        amount_minor=entry.amount_minor,
        order_id=entry.order_id,
        ref_id=entry.ref_id,
        created_at=entry.created_at,
    )


def _decode_cursor(cursor: str) -> str:
    try:
        sort_key = ids.unb64url(cursor).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        sort_key = ""
    if not _CURSOR_KEY.fullmatch(sort_key):
        raise ValidationFailed.at(["query", "cursor"], "cursor is not one this API returned")
    return sort_key


def _encode_cursor(sort_key: str) -> str:
    return ids.b64url(sort_key.encode())


def transactions(customer_id: str, query: TransactionsQuery, partner_id: str | None) -> TransactionsPage:
    """Newest first. A partner sees only entries made at itself (``partner_id``); ``None`` means all of them.
    One query; whether the customer exists is checked only when the page comes back empty."""
    after = _decode_cursor(query.cursor) if query.cursor else None
    try:
        items = history_db.customer_history(customer_id, partner_id, query.limit + 1, after)
    except history_db.InvalidCursor as exc:
        raise ValidationFailed.at(["query", "cursor"], "cursor is not one this API returned") from exc
    if not items:
        load(customer_id)  # 404 for an unknown customer, an empty page for a known one
    page = items[: query.limit]
    next_cursor = _encode_cursor(page[-1].sort_key) if len(items) > query.limit else None
    return TransactionsPage(items=[entry_out(i) for i in page], next_cursor=next_cursor)
