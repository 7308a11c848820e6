"""Customers: enrolment by phone and/or card, lookup, balance and history."""

from __future__ import annotations

import binascii
import re
from datetime import datetime
from typing import Any

from pynamodb.exceptions import QueryError

from chalicelib import db, ids
from chalicelib.db import keys
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
from chalicelib.services import program
from chalicelib.services import wallets as wallet
from chalicelib.services.idempotency import Plan, Reply, WriteRequest, execute

Found = dict[tuple[str, str], Any]
_CURSOR_KEY = re.compile(r"E#ent_[0-9a-z]{22}")  # fullmatch


def _owner(found: Found, key: tuple[str, str] | None) -> str | None:
    if key is None:
        return None
    alias = found.get(key)
    return alias.customer_id if alias is not None else None


def enroll(req: WriteRequest, body: EnrollCustomer, partner_id: str) -> Reply:
    phone_key = keys.phone(body.phone) if body.phone else None
    card_key = keys.card(body.card) if body.card else None
    reads = [(db.AliasItem, *k) for k in (phone_key, card_key) if k is not None]
    new_id = ids.random_id("cus")  # once per request, not per attempt

    def decide(found: Found) -> Plan:
        by_phone, by_card = _owner(found, phone_key), _owner(found, card_key)
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
    plan.tx.put(
        db.CustomerItem(
            *keys.customer(customer_id),
            customer_id=customer_id,
            phone=body.phone,
            card=body.card,
            name=body.name,
            birthday=body.birthday.isoformat() if body.birthday else None,
            locale=body.locale,
            marketing_consent=body.marketing_consent,
            created_at=req.now_iso,
            enrolled_by=partner_id,
            available=0,
            pending=0,
            held=0,
            lots={},
            spend={},
            holds={},
            pending_lots={},
            bonus_days={},
            last_purchase={},
            campaign_awards={},
        ),
        condition=db.CustomerItem.pk.does_not_exist(),
    )
    _claim(plan, customer_id, req.now_iso, phone_key, card_key)
    return plan


def _claim(plan: Plan, customer_id: str, now_iso: str, *aliases: tuple[str, str] | None) -> None:
    """Claim phone/card aliases for the customer; the condition makes each identifier belong to one customer."""
    for key in aliases:
        if key is not None:
            plan.tx.put(
                db.AliasItem(*key, customer_id=customer_id, created_at=now_iso),
                condition=db.AliasItem.pk.does_not_exist(),
                tag="alias",
            )


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
    customer = db.get_one(db.CustomerItem, *keys.customer(customer_id))
    if customer is None:
        raise NotFound("Customer not found.")
    C = db.CustomerItem
    actions = []
    condition = C.pk.exists()
    if new_phone is not None:
        if customer.phone:
            raise IdentityConflict("This card belongs to a customer with a different phone.")
        actions.append(C.phone.set(body.phone or ""))
        condition &= C.phone.does_not_exist()
    if new_card is not None:
        if customer.card:
            raise IdentityConflict("This phone belongs to a customer with a different card.")
        actions.append(C.card.set(body.card or ""))
        condition &= C.card.does_not_exist()
    plan.tx.update(db.CustomerItem(*keys.customer(customer_id)), actions, condition=condition)
    _claim(plan, customer_id, req.now_iso, new_phone, new_card)
    return plan


def lookup(query: CustomerLookupQuery) -> CustomerRef:
    key = keys.phone(query.phone) if query.phone else keys.card(query.card or "")
    alias = db.get_one(db.AliasItem, *key)
    if alias is None:
        raise NotFound("No customer with that phone or card.")
    return CustomerRef(customer_id=alias.customer_id)


def get(customer_id: str) -> db.CustomerItem:
    item = db.get_one(db.CustomerItem, *keys.customer(customer_id))
    if item is None:
        raise NotFound(f"No customer {customer_id}.")
    return item


def balance(customer_id: str, now: datetime) -> Balance:
    item = get(customer_id)  # one read: the program comes from the per-process cache
    return wallet.balance(customer_id, wallet.of_item(item), program.load(), now)


def entry_out(item: db.EntryItem) -> LedgerEntryOut:
    available, pending, held = int(item.available_delta), int(item.pending_delta), int(item.held_delta)
    return LedgerEntryOut(
        entry_id=item.entry_id,
        type=item.type,
        partner_id=item.partner_id,
        points=available + pending + held,
        available_delta=available,
        pending_delta=pending,
        held_delta=held,
        amount_minor=int(item.amount_minor) if item.amount_minor is not None else None,
        order_id=item.order_id,
        ref_id=item.ref_id,
        created_at=item.created_at,
    )


def _decode_cursor(cursor: str) -> str:
    try:
        sort_key = ids.unb64url(cursor).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        sort_key = ""
    if not _CURSOR_KEY.fullmatch(sort_key):
        raise ValidationFailed.at(["query", "cursor"], "cursor is not one this API returned")
    return sort_key


def _encode_cursor(sort_key: str) -> str:
    return ids.b64url(sort_key.encode())


def transactions(customer_id: str, query: TransactionsQuery, partner_id: str | None) -> TransactionsPage:
    """Newest first. A partner sees only entries made at itself (``partner_id``); ``None`` means all of them.
    One query; whether the customer exists is checked only when the page comes back empty."""
    pk, _ = keys.customer(customer_id)
    start: dict[str, Any] | None = None
    if query.cursor:
        sort_key = _decode_cursor(query.cursor)
        start = {"pk": {"S": pk}, "sk": {"S": sort_key}}
        if partner_id is not None:
            start["gsi1pk"] = {"S": keys.customer_at_partner(partner_id, customer_id)}
            start["gsi1sk"] = {"S": sort_key}
    try:
        if partner_id is None:
            results = db.EntryItem.query(
                pk,
                db.EntryItem.sk.startswith(keys.ENTRY_PREFIX),
                scan_index_forward=False,
                limit=query.limit + 1,
                last_evaluated_key=start,
                consistent_read=True,
            )
        else:
            results = db.EntryItem.by_customer_at_partner.query(
                keys.customer_at_partner(partner_id, customer_id),
                scan_index_forward=False,
                limit=query.limit + 1,
                last_evaluated_key=start,
            )
        items = list(results)
    except QueryError as exc:
        raise ValidationFailed.at(["query", "cursor"], "cursor is not one this API returned") from exc
    if not items:
        get(customer_id)  # 404 for an unknown customer, an empty page for a known one
    page = items[: query.limit]
    next_cursor = _encode_cursor(page[-1].sk) if len(items) > query.limit else None
    return TransactionsPage(items=[entry_out(i) for i in page], next_cursor=next_cursor)
