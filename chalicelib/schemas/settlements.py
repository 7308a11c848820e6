"""Settlements between partners and their reconciliation."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from chalicelib.schemas.common import (
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
