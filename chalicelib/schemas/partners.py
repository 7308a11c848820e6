"""Partners, their keys and staff, the directory and the program's settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from chalicelib.domain.partners import CODE_FREE_HOLD_MINUTES
from chalicelib.schemas.common import (
    MAX_AMOUNT_MINOR,
    BonusReason,
    Bps,
    Category,
    EffectiveFrom,
    Name,
    PlainText,
    Points,
    Request,
    Response,
    _real_date,
)
from chalicelib.schemas.customers import EmailIn, PhoneIn, _Identifiers

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


class ChangeStaffRole(Request):
    role: PartnerStaffRole


class ChangeOperatorStaffRole(Request):
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
        "birthday_greeting {name} {balance} {sender}, purchase_note {partner} {points} {balance} {sender}, "
        "tier_reached {tier} {sender}, campaign_offer {campaign} {partner} {sender}",
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
