"""Customers: enrolment by phone and/or card, lookup, balance and history."""

from __future__ import annotations

import base64
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
from chalicelib.services import bindings, one_time_codes, program
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
    """A new customer (201), a known one (200), or a known one with an identifier to attach: 202, pending the
    customer's code (``bindings``)."""
    given = {kind: value for kind in bindings.KINDS if (value := getattr(body, kind)) is not None}
    alias_keys = {kind: bindings.alias_key(kind, value) for kind, value in given.items()}
    reads = [(db.AliasItem, *k) for k in alias_keys.values()]
    new_id = ids.random_id("cus")  # once per request, not per attempt
    code = one_time_codes.new_code()  # likewise: a decision made again writes the same code

    def decide(found: Found) -> Plan:
        owners = {kind: _owner(found, key) for kind, key in alias_keys.items()}
        known = {owner for owner in owners.values() if owner}
        if len(known) > 1:
            raise IdentityConflict("These identifiers belong to different customers.")
        if not known:
            return _new_customer(req, body, partner_id, list(alias_keys.values()), new_id)
        existing_id = known.pop()
        new = {kind: given[kind] for kind, owner in owners.items() if not owner}
        if not new:
            return Plan(status=200, response=CustomerEnrolled(customer_id=existing_id, created=False))
        return bindings.pending_plan(req, body, existing_id, new, partner_id, code)

    reply = execute(req, None, reads, decide)
    bindings.send_pending(reply, code, partner_id)
    return reply


def _new_customer(
    req: WriteRequest, body: EnrollCustomer, partner_id: str, alias_keys: list[tuple[str, str]], customer_id: str
) -> Plan:
    plan = Plan(status=201, response=CustomerEnrolled(customer_id=customer_id, created=True), customer_id=customer_id)
    plan.tx.put(
        db.CustomerItem(
            *keys.customer(customer_id),
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
    for key in alias_keys:  # the condition makes each identifier belong to one customer
        plan.tx.put(
            db.AliasItem(*key, customer_id=customer_id, created_at=req.now_iso),
            condition=db.AliasItem.pk.does_not_exist(),
            tag="alias",
        )
    return plan


def lookup(query: CustomerLookupQuery) -> CustomerRef:
    key = keys.phone(query.phone) if query.phone else keys.card(query.card or "")
    alias = db.get_one(db.AliasItem, *key)
    if alias is None:
        raise NotFound("No customer with that phone or card.")
    return CustomerRef(customer_id=alias.customer_id)


def get(customer_id: str) -> db.CustomerItem:
    item = db.get_one(db.CustomerItem, *keys.customer(customer_id))
    if item is None or item.deleted_at:  # a deleted account (issue 17) is gone for everyone
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
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        sort_key = ""
    if not _CURSOR_KEY.fullmatch(sort_key):
        raise ValidationFailed([{"loc": ["query", "cursor"], "msg": "cursor is not one this API returned"}])
    return sort_key


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


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
        raise ValidationFailed([{"loc": ["query", "cursor"], "msg": "cursor is not one this API returned"}]) from exc
    if not items:
        get(customer_id)  # 404 for an unknown customer, an empty page for a known one
    page = items[: query.limit]
    next_cursor = _encode_cursor(page[-1].sk) if len(items) > query.limit else None
    return TransactionsPage(items=[entry_out(i) for i in page], next_cursor=next_cursor)
