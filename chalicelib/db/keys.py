"""Key layout of the single table (see docs/data-model.md). Every pk/sk string is built here and nowhere else."""

from __future__ import annotations

import hashlib

PROFILE = "PROFILE"
ALIAS = "ALIAS"
KEY = "KEY"
ENTRY_PREFIX = "E#"
PERIOD_SHARDS = 8  # a partner's period index partition is split so one busy till is not a hot key


def customer(customer_id: str) -> tuple[str, str]:
    return f"CUST#{customer_id}", PROFILE


def entry(customer_id: str, entry_id: str) -> tuple[str, str]:
    return f"CUST#{customer_id}", f"{ENTRY_PREFIX}{entry_id}"


def customer_at_partner(partner_id: str, customer_id: str) -> str:
    return f"CP#{partner_id}#{customer_id}"


def partner_period(partner_id: str, period: str, entry_id: str) -> str:
    return f"PP#{partner_id}#{period}#{_shard(entry_id, PERIOD_SHARDS)}"


def partner_period_partitions(partner_id: str, period: str) -> list[str]:
    """Every shard of a partner's period index partition (the reconciliation reads them all)."""
    return [f"PP#{partner_id}#{period}#{shard}" for shard in range(PERIOD_SHARDS)]


def phone(normalized: str) -> tuple[str, str]:
    return f"PHONE#{normalized}", ALIAS


def card(normalized: str) -> tuple[str, str]:
    return f"CARD#{normalized}", ALIAS


def email(normalized: str) -> tuple[str, str]:
    return f"EMAIL#{normalized}", ALIAS


def one_time_code(customer_id: str, purpose: str, slot: str) -> tuple[str, str]:
    """A customer's live code for one purpose (sign_in, spend, bind) and slot (who may use it)."""
    return f"OTC#{customer_id}", f"{purpose}#{slot}"


def telegram_link(digest: str) -> tuple[str, str]:
    """A link token for the Telegram bot, by its keyed hash (the token itself is only in the customer's deep link)."""
    return f"TGLINK#{digest}", "TGLINK"


def telegram_chat(chat_id: str) -> tuple[str, str]:
    """The uniqueness claim of a Telegram chat: it reaches at most one customer."""
    return f"TGCHAT#{chat_id}", ALIAS


def code_free(customer_id: str, partner_id: str) -> tuple[str, str]:
    """What a partner took from a customer without her code within the last day (the ``above N`` ceiling)."""
    return f"CODEFREE#{customer_id}", partner_id


def customer_sessions(customer_id: str) -> str:
    return f"CSESS#{customer_id}"


def customer_session(customer_id: str, secret_hash: str) -> tuple[str, str]:
    return customer_sessions(customer_id), secret_hash


STAFF_ROSTER = "#ROSTER"


def staff_members(scope: str) -> str:
    """The partition of a partner's (scope: its id) or the operator's (``OPERATOR``) staff, with its roster."""
    return f"STAFF#{scope}"


def staff_contact(kind: str, value: str) -> tuple[str, str]:
    """The one staff member who signs in with this phone or e-mail."""
    return f"STAFFCONTACT#{kind}#{value}", ALIAS


def staff_session(digest: str) -> tuple[str, str]:
    return f"STAFFSESS#{digest}", "SESSION"


def partner(partner_id: str) -> tuple[str, str]:
    return "PARTNER", partner_id


def api_key(key_hash: str) -> tuple[str, str]:
    return f"APIKEY#{key_hash}", KEY


def partner_keys(partner_id: str) -> str:
    """A partner's API keys as its owner lists them (label, state), one item per key id."""
    return f"PKEYS#{partner_id}"


def partner_key_count(partner_id: str) -> tuple[str, str]:
    """Outside ``PKEYS#<partner>``: the query of a partner's listed keys never meets it."""
    return f"PKEYCOUNT#{partner_id}", "COUNT"


def key_id(key_id: str) -> tuple[str, str]:
    return f"KEYID#{key_id}", KEY


def program() -> tuple[str, str]:
    return "PROGRAM", "SETTINGS"


