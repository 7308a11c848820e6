"""What customer messages keep in the table: a mark per message that must go out once (an expiry reminder per
month, a birthday greeting per year), the week's count of marketing messages per customer (the frequency cap), and
the birthday index the greeting job reads instead of scanning customers.

Marks and counts are claimed under conditions before the message is sent: two runs of a job, or two workers, never
both send. A send that fails gives its mark back, so the next run tries again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.db.models import _Item
from chalicelib.db.tx import Transaction, error_code

__all__ = [
    "BIRTHDAY_SHARDS",
    "BirthdayIndexItem",
    "MessageMarkItem",
    "add_birthday",
    "birthdays",
    "claim",
    "count_marketing",
    "drop_birthday",
    "give_back",
    "give_back_marketing",
]

BIRTHDAY_SHARDS = 8  # a day's birthdays over partitions: about 1/365 of the customers each day
MARK_DAYS = 400  # a mark outlives what it guards (a month's reminder, a year's greeting), then DynamoDB drops it
WEEK_DAYS = 15


class MessageMarkItem(_Item):
    """``MSG#<customer>`` / ``<kind>#<ref>``: this message went (or is going) out; ``WEEK#<ISO week>``: how many
    marketing messages went out that week (``sent``)."""

    sent_at = UnicodeAttribute(null=True)
    sent = NumberAttribute(null=True)
    ttl = NumberAttribute(null=True)


class BirthdayIndexItem(_Item):
    """``BDAY#<MM-DD>#<shard>`` / ``<customer id>``: the customer was born on that day (written at enrolment).

    The greeting job checks the customer's own birthday again: an index item outlived by a deleted account is
    dropped, never greeted."""

    created_at = UnicodeAttribute()


def _mark_pk(customer_id: str) -> str:
    return f"MSG#{customer_id}"


def _ttl(now: datetime, days: int) -> int:
    return int((now + timedelta(days=days)).timestamp())


def claim(customer_id: str, kind: str, ref: str, now: datetime) -> bool:
    """Take the mark for one message; False when it was taken already (the message went out, or is going)."""
    item = MessageMarkItem(_mark_pk(customer_id), f"{kind}#{ref}", sent_at=now.isoformat(), ttl=_ttl(now, MARK_DAYS))
    try:
        item.save(condition=MessageMarkItem.sk.does_not_exist())
    except PutError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def give_back(customer_id: str, kind: str, ref: str) -> None:
    """The message did not go out: the next run may try again."""
    MessageMarkItem(_mark_pk(customer_id), f"{kind}#{ref}").delete()


def count_marketing(customer_id: str, week: str, cap: int, now: datetime) -> bool:
    """Count one marketing message in the customer's week if fewer than ``cap`` went out; False at the cap."""
    item = MessageMarkItem(_mark_pk(customer_id), f"WEEK#{week}")
    try:
        item.update(
            actions=[MessageMarkItem.sent.add(1), MessageMarkItem.ttl.set(_ttl(now, WEEK_DAYS))],
            condition=MessageMarkItem.sent.does_not_exist() | (MessageMarkItem.sent < cap),
        )
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def give_back_marketing(customer_id: str, week: str) -> None:
    try:
        MessageMarkItem(_mark_pk(customer_id), f"WEEK#{week}").update(actions=[MessageMarkItem.sent.add(-1)])
    except UpdateError:
        pass


def _birthday_key(birthday_iso: str, customer_id: str) -> tuple[str, str]:
    shard = int(hashlib.blake2b(customer_id.encode(), digest_size=2).hexdigest(), 16) % BIRTHDAY_SHARDS
    return f"BDAY#{birthday_iso[5:10]}#{shard}", customer_id


def add_birthday(tx: Transaction, customer_id: str, birthday_iso: str, now_iso: str) -> None:
    """In the enrolment's transaction: the customer enters the index of their birthday."""
    tx.put(BirthdayIndexItem(*_birthday_key(birthday_iso, customer_id), created_at=now_iso))


def birthdays(day: date) -> Iterator[str]:
    """The customers indexed under ``day``'s month and day (and the 29th of February on the 28th in other years)."""
    days = [f"{day.month:02d}-{day.day:02d}"]
    if (day.month, day.day) == (2, 28) and not _leap(day.year):
        days.append("02-29")
    for month_day in days:
        for shard in range(BIRTHDAY_SHARDS):
            for item in BirthdayIndexItem.query(f"BDAY#{month_day}#{shard}", consistent_read=True):
                yield item.sk


def drop_birthday(customer_id: str, month_day: str) -> None:
    pk, sk = _birthday_key(f"0000-{month_day}", customer_id)
    BirthdayIndexItem(pk, sk).delete()


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
