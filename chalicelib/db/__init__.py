"""The DynamoDB adapter: the only package that knows about tables, keys and transactions."""

from chalicelib.db import crm as _crm  # noqa: F401 - its models are bound with every other (models.bind)
from chalicelib.db import keys
from chalicelib.db import partner_keys as partner_keys  # these items are bound with the others (models.bind)
from chalicelib.db import staff as staff
from chalicelib.db.audit import AuditItem
from chalicelib.db.messages import BirthdayIndexItem, MessageMarkItem
from chalicelib.db.models import (
    AliasItem,
    ApiKeyItem,
    CampaignDayItem,
    CampaignItem,
    CampaignMemberItem,
    CodeItem,
    CounterItem,
    CustomerItem,
    CustomerSessionItem,
    EntryItem,
    ExpiryIndexItem,
    JobItem,
    KeyIdItem,
    OrderItem,
    PartnerItem,
    PortalSessionItem,
    ProgramItem,
    RateLimitItem,
    ReplayItem,
    SettlementItem,
    bind,
    create_table,
)
from chalicelib.db.outbox_models import DeliveryDueItem, DeliveryItem, OutboxItem, WebhookItem
from chalicelib.db.payments import PaymentItem, PaymentTotalItem
from chalicelib.db.reads import (
    carry,
    connection,
    drop_riders,
    get_many,
    get_one,
    get_raw_many,
    land_riders,
    riders_pending,
)
from chalicelib.db.scale_models import CampaignShardItem, ExpirySegmentItem, ReconciliationItem
from chalicelib.db.tx import Transaction, TxCancelled, is_unavailable, outcome_unknown

__all__ = [
    "AliasItem",
    "ApiKeyItem",
    "AuditItem",
    "BirthdayIndexItem",
    "CampaignDayItem",
    "CampaignItem",
    "CampaignMemberItem",
    "CampaignShardItem",
    "CodeItem",
    "CounterItem",
    "CustomerItem",
    "CustomerSessionItem",
    "DeliveryDueItem",
    "DeliveryItem",
    "EntryItem",
    "ExpiryIndexItem",
    "ExpirySegmentItem",
    "JobItem",
    "KeyIdItem",
    "MessageMarkItem",
    "OrderItem",
    "OutboxItem",
    "PartnerItem",
    "PaymentItem",
    "PaymentTotalItem",
    "PortalSessionItem",
    "ProgramItem",
    "RateLimitItem",
    "ReconciliationItem",
    "ReplayItem",
    "SettlementItem",
    "Transaction",
    "TxCancelled",
    "WebhookItem",
    "bind",
    "carry",
    "connection",
    "create_table",
    "drop_riders",
    "get_many",
    "get_one",
    "get_raw_many",
    "is_unavailable",
    "keys",
    "land_riders",
    "outcome_unknown",
    "riders_pending",
]
