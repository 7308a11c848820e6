"""A partner's CRM connection (Bitrix24) and what waits to be told to it (to Bitrix24 or amoCRM, see ``_queue``).

- ``CRM#bitrix24`` / ``<partner id>``: the connection (one per partner). Holds the portal's inbound webhook URL (its
  path carries the portal's token) and the outgoing webhook's ``application_token``: both are secrets, stored because
  every call needs them, and never returned by any route. One partition for every connection, so a dispatcher pass
  reads them all with one Query (a coalition has tens of partners, not millions).
- ``CRMOUT#<partner id>`` / ``<customer id>#<event id>``: a change of the customer's balance not yet written to the
  partner's CRM. Created under ``attribute_not_exists``, so an event dispatched twice waits once (one timeline
  comment); deleted once the CRM has taken it. The balance written is read at send time: the latest wins.
- ``CRMSENT#<partner id>`` / ``<event id>``: the change of that event was taken (kept 30 days, a TTL): the event
  dispatched again after that (a stream record retried after the poller took it) waits no second time.
- ``CRMCONTACT#<partner id>`` / ``<customer id>``: the CRM contact found or created for the customer.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.db.models import _Item
from chalicelib.db.reads import Found, ReadKey, connection, get_one, get_raw_many
from chalicelib.db.tx import Transaction, TxCancelled

__all__ = [
    "Connection",
    "Pending",
    "any_connected",
    "connect",
    "connected",
    "connection_reads",
    "connections",
    "contact_of",
    "disconnect",
    "done",
    "enqueue",
    "forget_contact",
    "get",
    "note_error",
    "pending",
    "remember_contact",
]

BITRIX24 = "bitrix24"
DONE_PER_TX = 45  # two items a change: within DynamoDB's 100 a transaction


class CrmConnectionItem(_Item):
    partner_id = UnicodeAttribute()
    webhook_url = UnicodeAttribute()  # secret: the path carries the portal's token
    application_token = UnicodeAttribute()  # secret: what Bitrix24 sends with its outgoing webhook
    won_stage = UnicodeAttribute(default="WON")
    created_at = UnicodeAttribute()
    language = UnicodeAttribute(default="ru")  # of the timeline comments: the partner's, chosen when connecting
    last_error = UnicodeAttribute(null=True)  # Bitrix24's error code of the last pass that failed (the portal page)
    last_error_at = UnicodeAttribute(null=True)


class CrmPendingItem(_Item):
    customer_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    points = NumberAttribute(default=0)
    created_at = UnicodeAttribute()


class CrmSentItem(_Item):
    ttl = NumberAttribute(null=True)  # epoch seconds: DynamoDB deletes the mark after it


class CrmContactItem(_Item):
    contact_id = UnicodeAttribute()


class _Presence(_Item):
    """Any CRM's connection item read for its existence only (its attributes are each CRM's own)."""


@dataclass(frozen=True)
class Connection:
    partner_id: str
    webhook_url: str
    application_token: str
    won_stage: str
    created_at: str
    language: str = "ru"
    last_error: str | None = None
    last_error_at: str | None = None


@dataclass(frozen=True)
class Pending:
    customer_id: str
    event_id: str
    event_type: str
    points: int
    created_at: str


def _conn_key(partner_id: str) -> tuple[str, str]:
    return f"CRM#{BITRIX24}", partner_id


def _connection(item: CrmConnectionItem) -> Connection:
    return Connection(
        item.partner_id,
        item.webhook_url,
        item.application_token,
        item.won_stage,
        item.created_at,
        item.language,
        item.last_error,
        item.last_error_at,
    )


def connect(
    partner_id: str, webhook_url: str, application_token: str, won_stage: str, now_iso: str, language: str = "ru"
) -> Connection:
    """Connect (or connect again, replacing the secrets): the partner's own item only."""
    item = CrmConnectionItem(
        *_conn_key(partner_id),
        partner_id=partner_id,
        webhook_url=webhook_url,
        application_token=application_token,
        won_stage=won_stage,
        created_at=now_iso,
        language=language,
    )
    item.save()
    return _connection(item)


def get(partner_id: str) -> Connection | None:
    item = get_one(CrmConnectionItem, *_conn_key(partner_id))
    return _connection(item) if item is not None else None


def note_error(partner_id: str, code: str | None, now_iso: str) -> None:
    """The last pass's failure (None: a pass went through since), on the connection if it still exists."""
    item = CrmConnectionItem(*_conn_key(partner_id))
    actions: list[Action] = (
        [CrmConnectionItem.last_error.set(code), CrmConnectionItem.last_error_at.set(now_iso)]
        if code is not None
        else [CrmConnectionItem.last_error.remove(), CrmConnectionItem.last_error_at.remove()]
    )
    try:
        item.update(actions=actions, condition=CrmConnectionItem.pk.exists())
    except UpdateError:  # disconnected meanwhile: nothing to note
        pass


