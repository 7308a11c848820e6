"""Every request and response body of the API, as pydantic v2 models. /openapi.json is generated from these.

Requests forbid unknown fields and take integers strictly (``1.0`` or ``"1"`` is a validation error: money and
points are never floats).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from chalicelib.domain import normalize_card, normalize_email, normalize_phone
from chalicelib.domain.campaign_lifecycle import CampaignStatus
from chalicelib.domain.events import ALL_EVENTS, EVENT_TYPES
from chalicelib.domain.partners import CODE_FREE_HOLD_MINUTES

MAX_POINTS = 1_000_000_000
CustomerCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[0-9]{6}$"), Field(description="Six digits", examples=["482913"])
]
MAX_AMOUNT_MINOR = 10**13  # 100 billion roubles: far beyond any till, well inside 64 bits

# pydantic runs `pattern=` on Rust's regex crate, where `$` is the end of the text (Python's `$` would also match
# before a trailing newline): these anchors need no `\Z`; tests/test_edges_input_portal.py sends the newlines.
ExternalId = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"),
    Field(description="Your own id: 1-128 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)"),
]
ResourceId = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]{3}_[0-9a-z]{8,32}$")]
Points = Annotated[int, Field(strict=True, ge=1, le=MAX_POINTS)]
AmountMinor = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT_MINOR, description="Integer minor units")]
Bps = Annotated[int, Field(strict=True, ge=0, le=10_000, description="Basis points: 500 = 5 %")]
# Directional formatting: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) turn "Уют" into
# text that reads otherwise in an SMS, a page or a CSV; line and paragraph separators break a message like CR/LF.
_BIDI_AND_BREAKS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def plain_text(value: str) -> str:
    """A free-text name or label as people type it: no control characters (NUL, tab, CR/LF, ESC...), no bidirectional
    overrides or isolates, no line separators. Such names reach SMS texts, e-mails, pages and CSV files."""
    for char in value:
        if char in _BIDI_AND_BREAKS or unicodedata.category(char) == "Cc":
            raise ValueError(f"must not contain control or bidirectional formatting characters (U+{ord(char):04X})")
    return value


PlainText = AfterValidator(plain_text)
Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=100), PlainText]
Category = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=50), PlainText]
EffectiveFrom = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^\d{4}-\d{2}-\d{2}$"),
    Field(
        description="YYYY-MM-DD in the program time zone from which the money settings of this request apply "
        "(today: from now on; not in the past). Default: the first day of the next period"
    ),
]


def _real_date(value: str | None) -> str | None:
    if value is not None:
        date.fromisoformat(value)  # ValueError (422) for 2026-02-30
    return value


class Request(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (cold starts serve one route)
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Problem(Response):
    """RFC 9457 problem details. Validation errors add ``errors``; cap errors add ``max_points``."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[dict[str, Any]] | None = None


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


# --- audit log -------------------------------------------------------------------------------------------------

AuditCursor = Annotated[str, StringConstraints(max_length=600)]
AuditAction = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=40)]
AuditActor = Annotated[str, StringConstraints(pattern=r"^(key|staff|system):[A-Za-z0-9_-]{1,80}$")]
AuditPeriod = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class PartnerAuditQuery(Request):
    limit: int = Field(50, ge=1, le=100)
    cursor: AuditCursor | None = Field(None, description="next_cursor of the previous page, with the same filters")
    action: AuditAction | None = Field(None, description="Only this action, e.g. key.revoked")
    actor: AuditActor | None = Field(None, description="Only this actor: key:<key id> or staff:<staff id>")
    period: AuditPeriod | None = Field(None, description="Only changes made in this month (YYYY-MM, program time zone)")


class AuditQuery(PartnerAuditQuery):
    partner_id: Annotated[str, StringConstraints(pattern=r"^ptn_[a-z0-9]{1,40}$")] | None = Field(
        None, description="Only records of this partner"
    )


class AuditEntryOut(Response):
    audit_id: str
    at: str = Field(description="When the change committed (UTC)")
    actor: str = Field(description="key:<key id> or staff:<staff id>")
    action: str = Field(description="<what>.<verb>: program.updated, partner.updated, key.revoked, payment.recorded...")
    target: str = Field(description="What changed: program, partner:<id>, key:<id>, campaign:<id>, settlement:<period>")
    partner_id: str | None
    before: dict[str, Any] | None = Field(description="The values before (only those that changed); null if new")
    after: dict[str, Any] | None = Field(description="The values after; a value over 8 KB is {_truncated, bytes, keys}")
    request_id: str


class AuditPage(Response):
    items: list[AuditEntryOut]
    next_cursor: str | None


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