def link_cutoff() -> tuple[str, str]:
    """The program-wide end of older customer links (``POST /v1/admin/customer-links/revoke``)."""
    return "PROGRAM", "LINK_CUTOFF"


def idempotency(scope: str, idempotency_key: str) -> tuple[str, str]:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"IDEM#{scope}#{digest}", "IDEM"


def request_digest(nonce: str) -> str:
    """Names one HTTP request's writes without storing its nonce (which also seeds secrets shown only to it)."""
    return hashlib.sha256(f"request:{nonce}".encode()).hexdigest()[:32]


def request(nonce: str) -> tuple[str, str]:
    """The implicit replay record of one HTTP request's write (expires after a day, see ReplayItem.ttl)."""
    return f"REQ#{request_digest(nonce)}", "REQ"


def order(partner_id: str, order_id: str) -> str:
    return f"ORDER#{partner_id}#{order_id}"


def order_record(partner_id: str, order_id: str) -> tuple[str, str]:
    """The order itself (one customer, one amount, a state); its accrual and redemption replay records share
    its partition."""
    return order(partner_id, order_id), "ORDER"


def accrual(partner_id: str, order_id: str) -> tuple[str, str]:
    return order(partner_id, order_id), "ACCRUAL"


def redemption(partner_id: str, order_id: str) -> tuple[str, str]:
    return order(partner_id, order_id), "REDEMPTION"


def refund(partner_id: str, refund_id: str) -> tuple[str, str]:
    """Refund ids are unique within the partner, not only within an order."""
    return f"REFUND#{partner_id}#{refund_id}", "REFUND"


EXPIRY_SHARDS = 16  # every credit of a month's lots writes here: spread over partitions


def expiry_index(expiry_period: str, customer_id: str) -> tuple[str, str]:
    shard = int.from_bytes(hashlib.blake2b(customer_id.encode(), digest_size=2).digest()) % EXPIRY_SHARDS
    return f"EXPIRE#{expiry_period}#{shard}", customer_id


def expiry_partitions(expiry_period: str) -> list[str]:
    return [f"EXPIRE#{expiry_period}#{shard}" for shard in range(EXPIRY_SHARDS)]


def job(name: str, unit: str) -> tuple[str, str]:
    return f"JOB#{name}", unit


def bonus(partner_id: str, bonus_id: str) -> tuple[str, str]:
    return f"BONUS#{partner_id}#{bonus_id}", "BONUS"


def adjustment(adjustment_id: str) -> tuple[str, str]:
    return f"ADJ#{adjustment_id}", "ADJUSTMENT"


def campaign(campaign_id: str) -> tuple[str, str]:
    return f"CAMP#{campaign_id}", "CAMPAIGN"


def campaign_member(partner_id: str, campaign_id: str) -> tuple[str, str]:
    return f"PCAMP#{partner_id}", campaign_id


def campaign_day(campaign_id: str, day: str, shard: int | None = None) -> tuple[str, str]:
    """A campaign's figures of one day; awards add to the day's item of their budget shard (``<day>#<shard>``), so
    a busy day is not one hot item either (items written before shards have no suffix)."""
    return f"CAMPDAY#{campaign_id}", day if shard is None else f"{day}#{shard}"


# A campaign's budget and totals are spread over this many items (fixed for each campaign when it is created:
# its allowances derive from it). One item takes about 1,000 write units/s, 500 transactional writes/s; 8 shards
# take 8 x that before DynamoDB throttles a campaign's awards.
CAMPAIGN_SHARDS = 8


def campaign_shard(campaign_id: str, shard: int) -> tuple[str, str]:
    return f"CAMPSHARD#{campaign_id}#{shard}", "SHARD"


def campaign_shards(campaign_id: str, shards: int) -> list[tuple[str, str]]:
    return [campaign_shard(campaign_id, k) for k in range(shards)]


COUNTER_SHARDS = 8  # a partner's period figures are spread over 8 items: 8 x 1,000 writes/s before throttling


def counter(partner_id: str, period: str, shard: int) -> tuple[str, str]:
    return f"CTR#{partner_id}#{period}#{shard}", "C"


