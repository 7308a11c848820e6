"""The DynamoDB adapter: the only package that knows about tables, keys and transactions.

Its names load on first use (:data:`_HOME` says from which module), like chalicelib.schemas': a balance needs the
customer's, key's and partner's items, not the campaigns', payments' or CRM connections' model classes. A model
class loaded after :func:`bind` shares the instance's one connection (``reads.share_client``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # mypy reads every name; at run time each module loads when one of its names is asked for
    from chalicelib.db import crm, keys, partner_keys, staff
    from chalicelib.db.audit import AuditItem
    from chalicelib.db.customer_notes import NoteDueItem, OfferRunItem
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
        _Item,
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
    from chalicelib.db.settlement import SettlementItem
    from chalicelib.db.tx import Transaction, TxCancelled, is_unavailable, outcome_unknown

# Each module of chalicelib.db and the names this package gives of it.
_NAMES = {
    "audit": "AuditItem",
    "customer_notes": "NoteDueItem OfferRunItem",
    "messages": "BirthdayIndexItem MessageMarkItem",
    "models": (
        "AliasItem ApiKeyItem CampaignDayItem CampaignItem CampaignMemberItem CodeItem CounterItem CustomerItem "
        "CustomerSessionItem EntryItem ExpiryIndexItem JobItem KeyIdItem OrderItem PartnerItem PortalSessionItem "
        "ProgramItem RateLimitItem ReplayItem bind create_table"
    ),
    "outbox_models": "DeliveryDueItem DeliveryItem OutboxItem WebhookItem",
    "payments": "PaymentItem PaymentTotalItem",
    "scale_models": "CampaignShardItem ExpirySegmentItem ReconciliationItem",
    "settlement": "SettlementItem",
    "reads": "carry connection drop_riders get_many get_one get_raw_many land_riders riders_pending",
    "tx": "Transaction TxCancelled is_unavailable outcome_unknown",
}
_HOME: dict[str, str] = {name: module for module, names in _NAMES.items() for name in names.split()}
# Every module that declares item classes (tests/test_item_codec.py checks the list).
MODEL_MODULES = (
    "models",
    "amo",
    "audit",
    "crm",
    "customer_notes",
    "messages",
    "outbox_models",
    "partner_keys",
    "payments",
    "scale_models",
    "settlement",
    "staff",
)


def __getattr__(name: str) -> Any:
    """A name on first use, or a module of this package (``db.reads``, ``db.keys``): it loads then, and is kept."""
    if name in _HOME:
        value: Any = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    elif name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def every_model() -> list[type[_Item]]:
    """Every item class (the codec's and the template's checks): loads each module that declares some."""
    from chalicelib.db.models import _Item

    for module in MODEL_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return _Item.__subclasses__()


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
    "NoteDueItem",
    "OfferRunItem",
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
    "crm",
    "drop_riders",
    "every_model",
    "get_many",
    "get_one",
    "get_raw_many",
    "is_unavailable",
    "keys",
    "land_riders",
    "outcome_unknown",
    "partner_keys",
    "riders_pending",
    "staff",
]
