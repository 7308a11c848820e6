"""pynamodb models for the single ``loyalty`` table. The design is documented in docs/data-model.md.

Table names and endpoints are not known at import time (tests, ``make run`` and each stage differ), so every
model's ``Meta`` is filled in by :func:`bind` before the first call, and pynamodb's cached connection is reset.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

GSI_CUSTOMER_AT_PARTNER = "gsi1"
GSI_PARTNER_PERIOD = "gsi2"


class _Item(Model):
    class Meta:
        table_name = "unbound"
        region = "eu-central-1"
        host: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class CustomerItem(_Item):
    """The customer aggregate: profile, balances, lots and spend in one item, so a balance is one read."""

    customer_id = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    card = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="ru")
    marketing_consent = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    enrolled_by = UnicodeAttribute(null=True)
    available = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    # "<YYMM><n>" (older items: "<expiry YYYY-MM>|<issuer>") -> points left in that lot; n: position in partners
    lots: MapAttribute[str, Any] = MapAttribute(default=dict)
    partners: ListAttribute[str] = ListAttribute(null=True)  # only grows: db/wallet_keys.py
    # "YYYY-MM" -> qualifying spend (purchases minus refunds) in minor units, for tiers
    spend: MapAttribute[str, Any] = MapAttribute(default=dict)
    # "<partner>|<order id>" -> {points, expires_at, lots, partner_id, order_id}: points held at a till
    holds: MapAttribute[str, Any] = MapAttribute(default=dict)
    # "<available_at ISO>|<lot key>" -> points that become available then
    pending_lots: MapAttribute[str, Any] = MapAttribute(default=dict)
    # "<YYYY-MM-DD>|<reason>" -> bonuses paid that day for that reason (the daily cap)
    bonus_days: MapAttribute[str, Any] = MapAttribute(default=dict)
    # partner id -> ISO time of the latest purchase there (campaign audiences read this, never the history)
    last_purchase: MapAttribute[str, Any] = MapAttribute(default=dict)
    # campaign id -> awards this customer got (the per-customer limit)
    campaign_awards: MapAttribute[str, Any] = MapAttribute(default=dict)
    # where messages go, and when the customer last signed out everywhere (older links and sessions die)
    email = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)  # sms | email | telegram: the customer's choice, else the program's order
    telegram_chat_id = UnicodeAttribute(null=True)
    telegram_link = UnicodeAttribute(null=True)  # the hash of the newest "Connect Telegram" token: older ones are void
    signed_out_at = UnicodeAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)  # the customer deleted the account: personal data erased


class AliasItem(_Item):
    """Uniqueness claim and lookup for a phone or card: ``PHONE#+7916...`` / ``CARD#...`` -> customer."""

    customer_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class CustomerAtPartnerIndex(GlobalSecondaryIndex["EntryItem"]):
    class Meta:
        index_name = GSI_CUSTOMER_AT_PARTNER
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class PartnerPeriodIndex(GlobalSecondaryIndex["EntryItem"]):
    class Meta:
        index_name = GSI_PARTNER_PERIOD
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class EntryItem(_Item):
    """An immutable ledger entry, stored in its customer's partition (newest first by sort key)."""

    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    by_customer_at_partner = CustomerAtPartnerIndex()
    by_partner_period = PartnerPeriodIndex()

    entry_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    type = UnicodeAttribute()
    period = UnicodeAttribute()
    created_at = UnicodeAttribute()
    available_delta = NumberAttribute(default=0)
    pending_delta = NumberAttribute(default=0)
    held_delta = NumberAttribute(default=0)
    amount_minor = NumberAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    ref_id = UnicodeAttribute(null=True)
    # lot key -> signed points moved in that lot by this entry
    lots: MapAttribute[str, Any] = MapAttribute(default=dict)
    details: MapAttribute[str, Any] = MapAttribute(default=dict)


class PartnerItem(_Item):
    """All partners share the partition ``PARTNER`` so the directory is one query (a coalition has dozens)."""

    partner_id = UnicodeAttribute()
    name = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    earn_rate_bps = NumberAttribute()
    max_redeem_share_bps = NumberAttribute()
    pending_days = NumberAttribute(default=0)
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # campaign id -> rules of the active campaigns earning here: the accrual already reads this item
    active_campaigns: MapAttribute[str, Any] = MapAttribute(default=dict)
    # campaign id -> created_at of the campaigns this partner sponsors that are not ended (the open-campaign limit)
    open_campaigns: MapAttribute[str, Any] = MapAttribute(default=dict)
    # {"changes": [...]}: dated changes of the rates above, which stay their first values (chalicelib/partners.py)
    rate_schedule: MapAttribute[str, Any] = MapAttribute(default=dict)
    # When a redemption or hold needs the customer's code: always | above (N points a day) | never. A partner stored
    # before the policy existed reads "always": the policy fails closed (tests/test_spend_policy.py).
    spend_confirmation = UnicodeAttribute(default="always")
    spend_confirmation_above_points = NumberAttribute(null=True)
    # The longest hold made without the customer's code (minutes); partners stored before it existed get the default
    code_free_hold_minutes = NumberAttribute(default=30)


