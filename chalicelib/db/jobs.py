"""What the scheduled jobs keep in the table: the expiry index (which customers hold points expiring with a month,
written with every lot credit by ``db/wallets.apply``) and each job's cursor."""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.db import keys
from chalicelib.db.models import ExpiryIndexItem, JobItem
from chalicelib.db.store import get_one

__all__ = ["expiring_customers", "last_expired_month", "save_expiry_cursor"]

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
