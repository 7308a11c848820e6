"""The DynamoDB adapter: the only package that knows about tables, keys and transactions."""

from chalicelib.db import keys
from chalicelib.db.models import (
    AliasItem,
    ApiKeyItem,
    CampaignDayItem,
    CampaignItem,
    CampaignMemberItem,
    CounterItem,
    CustomerItem,
    EntryItem,
    ExpiryIndexItem,
    JobItem,
    KeyIdItem,
    PartnerItem,
    ProgramItem,
    ReplayItem,
    SettlementItem,
    bind,
    create_table,
)
from chalicelib.db.store import connection, get_many, get_one, get_raw_many
from chalicelib.db.tx import Transaction, TxCancelled, is_unavailable, outcome_unknown

__all__ = [
    "AliasItem",
    "ApiKeyItem",
    "CampaignDayItem",
    "CampaignItem",
    "CampaignMemberItem",
    "CounterItem",
    "CustomerItem",
    "EntryItem",
    "ExpiryIndexItem",
    "JobItem",
    "KeyIdItem",
    "PartnerItem",
    "ProgramItem",
    "ReplayItem",
    "SettlementItem",
    "Transaction",
    "TxCancelled",
    "bind",
    "connection",
    "create_table",
    "get_many",
    "get_one",
    "get_raw_many",
    "is_unavailable",
    "keys",
    "outcome_unknown",
]
