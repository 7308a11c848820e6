"""The outbox: events put in the transaction of the change they describe, read back by the dispatcher.

Each event costs its transaction one item (:data:`ITEMS_PER_EVENT`); callers budget it like any other item."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from chalicelib import sorted_json
from chalicelib.db import keys
from chalicelib.db.new_items import writer
from chalicelib.db.outbox_models import OutboxItem
from chalicelib.db.reads import connection, get_one
from chalicelib.db.tx import Transaction, TxCancelled
from chalicelib.domain.events import Event

__all__ = [
    "ITEMS_PER_EVENT",
    "MAX_DATA_BYTES",
    "claim",
    "delete",
    "from_image",
    "get",
    "messages",
    "pending",
    "stage",
    "wait",
]

ITEMS_PER_EVENT = 1
# An event names ids and amounts; a broadcast's points per partner (``by_issuer``) make the largest, some 40 bytes a
# partner: anything bigger is a bug, not a payload (the item stays far below DynamoDB's 400 KB).
MAX_DATA_BYTES = 32_000
_EVENT = writer(OutboxItem)  # ``wire_item(OutboxItem, ...)``, its attributes named at the call


def stage(tx: Transaction, events: Iterable[Event]) -> None:
    """Put each event in ``tx``: it commits with the change or not at all."""
    for event in events:
        data = sorted_json.dumps(event.data)
        if len(data) > MAX_DATA_BYTES:
            raise ValueError(f"event {event.type} carries {len(data)} bytes of data")
        item = _EVENT(
            *keys.outbox(event.event_id),
            event_type=event.type,
            partner_id=event.partner_id,
            created_at=event.created_at,
            data=data,
        )
        tx.put_raw(OutboxItem, item, tag=f"outbox:{event.event_id}")


def _event(item: OutboxItem) -> Event:
    return Event(item.sk, item.event_type, item.partner_id, item.created_at, json.loads(item.data))


def pending(limit: int = 100) -> list[Event]:
    """Events not yet dispatched, oldest first within each partition (the poller's read; AWS uses the stream)."""
    return _oldest(keys.outbox_partitions(), limit)


def messages(limit: int = 100) -> list[Event]:
    """Messages (codes, links) not yet sent, oldest first: their first attempt failed, or is under way."""
    return _oldest(keys.message_partitions(), limit)


def _oldest(partitions: list[str], limit: int) -> list[Event]:
    out: list[Event] = []
    for partition in partitions:
        out += [_event(i) for i in OutboxItem.query(partition, limit=limit, consistent_read=True)]
    return sorted(out, key=lambda e: e.event_id)[:limit]


def from_image(image: dict[str, Any]) -> Event | None:
    """The event in a DynamoDB Stream record's ``NewImage`` (typed attribute values); None for any other item."""
    pk = image.get("pk", {}).get("S", "")
    if not pk.startswith("OUTBOX#"):
        return None
    item = OutboxItem.from_raw_data(image)
    return _event(item)


def delete(event_id: str) -> None:
    """The event's deliveries exist: it leaves the outbox (deleting twice is harmless)."""
    OutboxItem(*keys.outbox(event_id)).delete()


def get(event_id: str) -> Event | None:
    """The event if it still waits in the outbox (a message not yet sent)."""
    item = get_one(OutboxItem, *keys.outbox(event_id))
    return None if item is None else _event(item)


def claim(event_id: str, now_iso: str, lease_until: str, *, eager: bool) -> bool:
    """Take the next attempt at an event the coalition delivers itself (a message): only while it waits in the
    outbox, and no other attempt is under way (a dead one's lease ran out). ``eager``: the request that wrote it, or
    its replay, which need not wait for the retry's time (``not_before``); the poll does."""
    free = OutboxItem.lease_until.does_not_exist() | (OutboxItem.lease_until <= now_iso)
    if not eager:
        free = free & (OutboxItem.not_before.does_not_exist() | (OutboxItem.not_before <= now_iso))
    tx = Transaction()
    item = OutboxItem(*keys.outbox(event_id))
    actions = [OutboxItem.lease_until.set(lease_until), OutboxItem.attempts.add(1)]
    tx.update(item, actions, condition=OutboxItem.pk.exists() & free, tag=f"claim:{event_id}")
    try:
        tx.commit(connection())
    except TxCancelled:
        return False
    return True


def wait(event_id: str, not_before: str) -> None:
    """An attempt failed for now: free the event for the poll's attempt at or after ``not_before`` (an event
    delivered or dropped meanwhile stays gone)."""
    tx = Transaction()
    item = OutboxItem(*keys.outbox(event_id))
    actions = [OutboxItem.lease_until.remove(), OutboxItem.not_before.set(not_before)]
    tx.update(item, actions, condition=OutboxItem.pk.exists(), tag=f"wait:{event_id}")
    try:
        tx.commit(connection())
    except TxCancelled:
        return