BonusReason = Literal["review", "survey", "social_share", "referral", "birthday", "other"]


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


# --- partners, keys, program -----------------------------------------------------------------------------------


SpendConfirmation = Literal["always", "above", "never"]
_SPEND_CONFIRMATION = (
    "When a redemption or hold needs the customer's code: always (default), above spend_confirmation_above_points, "
    "or never (a partner the operator trusts, e.g. with card scanners)"
)


_CODE_FREE_HOLD = (
    "The longest hold, in minutes, this partner may make without the customer's code (policies above and never; "
    "default 30): a longer hold needs the code"
)
CodeFreeHoldMinutes = Annotated[int, Field(strict=True, ge=1, le=7 * 24 * 60, description=_CODE_FREE_HOLD)]


class _SpendPolicy(Request):
    @model_validator(mode="after")
    def _threshold(self) -> Any:
        policy = getattr(self, "spend_confirmation", None)
        above = getattr(self, "spend_confirmation_above_points", None)
        if policy == "above" and above is None:
            raise ValueError("spend_confirmation 'above' needs spend_confirmation_above_points")
        if policy in ("always", "never") and above is not None:
            raise ValueError("spend_confirmation_above_points applies only with spend_confirmation 'above'")
        return self


# --- staff: people who sign in with a one-time code -------------------------------------------------------------

PartnerStaffRole = Literal["owner", "marketer", "cashier", "accountant"]
OperatorStaffRole = Literal["operator", "operator_readonly"]


class StaffContact(_Identifiers):
    """A person: a phone (any common spelling, stored as E.164) or an e-mail address, and a name."""

    phone: PhoneIn | None = None
    email: EmailIn | None = None
    name: Name

    @model_validator(mode="after")
    def _one_contact(self) -> StaffContact:
        if (self.phone is None) == (self.email is None):
            raise ValueError("give a phone or an e-mail address (one of them)")
        return self


class InviteStaff(StaffContact):
    role: PartnerStaffRole


class InviteOperatorStaff(StaffContact):
    role: OperatorStaffRole


class StaffOut(Response):
    staff_id: str
    role: str
    name: str
    phone: str | None = None
    email: str | None = None
    partner_id: str | None = Field(None, description="null for the operator's staff")
    created_at: str


class StaffList(Response):
    items: list[StaffOut]


class CreatePartner(_SpendPolicy):
    name: Name
    category: Category | None = None
    earn_rate_bps: Bps = 500
    max_redeem_share_bps: Bps = 5000
    pending_days: int = Field(0, strict=True, ge=0, le=365)
    spend_confirmation: SpendConfirmation = Field("always", description=_SPEND_CONFIRMATION)
    spend_confirmation_above_points: Points | None = None
    code_free_hold_minutes: CodeFreeHoldMinutes = CODE_FREE_HOLD_MINUTES
    owner: StaffContact | None = Field(
        None, description="The partner's first owner (a person who signs in with a one-time code), created with it"
    )


class UpdatePartner(_SpendPolicy):
    """Rates (``earn_rate_bps``, ``max_redeem_share_bps``) move money: they change from ``effective_from``.
    Everything else applies at once."""

    name: Name | None = None
    category: Category | None = None
    earn_rate_bps: Bps | None = None
    max_redeem_share_bps: Bps | None = None
    pending_days: int | None = Field(None, strict=True, ge=0, le=365)
    status: Literal["active", "suspended"] | None = None
    effective_from: EffectiveFrom | None = None
    spend_confirmation: SpendConfirmation | None = Field(None, description=_SPEND_CONFIRMATION)
    spend_confirmation_above_points: Points | None = None
    code_free_hold_minutes: CodeFreeHoldMinutes | None = None

    check_effective_from = field_validator("effective_from")(_real_date)


class PartnerRateChange(Response):
    """A scheduled change of a partner's rates; a rate it does not change is null."""

    effective_from: str
    earn_rate_bps: int | None = None
    max_redeem_share_bps: int | None = None


class PartnerOut(Response):
    partner_id: str
    name: str
    category: str | None
    earn_rate_bps: int
    max_redeem_share_bps: int
    pending_days: int
    status: Literal["active", "suspended"]
    created_at: str
    updated_at: str
    scheduled_changes: list[PartnerRateChange] = Field(
        default_factory=list, description="Rate changes not yet in force, earliest first"
    )
    spend_confirmation: SpendConfirmation = Field("always", description=_SPEND_CONFIRMATION)
    spend_confirmation_above_points: int | None = None
    code_free_hold_minutes: int = Field(CODE_FREE_HOLD_MINUTES, description=_CODE_FREE_HOLD)


