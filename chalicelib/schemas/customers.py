"""Customers: enrolment, identifiers, look-up, balance and history (chalicelib/api/customers.py, customer_reach.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from chalicelib.domain import normalize_card, normalize_email, normalize_phone
from chalicelib.schemas.common import (
    CustomerCode,
    Name,
    Request,
    Response,
)

# --- customers -------------------------------------------------------------------------------------------------


class _Identifiers(Request):
    """Phone and card as a cashier types them, normalised (E.164; letters and digits) before anything else."""

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)

    @field_validator("card", check_fields=False)
    @classmethod
    def _card(cls, value: str | None) -> str | None:
        return None if value is None else normalize_card(value)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else normalize_email(value)


PhoneIn = Annotated[
    str, StringConstraints(strict=True, max_length=32), Field(description="Any common spelling; stored as E.164")
]
CardIn = Annotated[str, StringConstraints(strict=True, max_length=40)]
EmailIn = Annotated[
    str,
    StringConstraints(strict=True, max_length=254),
    Field(description="Where codes and links can go by e-mail; stored in lower case"),
]


class EnrollCustomer(_Identifiers):
    phone: PhoneIn | None = None
    card: CardIn | None = None
    email: EmailIn | None = None
    name: Name | None = None
    birthday: date | None = None
    locale: Literal["ru", "en"] = "ru"
    marketing_consent: StrictBool = False

    @model_validator(mode="after")
    def _one_identifier(self) -> EnrollCustomer:
        if self.phone is None and self.card is None and self.email is None:
            raise ValueError("give a phone, a card or an e-mail (or several)")
        return self


class CustomerLookupQuery(_Identifiers):
    phone: str | None = None
    card: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CustomerLookupQuery:
        if (self.phone is None) == (self.card is None):
            raise ValueError("give exactly one of phone or card")
        return self


IdentifierKind = Literal["phone", "card", "email"]


class BindingPending(Response):
    """The new identifiers wait for the customer's code, sent to an identifier they already have."""

    status: Literal["pending"]
    channel: Literal["sms", "email", "telegram"]
    destination: str = Field(description="Masked")
    expires_at: str
    identifiers: list[IdentifierKind]


class CustomerEnrolled(Response):
    customer_id: str
    created: bool
    confirmation: BindingPending | None = Field(
        default=None,
        exclude_if=lambda value: value is None,  # 200 and 201 answer without the field when it is empty
        description="202 only: POST /v1/customers/{id}/identifiers/confirm with the customer's code attaches them",
    )


class AttachIdentifiers(_Identifiers):
    """The operator attaches identifiers to a customer it has identified itself (a card-only customer at the desk)."""

    phone: PhoneIn | None = None
    card: CardIn | None = None
    email: EmailIn | None = None

    @model_validator(mode="after")
    def _some(self) -> AttachIdentifiers:
        if self.phone is None and self.card is None and self.email is None:
            raise ValueError("give a phone, a card or an e-mail (or several)")
        return self

    def values(self) -> dict[str, str]:
        given = {"phone": self.phone, "card": self.card, "email": self.email}
        return {kind: value for kind, value in given.items() if value is not None}


class ConfirmIdentifiers(Request):
    code: CustomerCode


class IdentifiersConfirmed(Response):
    customer_id: str
    attached: list[IdentifierKind]


class CustomerRef(Response):
    customer_id: str


class ExpiringPoints(Response):
    points: int
    expires_on: date


class TierOut(Response):
    name: str
    multiplier_bps: int
    spend_12m_minor: int
    next_tier: str | None
    spend_to_next_minor: int | None


class BalanceSummary(Response):
    available: int
    pending: int
    held: int


class Balance(BalanceSummary):
    customer_id: str
    expiring: list[ExpiringPoints]
    tier: TierOut
    currency: str
    point_value_minor: int


class TransactionsQuery(Request):
    limit: int = Field(20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class LedgerEntryOut(Response):
    entry_id: str
    type: str
    partner_id: str
    points: int = Field(description="Change of the customer's total (available + pending + held)")
    available_delta: int
    pending_delta: int
    held_delta: int
    amount_minor: int | None
    order_id: str | None
    ref_id: str | None
    created_at: str
    partner_name: str | None = Field(default=None, description="Filled where the reader may see every partner (portal)")


class TransactionsPage(Response):
    items: list[LedgerEntryOut]
    next_cursor: str | None