class ApiKeyItem(_Item):
    """Looked up by the peppered SHA-256 of the presented key; the key itself is never stored."""

    key_id = UnicodeAttribute()
    role = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class KeyIdItem(_Item):
    """``KEYID#<key_id>`` -> the hash, so an operator can revoke a key by its public id."""

    key_hash = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)
    role = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()


class ProgramItem(_Item):
    settings: MapAttribute[str, Any] = MapAttribute(default=dict)
    updated_at = UnicodeAttribute()


class ReplayItem(_Item):
    """A recorded response: for an Idempotency-Key (``IDEM#...``), for every natural id (order, refund...), and,
    for a write that has neither, for the HTTP request itself (``REQ#<digest of its nonce>``, kept a day).

    The answer may be an error (``status_code`` >= 400, a problem+json ``body``, empty ``state``): such records bind
    the key or id to it, and ``idempotency.execute`` hides them from the services' decisions.
    Natural-id records carry the state later requests need (e.g. what a refund may still reverse) in ``state``.
    """

    fingerprint = UnicodeAttribute()
    status_code = NumberAttribute()
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    state: MapAttribute[str, Any] = MapAttribute(default=dict)
    origin = UnicodeAttribute(null=True)  # keys.request_digest of the request that wrote it
    ttl = NumberAttribute(null=True)  # epoch seconds; DynamoDB deletes the item after it (implicit records only)

    @property
    def is_error(self) -> bool:
        return int(self.status_code) >= 400


class OrderItem(_Item):
    """``ORDER#<partner>#<order id>`` / ``ORDER``: the order as one record (``chalicelib/domain/orders.py``): its
    customer, its amount, what it earned and spent and how much was refunded. ``version`` guards every write."""

    version = NumberAttribute(default=0)
    state: MapAttribute[str, Any] = MapAttribute(default=dict)
    updated_at = UnicodeAttribute()


class CampaignItem(_Item):
    """``CAMP#<id>`` / ``CAMPAIGN``: the rules, the state, who accepted, its budget shards (db/scale_models.py: awards
    write those, so ``budget_used`` and the totals here are what awards counted before shards; refunds add here)."""

    campaign_id = UnicodeAttribute()
    sponsor_partner_id = UnicodeAttribute()
    rules: MapAttribute[str, Any] = MapAttribute(default=dict)
    status = UnicodeAttribute()
    accepted_by: MapAttribute[str, Any] = MapAttribute(default=dict)
    declined_by: MapAttribute[str, Any] = MapAttribute(default=dict)  # absent on campaigns written before declines
    budget_used = NumberAttribute(default=0)
    awards = NumberAttribute(default=0)
    customers = NumberAttribute(default=0)
    new_customers = NumberAttribute(default=0)
    points_awarded = NumberAttribute(default=0)
    points_reversed = NumberAttribute(default=0)
    revenue_minor = NumberAttribute(default=0)
    budget_shards = NumberAttribute(null=True)  # None: created before shards, which then had keys.CAMPAIGN_SHARDS
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class CampaignMemberItem(_Item):
    """``PCAMP#<partner>`` / ``<campaign id>``: the campaigns a partner sponsors or is named in (its list)."""

    role = UnicodeAttribute()


class CampaignDayItem(_Item):
    """``CAMPDAY#<campaign>`` / ``<YYYY-MM-DD>#<shard>``: the report's daily series, added to in each award."""

    awards = NumberAttribute(default=0)
    points_awarded = NumberAttribute(default=0)
    revenue_minor = NumberAttribute(default=0)


class CounterItem(_Item):
    """``CTR#<partner>#<YYYY-MM>#<shard>`` / ``C``: one shard of a partner's period figures (settlement).

    Besides the declared numbers it holds ``flow_<issuer>`` (net points accepted here that <issuer> issued) and
    ``exp_<issuer>`` (expired points by issuer), added with ``ADD`` so they need no declaration. Read raw."""

    issued_points = NumberAttribute(default=0)


class ExpiryIndexItem(_Item):
    """``EXPIRE#<YYYY-MM>#<shard>`` / ``<customer id>``: customers holding points that expire with that month.

    Written with every lot credit, so the daily expiry job reads only what is due, never the table."""

    created_at = UnicodeAttribute()