class PartnerList(Response):
    items: list[PartnerOut]


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="Shown once; only its hash is stored")
    key_id: str
    owner_staff_id: str | None = None


class DirectoryEntry(Response):
    partner_id: str
    name: str
    category: str | None
    earn_rate_bps: int


class Directory(Response):
    items: list[DirectoryEntry]


class KeyCreated(Response):
    key_id: str
    api_key: str = Field(description="Shown once; only its hash is stored")
    partner_id: str
    created_at: str


class TierIn(Request):
    name: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=30), PlainText]
    min_spend_12m_minor: int = Field(strict=True, ge=0, le=MAX_AMOUNT_MINOR)
    multiplier_bps: int = Field(strict=True, ge=0, le=100_000)


DailyLimit = Annotated[int, Field(strict=True, ge=0, le=1000)]


DeletedAccountPoints = Literal["forfeit", "keep_until_expiry"]
_DELETED_ACCOUNT_POINTS = (
    "What happens to the points when a customer deletes their account (shown to them before they confirm): "
    "forfeit (they expire at once) or keep_until_expiry (they stay on the anonymous wallet until their month ends)"
)


class MessageSettings(Response):
    """Messages the program sends customers on its own (docs/notifications.md, "Messages customers get")."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    expiry_reminder_days: int = Field(
        7, strict=True, ge=0, le=60, description="Days before points expire that the customer is reminded; 0: never"
    )
    quiet_from_hour: int = Field(21, strict=True, ge=0, le=23, description="Quiet hours start (program time zone)")
    quiet_to_hour: int = Field(9, strict=True, ge=0, le=23, description="Quiet hours end; equal to the start: none")
    marketing_per_week: int = Field(
        2, strict=True, ge=0, le=14, description="Marketing messages one customer gets at most per week (ISO week)"
    )
    templates: dict[Literal["ru", "en"], dict[str, Annotated[str, StringConstraints(max_length=480)]]] = Field(
        default_factory=dict,
        description="Texts replacing the defaults per language: expiry_reminder {points} {date} {sender}, "
        "birthday_greeting {name} {balance} {sender}",
    )


class ProgramChange(Response):
    """A scheduled change of the money settings; a setting it does not change is null."""

    effective_from: str
    point_value_minor: int | None = None
    operator_fee_bps: int | None = None


class ProgramSettings(Response):
    """The settings in force now, and the money settings' changes not yet in force."""

    currency: str
    point_value_minor: int
    expiry_months: int
    timezone: str
    operator_fee_bps: int
    tiers: list[TierIn]
    bonus_daily_limits: dict[BonusReason, DailyLimit] = Field(
        description="How many bonuses of each reason one customer may get per day (program time zone)"
    )
    scheduled_changes: list[ProgramChange] = Field(
        default_factory=list, description="Changes of point_value_minor / operator_fee_bps not yet in force"
    )
    notifications: dict[str, Any] = Field(
        default_factory=dict,
        description="Channels that reach customers (docs/notifications.md): channels, sender_name, email, sms, "
        "telegram. Empty: the development inbox (make run only)",
    )
    deleted_account_points: DeletedAccountPoints = Field("forfeit", description=_DELETED_ACCOUNT_POINTS)
    messages: MessageSettings = Field(default_factory=lambda: MessageSettings.model_validate({}))


class UpdateProgram(Request):
    """Any subset of the settings; what is left out keeps its value. ``point_value_minor`` and ``operator_fee_bps``
    move money: they change from ``effective_from``. Everything else applies at once; the currency cannot change once
    partners exist."""

    currency: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$")] | None = None
    point_value_minor: int | None = Field(None, strict=True, ge=1, le=1_000_000)
    expiry_months: int | None = Field(None, strict=True, ge=1, le=120)
    timezone: Annotated[str, StringConstraints(strict=True, max_length=64)] | None = None
    operator_fee_bps: Bps | None = None
    tiers: list[TierIn] | None = Field(None, min_length=1, max_length=10)
    bonus_daily_limits: dict[BonusReason, DailyLimit] | None = None
    notifications: dict[str, Any] | None = Field(
        None, description="Channel settings, no secrets (docs/notifications.md); {} turns every channel off"
    )
    deleted_account_points: DeletedAccountPoints | None = Field(None, description=_DELETED_ACCOUNT_POINTS)
    messages: MessageSettings | None = Field(None, description="Reminders, quiet hours, the marketing cap, texts")
    effective_from: EffectiveFrom | None = None

    check_effective_from = field_validator("effective_from")(_real_date)

    @field_validator("notifications")
    @classmethod
    def _notifications(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from chalicelib.notify.settings import NotificationSettings

        return NotificationSettings.model_validate(value).model_dump(mode="json", exclude_defaults=True)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[TierIn] | None) -> list[TierIn] | None:
        if value is None:
            return None
        if len({t.name for t in value}) != len(value):
            raise ValueError("tier names must be unique")
        if not any(t.min_spend_12m_minor == 0 for t in value):
            raise ValueError("one tier must start at min_spend_12m_minor 0")
        return sorted(value, key=lambda t: t.min_spend_12m_minor)


