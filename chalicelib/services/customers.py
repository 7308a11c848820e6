"""Customers: enrolment by phone and/or card, lookup, balance and history."""

from __future__ import annotations

import re
from datetime import datetime

from chalicelib import ids
from chalicelib.db import customers as customers_db
from chalicelib.db import history as history_db
from chalicelib.db import keys
from chalicelib.db.customers import Customer, NewCustomer
from chalicelib.db.history import PostedEntry
from chalicelib.db.store import Found
from chalicelib.errors import IdentityConflict, NotFound, ValidationFailed
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
from chalicelib.services import limits, program
from chalicelib.services import wallets as wallet
from chalicelib.services.idempotency import Plan, Reply, WriteRequest, execute

_CURSOR_KEY = re.compile(r"E#ent_[0-9a-z]{22}")  # fullmatch

__all__ = ["Customer", "balance", "enroll", "entry_out", "load", "lookup", "transactions"]


def enroll(req: WriteRequest, body: EnrollCustomer, partner_id: str) -> Reply:
    phone_key = keys.phone(body.phone) if body.phone else None
    card_key = keys.card(body.card) if body.card else None
    reads = [customers_db.alias_read_key(k) for k in (phone_key, card_key) if k is not None]
    new_id = ids.random_id("cus")  # once per request, not per attempt
    count_lookup = limits.once("lookup", req.scope)  # a known phone or card answers like a look-up: same limit

    def decide(found: Found) -> Plan:
        by_phone, by_card = customers_db.alias_owner(found, phone_key), customers_db.alias_owner(found, card_key)
        if by_phone or by_card:
            count_lookup()
        if by_phone and by_card and by_phone != by_card:
            raise IdentityConflict("This phone and this card belong to two different customers.")
        existing_id = by_phone or by_card
        if existing_id is None:
            return _new_customer(req, body, partner_id, phone_key, card_key, new_id)
        return _attach_identifiers(
            req, body, existing_id, phone_key if not by_phone else None, card_key if not by_card else None
        )

    return execute(req, None, reads, decide)


def _new_customer(
    req: WriteRequest,
    body: EnrollCustomer,
    partner_id: str,
    phone_key: tuple[str, str] | None,
    card_key: tuple[str, str] | None,
    customer_id: str,
) -> Plan:
    plan = Plan(created=True, response=CustomerEnrolled(customer_id=customer_id, created=True), customer_id=customer_id)
    customers_db.add_new(
        plan.tx,
        NewCustomer(
            customer_id=customer_id,
            phone=body.phone,
            card=body.card,
            name=body.name,
            birthday=body.birthday.isoformat() if body.birthday else None,
            locale=body.locale,
            marketing_consent=body.marketing_consent,
            created_at=req.now_iso,
            enrolled_by=partner_id,
        ),
    )
    customers_db.add_aliases(plan.tx, customer_id, req.now_iso, (phone_key, card_key))
    return plan


def _attach_identifiers(
    req: WriteRequest,
    body: EnrollCustomer,
    customer_id: str,
    new_phone: tuple[str, str] | None,
    new_card: tuple[str, str] | None,
) -> Plan:
    """A known customer presents a new card (or phone): attach it if they have none of that kind yet."""
    plan = Plan(response=CustomerEnrolled(customer_id=customer_id, created=False), customer_id=customer_id)
    if new_phone is None and new_card is None:
        return plan
    customer = customers_db.load(customer_id)
    if customer is None:
        raise NotFound("Customer not found.")
    if new_phone is not None and customer.phone:
        raise IdentityConflict("This card belongs to a customer with a different phone.")
    if new_card is not None and customer.card:
        raise IdentityConflict("This phone belongs to a customer with a different card.")
    phone = (body.phone or "") if new_phone is not None else None
    card = (body.card or "") if new_card is not None else None
    customers_db.add_identifiers(plan.tx, customer_id, phone, card)
    customers_db.add_aliases(plan.tx, customer_id, req.now_iso, (new_phone, new_card))
    return plan


def lookup(query: CustomerLookupQuery) -> CustomerRef:
    key = keys.phone(query.phone) if query.phone else keys.card(query.card or "")
    customer_id = customers_db.owner_of(key)
    if customer_id is None:
        raise NotFound("No customer with that phone or card.")
    return CustomerRef(customer_id=customer_id)


def load(customer_id: str) -> Customer:
    """The customer's profile and wallet (one read); 404 if there is none."""
    customer = customers_db.load(customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return customer


def balance(customer_id: str, now: datetime) -> Balance:
    customer = load(customer_id)  # one read: the program comes from the per-process cache
    return wallet.balance(customer_id, customer.wallet, program.load(), now)


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