def disconnect(partner_id: str) -> None:
    CrmConnectionItem(*_conn_key(partner_id)).delete()


def connected(partner_ids: Collection[str], crms: Collection[str]) -> dict[str, set[str]]:
    """Which of ``crms`` each partner has connected: one batch read for all of them (a dispatcher's batch asks once,
    not once per event and CRM)."""
    wanted = [(f"CRM#{crm}", p) for p in sorted(set(partner_ids)) for crm in crms]
    out: dict[str, set[str]] = {p: set() for p in partner_ids}
    for pk, sk in get_raw_many(wanted):
        out[sk].add(pk.removeprefix("CRM#"))
    return out


def connection_reads(partner_id: str, crms: Collection[str]) -> list[ReadKey]:
    """The partner's connection items, to ride in a use case's own batch read (no round trip of their own)."""
    return [(_Presence, f"CRM#{crm}", partner_id) for crm in crms]


def any_connected(found: Found, partner_id: str, crms: Collection[str]) -> bool:
    return any((f"CRM#{crm}", partner_id) in found for crm in crms)


def connections() -> list[Connection]:
    pk, _ = _conn_key("")
    return [_connection(i) for i in CrmConnectionItem.query(pk, consistent_read=True)]


def _queue(partner_id: str, crm: str) -> str:
    """The partner's key in the queue, sent marks and contacts of one CRM (Bitrix24's keys stay as they were)."""
    return partner_id if crm == BITRIX24 else f"{crm}#{partner_id}"


def enqueue(partner_id: str, change: Pending, crm: str = BITRIX24) -> bool:
    """The change waits for the partner's CRM; False when it already waits (the event dispatched again)."""
    tx = Transaction()
    partner_id = _queue(partner_id, crm)
    item = CrmPendingItem(
        f"CRMOUT#{partner_id}",
        f"{change.customer_id}#{change.event_id}",
        customer_id=change.customer_id,
        event_id=change.event_id,
        event_type=change.event_type,
        points=change.points,
        created_at=change.created_at,
    )
    tx.put(item, condition=CrmPendingItem.pk.does_not_exist(), tag="pending")
    tx.check(CrmSentItem, f"CRMSENT#{partner_id}", change.event_id, CrmSentItem.pk.does_not_exist(), tag="sent")
    try:
        tx.commit(connection())
    except TxCancelled as cancelled:
        if cancelled.failed & {"pending", "sent"}:
            return False
        raise
    return True


def pending(partner_id: str, limit: int, crm: str = BITRIX24) -> list[Pending]:
    """Oldest customers first (by id within the partition); at most ``limit`` changes."""
    partner_id = _queue(partner_id, crm)
    items = CrmPendingItem.query(f"CRMOUT#{partner_id}", limit=limit, consistent_read=True)
    return [Pending(i.customer_id, i.event_id, i.event_type, int(i.points), i.created_at) for i in items]


def done(partner_id: str, changes: list[Pending], keep_until: int, crm: str = BITRIX24) -> None:
    """The CRM took these: they wait no more, and their events are marked sent until ``keep_until`` (epoch s)."""
    partner_id = _queue(partner_id, crm)
    for start in range(0, len(changes), DONE_PER_TX):
        tx = Transaction()
        for change in changes[start : start + DONE_PER_TX]:
            tx.delete(CrmPendingItem(f"CRMOUT#{partner_id}", f"{change.customer_id}#{change.event_id}"))
            tx.put(CrmSentItem(f"CRMSENT#{partner_id}", change.event_id, ttl=keep_until))
        tx.commit(connection())


def contact_of(partner_id: str, customer_id: str, crm: str = BITRIX24) -> str | None:
    item = get_one(CrmContactItem, f"CRMCONTACT#{_queue(partner_id, crm)}", customer_id)
    return item.contact_id if item is not None else None


def remember_contact(partner_id: str, customer_id: str, contact_id: str, crm: str = BITRIX24) -> None:
    CrmContactItem(f"CRMCONTACT#{_queue(partner_id, crm)}", customer_id, contact_id=contact_id).save()


def forget_contact(partner_id: str, customer_id: str, crm: str = BITRIX24) -> None:
    CrmContactItem(f"CRMCONTACT#{_queue(partner_id, crm)}", customer_id).delete()