def counters(partner_id: str, period: str) -> list[tuple[str, str]]:
    return [counter(partner_id, period, shard) for shard in range(COUNTER_SHARDS)]


def settlement(period: str) -> tuple[str, str]:
    return f"SETTLEMENT#{period}", "CLOSED"


def reconciliation(period: str) -> tuple[str, str]:
    return f"RECON#{period}", "RUN"


def rate_limit(subject: str, digest: str) -> tuple[str, str]:
    """One subject's rate-limit buckets (an API key, a phone, an IP...): ``digest`` is a keyed hash, never the phone."""
    return f"RATE#{subject}#{digest}", "RATE"


def portal_session(digest: str) -> tuple[str, str]:
    """A partner portal session, by the hash of its id (the cookie holds the id, the table only its hash)."""
    return f"PSESSION#{digest}", "SESSION"


OUTBOX_SHARDS = 8  # the outbox's partitions: every ledger write puts one item, so one partition would be hot
DUE_SHARDS = 4


def _shard(text: str, shards: int) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=2).digest()) % shards


# Messages the coalition sends itself (ids ``msg_...``: codes, links) wait in partitions of their own, so a provider's
# outage that keeps many waiting never stands in the way of the partners' events (the poll reads each set apart).
MESSAGE_SHARDS = 4
MESSAGE_ID_PREFIX = "msg_"


def outbox(event_id: str) -> tuple[str, str]:
    if event_id.startswith(MESSAGE_ID_PREFIX):
        return f"OUTBOX#M{_shard(event_id, MESSAGE_SHARDS)}", event_id
    return f"OUTBOX#{_shard(event_id, OUTBOX_SHARDS)}", event_id


def outbox_partitions() -> list[str]:
    return [f"OUTBOX#{shard}" for shard in range(OUTBOX_SHARDS)]


def message_partitions() -> list[str]:
    return [f"OUTBOX#M{shard}" for shard in range(MESSAGE_SHARDS)]


def webhook(partner_id: str, webhook_id: str) -> tuple[str, str]:
    return f"HOOKS#{partner_id}", f"HOOK#{webhook_id}"


def webhooks_of(partner_id: str) -> str:
    return f"HOOKS#{partner_id}"


def webhook_count(partner_id: str) -> tuple[str, str]:
    """Outside ``HOOKS#<partner>``: the query of a partner's endpoints never meets it."""
    return f"HOOKCOUNT#{partner_id}", "COUNT"


def delivery(webhook_id: str, event_id: str) -> tuple[str, str]:
    return f"HOOKDLV#{webhook_id}", event_id


def delivery_due(at_iso: str, webhook_id: str, event_id: str) -> tuple[str, str]:
    return f"HOOKDUE#{_shard(event_id, DUE_SHARDS)}", f"{at_iso}#{webhook_id}#{event_id}"


def delivery_due_partitions() -> list[str]:
    return [f"HOOKDUE#{shard}" for shard in range(DUE_SHARDS)]


# The audit log (chalicelib/db/audit.py). Each record is one item, read three ways without a scan: by its actor
# (the item's own partition), by its partner (``gsi1``) and all together (``gsi2``); each sorted by the record's
# instant and id, so a Query descending is newest first and a month is a range of the sort key.
AUDIT_ALL = "AUDIT#ALL"


def audit(actor: str, sort: str) -> tuple[str, str]:
    return f"AUDITBY#{actor}", sort


def audit_partner(partner_id: str) -> str:
    return f"AUDITP#{partner_id}"


def audit_sort(at: str, audit_id: str) -> str:
    return f"{at}#{audit_id}"


# A period's payments between the operator and its partners (chalicelib/db/payments.py): one partition per period,
# each partner's running total beside its payments, so a statement reads one item and the operator one Query.
def payments(period: str) -> str:
    return f"PAYMENTS#{period}"


def payment_total(period: str, partner_id: str) -> tuple[str, str]:
    return payments(period), f"TOTAL#{partner_id}"


def payment(period: str, partner_id: str, payment_id: str) -> tuple[str, str]:
    return payments(period), f"PAY#{partner_id}#{payment_id}"
