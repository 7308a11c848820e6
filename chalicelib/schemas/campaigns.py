"""Campaigns: audiences, rewards, reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from chalicelib.domain.campaign_lifecycle import CampaignStatus
from chalicelib.schemas.common import (
    MAX_AMOUNT_MINOR,
    Name,
    PartnerId,
    Points,
    Request,
    Response,
)

# --- campaigns -------------------------------------------------------------------------------------------------


class Audience(Request):
    """Exactly one of: bought at a partner within N days; never bought at the earn_at partner; a minimum tier."""

    purchased_at: PartnerId | None = None
    within_days: int | None = Field(None, strict=True, ge=1, le=730)
    new_to_partner: StrictBool | None = None
    min_tier: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=30)] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Audience:
        rules = [self.purchased_at is not None, bool(self.new_to_partner), self.min_tier is not None]
        if sum(rules) != 1:
            raise ValueError("give exactly one of purchased_at (with within_days), new_to_partner: true, min_tier")
        if (self.purchased_at is None) != (self.within_days is None):
            raise ValueError("purchased_at and within_days go together")
        return self


class FixedReward(Request):
    type: Literal["fixed"]
    points: Points


class MultiplierReward(Request):
    type: Literal["multiplier"]
    factor_bps: int = Field(strict=True, gt=10_000, le=100_000, description="20000 = x2: the bonus repeats base earn")


class PercentReward(Request):
    type: Literal["percent"]
    rate_bps: int = Field(strict=True, ge=1, le=10_000, description="Bonus points worth this share of the purchase")


Reward = Annotated[FixedReward | MultiplierReward | PercentReward, Field(discriminator="type")]


MAX_EARN_AT = 10  # partners one campaign may name in earn_at (each accrual there reads and awards it)


class CreateCampaign(Request):
    name: Name
    earn_at: list[PartnerId] = Field(min_length=1, max_length=MAX_EARN_AT)
    audience: Audience | None = None
    reward: Reward
    min_amount_minor: int = Field(0, strict=True, ge=0, le=MAX_AMOUNT_MINOR)
    starts_at: AwareDatetime | None = Field(None, description="ISO 8601 with an offset; stored as UTC")
    ends_at: AwareDatetime | None = Field(None, description="ISO 8601 with an offset; stored as UTC")
    budget_points: Points | None = None
    per_customer_limit: int | None = Field(None, strict=True, ge=1, le=1000)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Instants are compared as instants: keep them in UTC from the edge on."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("the instant is out of range") from exc

    @model_validator(mode="after")
    def _window(self) -> CreateCampaign:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if len(set(self.earn_at)) != len(self.earn_at):
            raise ValueError("earn_at lists a partner twice")
        return self


class CampaignOut(Response):
    campaign_id: str
    name: str
    sponsor_partner_id: str
    earn_at: list[str]
    audience: dict[str, Any] | None
    reward: dict[str, Any]
    min_amount_minor: int
    starts_at: str | None
    ends_at: str | None
    budget_points: int | None
    per_customer_limit: int | None
    status: CampaignStatus
    accepted_by: list[str]
    awaiting_acceptance: list[str]
    declined_by: list[str]
    partner_states: dict[str, Literal["accepted", "awaiting", "declined"]]  # each named partner's answer
    budget_used: int
    created_at: str
    updated_at: str


class CampaignList(Response):
    items: list[CampaignOut]


class CampaignDay(Response):
    date: str
    awards: int
    points_awarded: int
    revenue_minor: int


class CampaignReport(Response):
    campaign_id: str
    status: CampaignStatus
    awards: int
    customers: int
    new_customers: int
    points_awarded: int
    points_reversed: int
    budget_points: int | None
    budget_remaining: int | None
    cost_minor: int = Field(description="Net points funded (awarded minus reversed) times the point value")
    revenue_minor: int = Field(description="Amount of the purchases that triggered an award")
    revenue_per_cost_bps: int | None = Field(
        description="revenue / cost in basis points (25000 = 2.5x); null at cost 0"
    )
    daily: list[CampaignDay]
