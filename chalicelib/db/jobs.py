"""What the scheduled jobs keep in the table: the expiry index (which customers hold points expiring with a month,
written with every lot credit by ``db/wallets.apply``), each job's cursor, and the expiry's segments (one per
partition of a month's index, each worked by its own task with its own cursor)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.db import keys
from chalicelib.db.models import ExpiryIndexItem, JobItem
from chalicelib.db.reads import get_one
from chalicelib.db.scale_models import ExpirySegmentItem
from chalicelib.db.tx import error_code

__all__ = [
    "Segment",
    "drop_marker",
    "expiring_customers",
    "expiring_page",
    "last_expired_month",
    "load_segment",
    "mark",
    "open_segments",
    "save_expiry_cursor",
    "save_segment",
    "segments",
    "stalled_segments",
]

_EXPIRY_CURSOR = keys.job("EXPIRY", "CURSOR")


def last_expired_month() -> str | None:
    """The last month the expiry job fully processed, if it ever ran."""
    cursor = get_one(JobItem, *_EXPIRY_CURSOR)
    return None if cursor is None else str(cursor.month)


def save_expiry_cursor(month: str, done_at: str) -> None:
    JobItem(*_EXPIRY_CURSOR, month=month, done_at=done_at).save()


def expiring_customers(month: str) -> Iterator[str]:
    """The customers marked as holding points that expire with ``month`` (strongly consistent, partition by
    partition). Each marker is deleted once the caller asks for the next one: the caller has dealt with it."""
    for partition in keys.expiry_partitions(month):
        for marker in ExpiryIndexItem.query(partition, consistent_read=True):
            yield marker.sk
            marker.delete()


_SEGMENTS = "EXPIRYSEG"


@dataclass
class Segment:
    """One partition of a month's expiry index, as its task works it."""

    month: str
    shard: int
    status: str = "running"  # running | done
    start_key: str | None = None  # where the next page starts (JSON of DynamoDB's LastEvaluatedKey)
    customers: int = 0
    settled: int = 0
    updated_at: str = ""


def _segment_key(month: str, shard: int) -> tuple[str, str]:
    return keys.job(_SEGMENTS, f"{month}#{shard:03d}")


def _segment(item: ExpirySegmentItem) -> Segment:
    return Segment(
        item.month,
        int(item.shard),
        item.status,
        item.start_key,
        int(item.customers),
        int(item.settled),
        item.updated_at,
    )


def open_segments(month: str, shards: int, now: datetime) -> None:
    """Record the month's segments as handed out (those recorded already stay as they are)."""
    for shard in range(shards):
        item = ExpirySegmentItem(
            *_segment_key(month, shard),
            month=month,
            shard=shard,
            status="running",
            updated_at=now.isoformat(),
            touched=int(now.timestamp()),
        )
        try:
            item.save(condition=ExpirySegmentItem.pk.does_not_exist())
        except PutError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise


def load_segment(month: str, shard: int) -> Segment | None:
    item = get_one(ExpirySegmentItem, *_segment_key(month, shard))
    return None if item is None else _segment(item)


def save_segment(segment: Segment, now: datetime) -> None:
    """Where the segment stands (one task works a segment at a time; a duplicate delivery only redoes idempotent
    settlements, so a plain put is enough)."""
    ExpirySegmentItem(
        *_segment_key(segment.month, segment.shard),
        month=segment.month,
        shard=segment.shard,
        status=segment.status,
        start_key=segment.start_key,
        customers=segment.customers,
        settled=segment.settled,
        updated_at=now.isoformat(),
        touched=int(now.timestamp()),
    ).save()


def segments(months: list[str] | None = None) -> list[Segment]:
    """Every segment recorded (of ``months`` if given): one query of the job's partition, 16 items a month."""
    pk, _ = keys.job(_SEGMENTS, "")
    found = [_segment(i) for i in ExpirySegmentItem.query(pk, consistent_read=True)]
    return [s for s in found if months is None or s.month in months]


def stalled_segments(saved_before: datetime) -> list[Segment]:
    """Segments still running whose task has not saved them since ``saved_before`` (it stopped)."""
    pk, _ = keys.job(_SEGMENTS, "")
    query = ExpirySegmentItem.query(
        pk,
        filter_condition=(ExpirySegmentItem.status == "running")
        & (ExpirySegmentItem.touched < int(saved_before.timestamp())),
        consistent_read=True,
    )
    return [_segment(i) for i in query]


def expiring_page(month: str, shard: int, start_key: str | None, limit: int) -> tuple[list[str], str | None]:
    """Up to ``limit`` customers marked in one partition of the month's expiry index, after ``start_key``; and where
    the next page starts (None: the partition is read to its end)."""
    partition = keys.expiry_partitions(month)[shard]
    start = json.loads(start_key) if start_key else None
    results = ExpiryIndexItem.query(partition, limit=limit, last_evaluated_key=start, consistent_read=True)
    page = [marker.sk for marker in results]
    last = results.last_evaluated_key
    return page, json.dumps(last, sort_keys=True) if last else None


def mark(month: str, customer_id: str, created_at: str) -> None:
    """List the customer in the month's expiry index (points of hers become due then into an ended month's lot)."""
    pk, sk = keys.expiry_index(month, customer_id)
    ExpiryIndexItem(pk, sk, created_at=created_at).save()


def drop_marker(month: str, customer_id: str) -> None:
    """The customer's expiry for the month is dealt with: its marker leaves the index."""
    pk, sk = keys.expiry_index(month, customer_id)
    ExpiryIndexItem(pk, sk).delete()