class Health(Response):
    status: Literal["ok"]
    time: str


# --- Telegram (the customer links the bot) ----------------------------------------------------------


class TelegramUpdate(BaseModel):
    """An update as Telegram's Bot API posts it to the webhook. Only ``/start <token>`` in a private chat is acted
    on (``message.chat``, ``message.text``); every other field is accepted and ignored."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    update_id: int = Field(strict=True)
    message: dict[str, Any] | None = None


class TelegramAck(Response):
    """Telegram only looks at the status: 200 means "delivered", anything else makes it deliver the update again."""

    ok: Literal[True] = True
    outcome: Literal["linked", "invalid", "taken", "ignored"]


# --- campaigns -------------------------------------------------------------------------------------------------

PartnerId = Annotated[str, StringConstraints(strict=True, pattern=r"^ptn_[0-9a-z]{8,32}$")]


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


# --- customer portal -------------------------------------------------------------------------------------------


class PortalLinkRequest(Request):
    ttl_minutes: int | None = Field(None, strict=True, ge=1, le=30 * 24 * 60, description="Default 7 days")


class EndCustomerLinks(Request):
    """The operator ends every link to a customer page issued before an instant (a leak of old links)."""

    issued_before: AwareDatetime = Field(
        description="ISO 8601 with an offset, not in the future. Links made before this instant stop working, and so "
        "do the page sessions opened from them; links that carry no issue instant (made before links went to the "
        "customer) all stop. The cutoff only moves later: an earlier instant than the one in force changes nothing."
    )


class CustomerLinksEnded(Response):
    issued_before: str = Field(description="The cutoff in force now (UTC): links issued before it open nothing")
    undated_links_ended: bool = Field(description="Always true: links without an issue instant end with any cutoff")


class PortalLinkSent(Response):
    """The link is on its way to the customer (202); the partner never receives it."""

    channel: Literal["sms", "email", "telegram"]
    destination: str = Field(description="Masked: +7 916 ***-**-67, a***@example.com")
    expires_at: str


class MeOut(Response):
    customer_id: str
    name: str | None
    locale: Literal["ru", "en"]
    balance: Balance
    transactions: list[LedgerEntryOut]
    next_cursor: str | None
    partners: list[DirectoryEntry]
    link_expires_at: str


class MeQuery(Request):
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


# --- Webhooks -----------------------------------------------------------------------------------------------------

WEBHOOK_EVENT_NAMES = (*EVENT_TYPES, ALL_EVENTS)


class CreateWebhook(Request):
    url: Annotated[str, StringConstraints(strict=True, min_length=8, max_length=2048)] = Field(
        description="https on a public address (http://localhost only under make run)"
    )
    events: list[Annotated[str, StringConstraints(strict=True, max_length=40)]] = Field(
        min_length=1, max_length=len(WEBHOOK_EVENT_NAMES), description='Event types, or ["*"] for all'
    )

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in WEBHOOK_EVENT_NAMES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(WEBHOOK_EVENT_NAMES)}")
        return sorted(set(value))


class WebhookOut(Response):
    webhook_id: str
    url: str
    events: list[str]
    status: Literal["active", "disabled"]
    created_at: str
    previous_secret_valid_until: str | None = None
    disabled_at: str | None = None
    disabled_reason: str | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: verify each delivery's Loyalty-Signature with it")


class WebhookList(Response):
    items: list[WebhookOut]


class RotateWebhookSecret(Request):
    overlap_hours: int = Field(
        default=24, strict=True, ge=0, le=168, description="How long the previous secret still signs deliveries"
    )


class WebhookSecretRotated(Response):
    webhook_id: str
    secret: str = Field(description="Shown once")
    previous_secret_valid_until: str


class DeliveryOut(Response):
    delivery_id: str = Field(description="The event's id: one delivery per event and endpoint")
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: str
    last_attempt_at: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    response_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


class DeliveryList(Response):
    items: list[DeliveryOut]


class DeliveryQuery(Request):
    limit: int = Field(default=50, ge=1, le=100)


class ResendOut(Response):
    delivery_id: str
    status: Literal["pending"]
    next_attempt_at: str
