"""A customer's balance, answered as JSON without the response models.

A balance is the read a till makes most, and often the first request a new instance serves. Its answer is plain
values (chalicelib/domain/balance.py) rendered as the same JSON bytes ``chalicelib.schemas.Balance`` would give
(tests/test_hot_path_copies.py holds them equal): building pydantic's first models of a process costs more than the
read itself, so this module loads none of them, nor the enrolment's and history's use cases
(chalicelib/services/customers.py)."""

from __future__ import annotations

from datetime import date, datetime
from json.encoder import encode_basestring as _text  # a JSON string, UTF-8 kept
from typing import TYPE_CHECKING

from chalicelib.db import customers as customers_db
from chalicelib.db.customers import Customer
from chalicelib.domain.balance import balance_fields
from chalicelib.errors import NotFound
from chalicelib.machinery import program

if TYPE_CHECKING:
    from chalicelib.domain.wallet import Wallet
    from chalicelib.machinery.program import Program

__all__ = ["as_json", "json_of", "load"]


def load(customer_id: str) -> Customer:
    """The customer's profile and wallet (one read); 404 if there is none, or if they deleted the account."""
    customer = customers_db.load(customer_id)
    if customer is None or customer.deleted_at:
        raise NotFound(f"No customer {customer_id}.")
    return customer


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a balance's value")


def as_json(customer_id: str, now: datetime) -> str:
    """The customer's balance as of ``now`` as ``Balance``'s JSON; 404 if there is no such customer."""
    # One read, of the wallet only (no profile built), the same 404 as ``load``; the program comes from the
    # per-process cache.
    wallet = customers_db.live_wallet(customer_id)
    if wallet is None:
        raise NotFound(f"No customer {customer_id}.")
    return json_of(customer_id, wallet, program.load(), now)


def json_of(customer_id: str, wallet: Wallet, prog: Program, now: datetime) -> str:
    """``Balance``'s JSON of ``wallet`` as of ``now``: compact, fields in the model's order, text as is (UTF-8,
    escaped as ``json.dumps(..., ensure_ascii=False)`` and pydantic escape it). Formatted directly: the balance is
    the request a till makes most, and ``json.dumps``' walk over the dicts cost a third of this function."""
    fields = balance_fields(
        customer_id,
        wallet,
        now,
        timezone=prog.timezone,
        tiers=prog.tiers,
        currency=prog.currency,
        point_value_minor=prog.point_value_minor,
    )
    tier = fields["tier"]
    lots = ",".join(
        f'{{"points":{int(e["points"])},"expires_on":"{_iso(e["expires_on"])}"}}' for e in fields["expiring"]
    )
    following = "null" if tier["next_tier"] is None else _text(tier["next_tier"])
    to_next = "null" if tier["spend_to_next_minor"] is None else int(tier["spend_to_next_minor"])
    return (
        f'{{"available":{int(fields["available"])},"pending":{int(fields["pending"])},"held":{int(fields["held"])},'
        f'"customer_id":{_text(fields["customer_id"])},"expiring":[{lots}],'
        f'"tier":{{"name":{_text(tier["name"])},"multiplier_bps":{int(tier["multiplier_bps"])},'
        f'"spend_12m_minor":{int(tier["spend_12m_minor"])},"next_tier":{following},"spend_to_next_minor":{to_next}}},'
        f'"currency":{_text(fields["currency"])},"point_value_minor":{int(fields["point_value_minor"])}}}'
    )
