"""The ledger's writes: accruals, redemptions (quote, spend codes, capture), refunds, bonuses, adjustments."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from chalicelib.schemas.common import (
    MAX_POINTS,
    AmountMinor,
    BonusReason,
    Category,
    CustomerCode,
    ExternalId,
    PlainText,
    Points,
    Request,
    ResourceId,
    Response,
)
from chalicelib.schemas.customers import BalanceSummary

# --- ledger ----------------------------------------------------------------------------------------------------


class CreateAccrual(Request):
    customer_id: ResourceId
    order_id: ExternalId
    amount_minor: AmountMinor
    channel: Literal["store", "online", "app"] = "store"
    category: Category | None = None


class Award(Response):
    campaign_id: str
    points: int


class AccrualOut(Response):
    accrual_id: str
    order_id: str
    customer_id: str
    amount_minor: int
    points: int
    bonus_points: int
    awards: list[Award]
    status: Literal["available", "pending"]
    available_at: str
    balance: BalanceSummary


class QuoteRequest(Request):
    customer_id: ResourceId
    order_amount_minor: AmountMinor


class QuoteOut(Response):
    available: int
    max_points: int
    max_discount_minor: int


class CreateRedemption(Request):
    customer_id: ResourceId
    order_id: ExternalId
    order_amount_minor: AmountMinor
    points: Points
    capture: StrictBool = True
    hold_minutes: int | None = Field(None, strict=True, ge=1, le=7 * 24 * 60)
    customer_code: CustomerCode | None = Field(
        None,
        description="The customer's one-time code (shown on their page or as its QR, or sent with "
        "POST /v1/customers/{id}/spend-code); needed where the partner's spend_confirmation asks for it",
    )


class SpendCodeRequest(Request):
    points: Points | None = Field(
        None,
        description="The most the code may confirm, named in the customer's message; default: the customer's "
        "available points when the code is sent",
    )


class SpendCodeSent(Response):
    """A one-time code is on its way to the customer (202); the partner never sees it."""

    channel: Literal["sms", "email", "telegram"]
    destination: str = Field(description="Masked: +7 916 ***-**-67, a***@example.com")
    expires_at: str
    points: int = Field(description="The most points the code confirms (a redemption or hold of more: 403)")


class SpendCodeRecord(SpendCodeSent):
    """What a spend-code request's replay record keeps: the answer and the random seed its code derives from
    (with the pepper, which the table never holds); the seed never leaves the server. Records made before codes had
    a seed or an amount read as no seed (nothing is delivered again) and 0 points (what such a code confirms)."""

    points: int = 0
    seed: str = ""
    message_id: str = ""  # the outbox event of its message (records made before messages went by the outbox: "")


class RedemptionOut(Response):
    redemption_id: str
    order_id: str
    customer_id: str
    points: int
    discount_minor: int
    status: Literal["captured", "held", "voided", "expired"]
    expires_at: str | None
    balance: BalanceSummary


class CreateRefund(Request):
    order_id: ExternalId
    refund_id: ExternalId
    amount_minor: AmountMinor


class AwardReversed(Response):
    campaign_id: str
    points: int


class RefundOut(Response):
    refund_id: str
    order_id: str
    customer_id: str
    amount_minor: int
    points_reversed: int
    points_shortfall: int
    shortfall_minor: int
    points_returned: int
    awards_reversed: list[AwardReversed] = Field(
        description="Campaign awards of the order reversed by this refund (included in points_reversed)"
    )
    balance: BalanceSummary


class CaptureRedemption(Request):
    points: Points | None = Field(None, description="Capture this many of the held points; the rest is released")


class CreateBonus(Request):
    customer_id: ResourceId
    bonus_id: ExternalId
    reason: BonusReason
    points: Points


class BonusOut(Response):
    bonus_id: str
    customer_id: str
    reason: str
    points: int
    balance: BalanceSummary


class CreateAdjustment(Request):
    customer_id: ResourceId
    adjustment_id: ExternalId
    points: int = Field(strict=True, ge=-MAX_POINTS, le=MAX_POINTS, description="Positive credits, negative debits")
    reason: Annotated[
        str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=200), PlainText
    ]

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("points must not be zero")
        return value


class AdjustmentOut(Response):
    adjustment_id: str
    customer_id: str
    points: int
    reason: str
    balance: BalanceSummary