class JobItem(_Item):
    """Progress of a scheduled job, e.g. ``JOB#EXPIRY`` / ``CURSOR``: the last month fully expired."""

    month = UnicodeAttribute()
    done_at = UnicodeAttribute()


class RateLimitItem(_Item):
    """``RATE#<subject>#<keyed hash>`` / ``RATE``: one subject's token buckets (chalicelib/domain/ratelimit.py), one
    number ``t_<limit>`` each (epoch ms), written by one conditional UpdateItem (chalicelib/db/ratelimits.py).
    ``ttl`` is past once every bucket is full again: DynamoDB then deletes an item that no longer matters."""

    ttl = NumberAttribute(null=True)


class PortalSessionItem(_Item):
    """``PSESSION#<hash of the session id>`` / ``SESSION``: a partner portal session; signing out deletes it."""

    key_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds, also in the signed cookie
    ttl = NumberAttribute(null=True)


class CodeItem(_Item):
    """``OTC#<customer id>`` / ``<purpose>#<slot>``: one live one-time code, stored only as its HMAC.

    A new code for the same purpose and slot replaces the old one. ``attempts`` counts wrong tries; using the code
    deletes the item in the same transaction as what it confirms, so it works once. DynamoDB removes it after ``ttl``.
    """

    code_hash = UnicodeAttribute()
    purpose = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    max_attempts = NumberAttribute()
    created_at = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)  # the partner who asked for it (spend at the till, binding)
    payload: MapAttribute[str, Any] = MapAttribute(default=dict)  # e.g. the identifiers a binding will attach
    ttl = NumberAttribute()


class CustomerSessionItem(_Item):
    """``CSESS#<customer id>`` / ``<SHA-256 of the session secret>``: a signed-in customer. Signing out
    deletes it; signing out everywhere deletes the partition. DynamoDB removes it after ``ttl``."""

    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    via = UnicodeAttribute()  # code | link
    ttl = NumberAttribute()
    link_issued_at = UnicodeAttribute(null=True)  # a session opened from a link: the link's issue instant (v2)


class LinkCutoffItem(_Item):
    """``PROGRAM`` / ``LINK_CUTOFF``: links to customer pages issued before ``issued_before`` (epoch seconds) open
    nothing any more, nor do sessions opened from them; links that carry no issue instant (v1) none at all. It only
    ever moves later (a conditional write)."""

    issued_before = NumberAttribute()
    set_at = UnicodeAttribute()


class TelegramLinkItem(_Item):
    """``TGLINK#<HMAC of the token>`` / ``TGLINK``: a single-use token that links the Telegram bot to a customer. Using
    it sets ``used_at`` and ``used_chat_id`` under ``attribute_not_exists(used_at)`` in the transaction that binds the
    chat (a re-delivered update from the same chat is recognised). DynamoDB removes it after ``ttl``."""

    customer_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    used_chat_id = UnicodeAttribute(null=True)
    ttl = NumberAttribute()


class CodeFreeItem(_Item):
    """``CODEFREE#<customer id>`` / ``<partner id>``: the points a partner took from a customer without her code,
    by 10-minute slot (``slots``: slot start -> points) and their sum (``total``), for the 24-hour ceiling of the
    ``above N`` policy (``chalicelib/domain/code_free.py``). Written only in the redemption's transaction, guarded by
    ``total``; DynamoDB removes an idle one after ``ttl``."""

    total = NumberAttribute(default=0)
    slots: MapAttribute[str, Any] = MapAttribute(default=dict)
    ttl = NumberAttribute(null=True)


ALL_MODELS: tuple[type[_Item], ...] = (
    CustomerItem,
    AliasItem,
    EntryItem,
    PartnerItem,
    ApiKeyItem,
    KeyIdItem,
    ProgramItem,
    ReplayItem,
    OrderItem,
    ExpiryIndexItem,
    JobItem,
    CampaignItem,
    CampaignMemberItem,
    CampaignDayItem,
    CounterItem,
    RateLimitItem,
    PortalSessionItem,
    CodeItem,
    CustomerSessionItem,
    LinkCutoffItem,
    TelegramLinkItem,
    CodeFreeItem,
)


def bind(table_name: str, region: str, host: str | None) -> None:
    """Point every model at one table; drop connections cached for a previous binding."""
    models: tuple[type[_Item], ...] = (_Item, *_Item.__subclasses__())  # with db/scale_models.py's
    for model in models:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host
        model._connection = None


def create_table() -> None:
    """Create the table with both indexes (local runs and tests; AWS gets it from infra/)."""
    if not EntryItem.exists():
        EntryItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        EntryItem._get_connection().connection.client.update_time_to_live(
            TableName=EntryItem.Meta.table_name, TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True}
        )
