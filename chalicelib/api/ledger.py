"""The ledger's writes: earning (accruals), spending (quotes, redemptions, capture, void), bonuses and refunds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import BODY_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    AccrualOut,
    BonusOut,
    CaptureRedemption,
    CreateAccrual,
    CreateBonus,
    CreateRedemption,
    CreateRefund,
    QuoteOut,
    QuoteRequest,
    RedemptionOut,
    RefundOut,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import accruals, bonuses, redemptions, refunds
else:
    accruals = lazy_module("chalicelib.services.accruals")
    bonuses = lazy_module("chalicelib.services.bonuses")
    redemptions = lazy_module("chalicelib.services.redemptions")
    refunds = lazy_module("chalicelib.services.refunds")

api = RouteTable()


@api.route(
    "POST",
    "/v1/accruals",
    "partner",
    "Earn points for a purchase",
    body=CreateAccrual,
    response=AccrualOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def create_accrual(call: Call[CreateAccrual, None]) -> Reply:
    return accruals.accrue(call.writing, call.body, call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/redemptions/quote",
    "partner",
    "How many points may pay for an order",
    body=QuoteRequest,
    response=QuoteOut,
    errors=BODY_ERRORS,
)
def quote_redemption(call: Call[QuoteRequest, None]) -> QuoteOut:
    return redemptions.quote(call.body, call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/redemptions",
    "partner",
    "Spend points on an order (capture: false holds them). Where the partner's spend_confirmation asks for it, "
    "customer_code carries the customer's one-time code: missing, 403 customer_confirmation_required; wrong, "
    "403 customer_code_invalid (attempts_left); after five wrong tries, 429 customer_code_locked",
    body=CreateRedemption,
    response=RedemptionOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404, 429),
)
def create_redemption(call: Call[CreateRedemption, None]) -> Reply:
    return redemptions.redeem(call.writing, call.body, call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/redemptions/{redemption_id}/capture",
    "partner",
    "Capture a hold, all of it or part (the rest is released)",
    body=CaptureRedemption,
    response=RedemptionOut,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def capture_redemption(call: Call[CaptureRedemption, None]) -> Reply:
    return redemptions.capture(call.writing, call.params["redemption_id"], call.body, call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/redemptions/{redemption_id}/void",
    "partner",
    "Release a hold",
    response=RedemptionOut,
    idempotent_post=True,
    errors=(400, 401, 403, 404, 409),
)
def void_redemption(call: Call[None, None]) -> Reply:
    return redemptions.void(call.writing, call.params["redemption_id"], call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/bonuses",
    "partner",
    "Points for an action (review, survey...), capped per customer, reason and day",
    body=CreateBonus,
    response=BonusOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def create_bonus(call: Call[CreateBonus, None]) -> Reply:
    return bonuses.bonus(call.writing, call.body, call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/refunds",
    "partner",
    "Refund (part of) an order: reverse earned points, return spent points, pro rata",
    body=CreateRefund,
    response=RefundOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def create_refund(call: Call[CreateRefund, None]) -> Reply:
    return refunds.refund(call.writing, call.body, call.partner_id, call.now)
