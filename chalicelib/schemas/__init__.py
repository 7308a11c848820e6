"""Every request and response body of the API, as pydantic v2 models, one module per resource; /openapi.json is
generated from these.

Requests forbid unknown fields and take integers strictly (``1.0`` or ``"1"`` is a validation error: money and
points are never floats).

``from chalicelib.schemas import Balance`` loads only the module that defines ``Balance`` (and the ones it builds on):
a cold instance serving a balance does not define the campaigns', settlements' or ledger's models (~2 M instructions
each). :data:`HOME` says where each name lives; tests/test_route_table.py checks it names every one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.lazy import lazy_module

if TYPE_CHECKING:  # mypy reads every name; at run time each module loads when one of its names is asked for
    from chalicelib.schemas.audit import *  # noqa: F403
    from chalicelib.schemas.campaigns import *  # noqa: F403
    from chalicelib.schemas.common import *  # noqa: F403
    from chalicelib.schemas.customers import *  # noqa: F403
    from chalicelib.schemas.integrations import *  # noqa: F403
    from chalicelib.schemas.ledger import *  # noqa: F403
    from chalicelib.schemas.partners import *  # noqa: F403
    from chalicelib.schemas.public import *  # noqa: F403
    from chalicelib.schemas.settlements import *  # noqa: F403
    from chalicelib.schemas.webhooks import *  # noqa: F403

# Each module of chalicelib.schemas and the public names it defines.
_NAMES = {
    "common": (
        "AmountMinor BonusReason Bps Category CustomerCode EffectiveFrom ExternalId MAX_AMOUNT_MINOR "
        "MAX_POINTS Name PartnerId PlainText Points Problem Request ResourceId Response plain_text"
    ),
    "customers": (
        "AttachIdentifiers Balance BalanceSummary BindingPending CardIn ConfirmIdentifiers CustomerEnrolled "
        "CustomerLookupQuery CustomerRef EmailIn EnrollCustomer ExpiringPoints IdentifierKind "
        "IdentifiersConfirmed LedgerEntryOut PhoneIn TierOut TransactionsPage TransactionsQuery"
    ),
    "audit": ("AuditAction AuditActor AuditCursor AuditEntryOut AuditPage AuditPeriod AuditQuery PartnerAuditQuery"),
    "ledger": (
        "AccrualOut AdjustmentOut Award AwardReversed BonusOut CaptureRedemption CreateAccrual "
        "CreateAdjustment CreateBonus CreateRedemption CreateRefund QuoteOut QuoteRequest RedemptionOut "
        "RefundOut SpendCodeRecord SpendCodeRequest SpendCodeSent"
    ),
    "partners": (
        "ChangeOperatorStaffRole ChangeStaffRole "
        "CodeFreeHoldMinutes CreatePartner DailyLimit DeletedAccountPoints Directory DirectoryEntry Health "
        "ChangeOperatorStaffRole ChangeStaffRole InviteOperatorStaff InviteStaff KeyCreated MessageSettings "
        "OperatorStaffRole PartnerCreated "
        "PartnerList PartnerOut PartnerRateChange PartnerStaffRole ProgramChange ProgramSettings "
        "SpendConfirmation StaffContact StaffList StaffOut TierIn UpdatePartner UpdateProgram"
    ),
    "campaigns": (
        "Audience CampaignDay CampaignList CampaignOut CampaignReport CreateCampaign FixedReward MAX_EARN_AT "
        "MultiplierReward PercentReward Reward"
    ),
    "settlements": (
        "CoalitionLine CreatePayment Flow Identity MatrixCell OperatorSettlement PaymentList PaymentOut "
        "PaymentsQuery Reconciliation ReconciliationDifference SettlementOut SettlementQuery SettlementTotals"
    ),
    "public": (
        "CustomerLinksEnded EndCustomerLinks MeOut MeQuery PortalLinkRequest PortalLinkSent TelegramAck TelegramUpdate"
    ),
    "integrations": (
        "AmoCrmConnection Bitrix24Ack Bitrix24Connection ConnectAmoCrm ConnectBitrix24 CrmFieldName CrmLanguage"
    ),
    "webhooks": (
        "CreateWebhook DeliveryList DeliveryOut DeliveryQuery ResendOut RotateWebhookSecret WEBHOOK_EVENT_NAMES "
        "WebhookCreated WebhookList WebhookOut WebhookSecretRotated"
    ),
}
HOME: dict[str, str] = {name: module for module, names in _NAMES.items() for name in names.split()}
_MODULES = {module: lazy_module(f"chalicelib.schemas.{module}") for module in _NAMES}


def __getattr__(name: str) -> Any:
    """A model (or type) on first use: its module loads then, and the name is kept here for the next reader."""
    module = HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_MODULES[module], name)
    globals()[name] = value
    return value
