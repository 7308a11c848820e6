"""Typed results: attribute names are the API's JSON field names. Unknown new fields are kept, not rejected, so an
older SDK keeps working against a newer server.

Each model mirrors one schema of the server's ``/openapi.json`` field for field (tests/test_sdk_contract.py compares
them, so a field added on the server fails that test until it is added here)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class BalanceSummary(Model):
    available: int
    pending: int
    held: int


class ExpiringPoints(Model):
    points: int
    expires_on: str


class Tier(Model):
    name: str
    multiplier_bps: int
    spend_12m_minor: int
    next_tier: str | None = None
    spend_to_next_minor: int | None = None


class Balance(BalanceSummary):
    customer_id: str
    expiring: list[ExpiringPoints]
    tier: Tier
    currency: str
    point_value_minor: int


class BindingPending(Model):
    status: str
    channel: str
    destination: str
    expires_at: str
    identifiers: list[str]


class Customer(Model):
    customer_id: str
    created: bool | None = None
    confirmation: BindingPending | None = None  # the new identifiers wait for the customer's code


class IdentifiersConfirmed(Model):
    customer_id: str
    attached: list[str]


class LedgerEntry(Model):
    entry_id: str
    type: str
    partner_id: str
    points: int
    available_delta: int
    pending_delta: int
    held_delta: int
    amount_minor: int | None = None
    order_id: str | None = None
    ref_id: str | None = None
    created_at: str
    partner_name: str | None = None


class PortalLinkSent(Model):
    """A link (or a code) went to the customer, never to you: through ``channel``, to a masked ``destination``."""

    channel: str
    destination: str
    expires_at: str


class SpendCodeSent(PortalLinkSent):
    """A spend code went to the customer; they read it out at your till (``customer_code``). It confirms a spend or
    hold of at most ``points`` (the message to the customer names them)."""

    points: int = 0


class Award(Model):
    campaign_id: str
    points: int


class Accrual(Model):
    accrual_id: str
    order_id: str
    customer_id: str
    amount_minor: int
    points: int
    bonus_points: int
    awards: list[Award]
    status: str
    available_at: str
    balance: BalanceSummary


class Bonus(Model):
    bonus_id: str
    customer_id: str
    reason: str
    points: int
    balance: BalanceSummary


class Quote(Model):
    available: int
    max_points: int
    max_discount_minor: int


class Redemption(Model):
    redemption_id: str
    order_id: str
    customer_id: str
    points: int
    discount_minor: int
    status: str
    expires_at: str | None = None
    balance: BalanceSummary


class AwardReversed(Award):
    pass


class Refund(Model):
    refund_id: str
    order_id: str
    customer_id: str
    amount_minor: int
    points_reversed: int
    points_shortfall: int
    shortfall_minor: int
    points_returned: int
    awards_reversed: list[AwardReversed]
    balance: BalanceSummary


class Campaign(Model):
    campaign_id: str
    name: str
    sponsor_partner_id: str
    earn_at: list[str]
    audience: dict[str, Any] | None = None
    reward: dict[str, Any]
    min_amount_minor: int
    starts_at: str | None = None
    ends_at: str | None = None
    budget_points: int | None = None
    per_customer_limit: int | None = None
    status: str
    accepted_by: list[str]
    awaiting_acceptance: list[str]
    declined_by: list[str] = []
    partner_states: dict[str, str] = {}  # each named partner: accepted | awaiting | declined
    budget_used: int
    created_at: str
    updated_at: str


class CampaignDay(Model):
    date: str
    awards: int
    points_awarded: int
    revenue_minor: int


class CampaignReport(Model):
    campaign_id: str
    status: str
    awards: int
    customers: int
    new_customers: int
    points_awarded: int
    points_reversed: int
    budget_points: int | None = None
    budget_remaining: int | None = None
    cost_minor: int
    revenue_minor: int
    revenue_per_cost_bps: int | None = None
    daily: list[CampaignDay]


class Flow(Model):
    issuer_partner_id: str
    issuer_name: str
    points: int


class Settlement(Model):
    partner_id: str
    partner_name: str
    period: str
    status: str
    currency: str
    point_value_minor: int
    issued_points: int
    issued_reversed_points: int
    promo_points_funded: int
    accepted_points: int
    accepted_refunded_points: int
    net_points: int
    operator_fee_minor: int
    net_amount_minor: int
    flows: list[Flow]
    generated_at: str
    paid_minor: int = 0  # payments recorded for the period, signed like net_amount_minor
    open_minor: int = 0  # still to pay: net_amount_minor - paid_minor


class Payment(Model):
    """A payment the operator recorded against your statement (signed like its ``net_amount_minor``)."""

    payment_id: str
    partner_id: str
    period: str
    amount_minor: int
    paid_on: str
    reference: str
    created_at: str
    recorded_by: str
    paid_minor: int


class AuditEntry(Model):
    """One change to your settings, keys, campaigns or payments: who (``key:<id>``, ``staff:<id>``), when, what,
    the values before and after, in which request."""

    audit_id: str
    at: str
    actor: str
    action: str
    target: str
    partner_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    request_id: str


class Partner(Model):
    partner_id: str
    name: str
    category: str | None = None
    earn_rate_bps: int


M = TypeVar("M", bound=Model)


def parse(model: type[M], data: Any) -> M:
    return model.model_validate(data)
