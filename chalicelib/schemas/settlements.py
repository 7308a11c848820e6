"""Settlements between partners and their reconciliation."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
)

from chalicelib.schemas.common import (
    MAX_AMOUNT_MINOR,
    PartnerId,
    PlainText,
    Request,
    Response,
)

# --- settlements -----------------------------------------------------------------------------------------------


class Flow(Response):
    issuer_partner_id: str
    issuer_name: str
    points: int


class SettlementOut(Response):
    partner_id: str
    partner_name: str
    period: str
    status: Literal["open", "closed"]
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
    paid_minor: int = Field(default=0, description="Payments recorded for this period, signed like net_amount_minor")
    open_minor: int = Field(
        default=0, description="What is still to pay: net_amount_minor - paid_minor (signed the same)"
    )


class MatrixCell(Response):
    issuer_partner_id: str
    acceptor_partner_id: str
    points: int


class CoalitionLine(Response):
    expired_points: int
    adjustment_points: int
    expired_by_issuer: list[Flow]


class Identity(Response):
    """(issued - issued_reversed) + promo_funded + adjustments - (accepted - accepted_refunded) - expired
    - change of all customer balances = result, which must be 0."""

    issued_net: int
    promo_funded_net: int
    adjustments: int
    accepted_net: int
    expired: int
    balance_change: int
    result: int
    holds: bool


class SettlementTotals(Response):
    issued_points: int
    issued_reversed_points: int
    promo_points_funded: int
    accepted_points: int
    accepted_refunded_points: int
    net_points: int
    operator_fee_minor: int
    net_amount_minor: int
    paid_minor: int = 0
    open_minor: int = 0


class OperatorSettlement(Response):
    period: str
    status: Literal["open", "closed"]
    currency: str
    point_value_minor: int
    operator_fee_bps: int
    partners: list[SettlementOut]
    totals: SettlementTotals
    coalition: CoalitionLine
    matrix: list[MatrixCell]
    identity: Identity
    generated_at: str


class ReconciliationDifference(Response):
    partner_id: str
    field: str
    counters: int
    entries: int


class Reconciliation(Response):
    """A period's reconciliation run: ``running`` (``entries`` read so far) or ``done`` (``matches`` and the
    ``differences``, as of ``finished_at``)."""

    period: str
    job_id: str
    status: Literal["running", "done"]
    started_at: str
    updated_at: str = Field(description="When the run last saved its progress")
    finished_at: str | None
    entries: int = Field(description="Entries read (all of the period's once done)")
    matches: bool | None = Field(description="Whether every figure matches: null while running")
    differences: list[ReconciliationDifference]
    provisional: bool = Field(
        default=False,
        description="The run started before its period ended: an entry posted while it read shows as a difference "
        "that is no error. The run the month's close starts is exact.",
    )


class CreatePayment(Request):
    """A payment between the operator and a partner against a period's statement."""

    partner_id: PartnerId
    amount_minor: int = Field(
        strict=True,
        ge=-MAX_AMOUNT_MINOR,
        le=MAX_AMOUNT_MINOR,
        description="Integer minor units, signed like the statement's net_amount_minor: positive, the operator paid "
        "the partner; negative, the partner paid the operator. Not 0.",
    )
    paid_on: Annotated[str, StringConstraints(strict=True, pattern=r"^\d{4}-\d{2}-\d{2}$")] = Field(
        description="YYYY-MM-DD, the day the money moved (not after today in the program time zone)"
    )
    reference: Annotated[
        str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=140), PlainText
    ] = Field(description="The bank's reference or the payment order's number")

    @field_validator("amount_minor")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a payment of 0 moves no money")
        return value

    @field_validator("paid_on")
    @classmethod
    def _a_day(cls, value: str) -> str:
        date.fromisoformat(value)  # ValueError: not a day of the calendar
        return value


class PaymentOut(Response):
    payment_id: str
    partner_id: str
    period: str
    amount_minor: int
    paid_on: str
    reference: str
    created_at: str
    recorded_by: str = Field(description="Who recorded it, as the audit log names them")
    paid_minor: int = Field(description="The partner's payments for the period after this one")


class PaymentList(Response):
    items: list[PaymentOut]
    paid_minor: int


class PaymentsQuery(Request):
    partner_id: PartnerId | None = Field(None, description="Only this partner's payments (default: every partner's)")


class SettlementQuery(Request):
    format: Literal["json", "csv"] = "json"
    partner_id: str | None = Field(None, description="Only your own id is allowed (another partner's is a 403)")
    table: Literal["statement", "flows", "identity"] = Field(
        "statement",
        description="CSV only, one table per file: statement (with the legend of signs), flows (the points accepted "
        "by issuer; the operator's matrix), identity (operator only)",
    )
    headers: Literal["names", "fields"] = Field(
        "names", description="CSV only: column names in the Accept-Language (ru or en), or the JSON field names"
    )
