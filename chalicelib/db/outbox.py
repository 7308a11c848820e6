"""The outbox: events put in the transaction of the change they describe, read back by the dispatcher.

Each event costs its transaction one item (:data:`ITEMS_PER_EVENT`); callers budget it like any other item."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from chalicelib.db import keys
from chalicelib.db.new_items import wire_item
from chalicelib.db.outbox_models import OutboxItem
from chalicelib.db.tx import Transaction
from chalicelib.domain.events import Event

__all__ = ["ITEMS_PER_EVENT", "MAX_DATA_BYTES", "delete", "from_image", "pending", "stage"]

ITEMS_PER_EVENT = 1
# An event names ids and amounts; a broadcast's points per partner (``by_issuer``) make the largest, some 40 bytes a
# partner: anything bigger is a bug, not a payload (the item stays far below DynamoDB's 400 KB).
MAX_DATA_BYTES = 32_000


def stage(tx: Transaction, events: Iterable[Event]) -> None:
    """Put each event in ``tx``: it commits with the change or not at all."""
    for event in events:
        data = json.dumps(event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if len(data) > MAX_DATA_BYTES:
            raise ValueError(f"event {event.type} carries {len(data)} bytes of data")
        item = wire_item(
            OutboxItem,
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
    out: list[Event] = []
    for partition in keys.outbox_partitions():
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
