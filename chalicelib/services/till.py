"""The till: what a cashier reads about a customer and a shift, and how the till numbers its receipts.

The writes a till makes are the API's own (spend code, redemption, accrual, refund: ``spend_codes``,
``redemptions``, ``accruals``, ``refunds``), with the partner's rights; this module only reads.

A receipt the till makes is one order, numbered ``T<yymmdd>-<cashier tag>-<4 random>`` on the program's calendar: the
number is drawn with the form, so a double tap sends the same number twice and the order's own id makes the second
press a replay. The number says the day and the cashier, so "this shift's receipts" is one query per index shard of
the partner's period: today's entries whose order id starts with the cashier's prefix.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib import db, ids
from chalicelib.db import history as history_db
from chalicelib.db import keys
from chalicelib.db import orders as orders_db
from chalicelib.domain.campaigns import Shopper
from chalicelib.domain.offers import Offer, offers_for
from chalicelib.domain.periods import period_of, zone
from chalicelib.errors import NotFound, OrderNotFound, ValidationFailed
from chalicelib.machinery import limits, program, wallets
from chalicelib.machinery.write_session import load_partner
from chalicelib.schemas import Balance, CustomerLookupQuery
from chalicelib.services import customers

RECEIPT = re.compile(r"T[0-9]{6}-[A-Z0-9]{3}-[A-Z0-9]{4}")  # fullmatch: what the till itself numbers
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed back at a refund
SHIFT_RECEIPTS = 20  # the newest receipts of the shift shown on the till (per index shard read)


@dataclass(frozen=True)
class CustomerCard:
    """What the cashier sees of a customer: enough to serve her, nothing of other partners."""

    customer_id: str
    name: str
    balance: Balance
    offers: list[Offer]


@dataclass
class Receipt:
    """One receipt of the shift, from its entries at this partner."""

    number: str
    at: str  # the first entry's instant
    amount_minor: int = 0
    spent: int = 0
    earned: int = 0
    refunded_minor: int = 0
    types: set[str] = field(default_factory=set)


def cashier_tag(who: str) -> str:
    """Three characters naming the cashier (staff id, or the key an owner signed in with) in receipt numbers."""
    digest = hashlib.sha256(f"till-cashier:{who}".encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:3])


def _day(now: datetime) -> str:
    return now.astimezone(zone(program.load(now).timezone)).strftime("%y%m%d")


def shift_prefix(tag: str, now: datetime) -> str:
    return f"T{_day(now)}-{tag}-"


def new_receipt_number(tag: str, now: datetime) -> str:
    return shift_prefix(tag, now) + "".join(secrets.choice(_ALPHABET) for _ in range(4))


def checked_receipt(number: str) -> str:
    """A receipt number typed at the till (any case, spaces around): one the till made, or 422."""
    cleaned = number.strip().upper()
    if not RECEIPT.fullmatch(cleaned):
        raise ValidationFailed.at(["form", "receipt"], "not a receipt number of this till", "receipt")
    return cleaned


def find(partner_id: str, scope: str, query: str, now: datetime) -> CustomerCard:
    """A customer by phone or card, as typed or scanned (a scanner types the card's digits); each search costs the
    cashier's key a look-up token like ``GET /v1/customers/lookup`` (429 past it)."""
    typed = query.strip()
    asks = []
    for kind in ("phone", "card"):
        try:
            asks.append(CustomerLookupQuery.model_validate({kind: typed}))
        except ValueError:
            continue
    if not asks:
        raise ValidationFailed.at(["form", "query"], "type a phone or a card number", "missing")
    limits.check("lookup", scope)
    ref = None
    for ask in asks:
        try:
            ref = customers.lookup(ask)
            break
        except NotFound:
            continue
    if ref is None:
        raise NotFound("No customer with that phone or card.")
    return card(partner_id, ref.customer_id, now)


def card(partner_id: str, customer_id: str, now: datetime) -> CustomerCard:
    """Name, balance, tier and the offers that earn here for this customer right now."""
    customer = customers.load(customer_id)
    prog = program.load(now)
    balance = wallets.balance(customer_id, customer.wallet, prog, now)
    partner = load_partner(partner_id, now)
    shopper = Shopper(customer.wallet.last_purchase, balance.tier.name, customer.wallet.campaign_awards)
    tier_names = [t.name for t in sorted(prog.tiers, key=lambda t: t.min_spend_12m_minor)]
    return CustomerCard(customer_id, customer.name or "", balance, offers_for([partner], shopper, tier_names, now))


def refundable_minor(partner_id: str, order_id: str) -> tuple[int, int]:
    """What is left to refund of this partner's order (the receipt, less what was refunded), and its total."""
    found = db.get_many([orders_db.read_key(partner_id, order_id)])
    order = orders_db.load(found, partner_id, order_id)
    if order is None:
        raise OrderNotFound(f"No accrual or redemption for order {order_id}.")
    return order.amount_minor - order.refunded_minor, order.amount_minor


def shift(partner_id: str, tag: str, now: datetime) -> list[Receipt]:
    """This cashier's receipts of today (program calendar), newest first."""
    tz_name = program.load(now).timezone
    midnight = now.astimezone(zone(tz_name)).replace(hour=0, minute=0, second=0, microsecond=0)
    # entry ids sort by their UTC instant (ids.sortable_id): "ent_" and 10 characters of milliseconds
    since = keys.ENTRY_PREFIX + ids.sortable_id("ent", midnight.astimezone(UTC))[:14]
    period = period_of(now, tz_name)
    entries = history_db.orders_since(partner_id, period, since, shift_prefix(tag, now), SHIFT_RECEIPTS)
    receipts: dict[str, Receipt] = {}
    for e in sorted(entries, key=lambda e: e.sort_key):
        if e.order_id is None:
            continue
        r = receipts.setdefault(e.order_id, Receipt(e.order_id, e.created_at))
        r.types.add(e.type)
        if e.type in ("accrual", "redemption", "capture", "hold"):
            r.amount_minor = e.amount_minor or r.amount_minor
        if e.type in ("redemption", "capture"):
            r.spent += -e.available_delta if e.type == "redemption" else -e.held_delta
        elif e.type in ("accrual", "campaign_award"):
            r.earned += e.points
        elif e.type == "refund":
            r.refunded_minor += e.amount_minor or 0
    return sorted(receipts.values(), key=lambda r: r.at, reverse=True)[:SHIFT_RECEIPTS]
