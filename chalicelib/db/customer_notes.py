"""What the messages the dispatcher causes keep in the table: the notes waiting for their time (a purchase note or a
tier reached, held back by quiet hours) and the runs that offer a campaign to its audience.

A note waits under ``NOTEDUE#<shard>`` / ``<due ISO>#<event id>``: an event dispatched twice waits once (its due time
is computed from the event's own instant, so both dispatches name the same key). Security notices (a spend made
without the customer's code) wait in a list of their own, ``NOTICEDUE#<shard>`` (:data:`NOTICES`): quiet hours never
hold them, and a night of purchase notes never stands in front of them. The send itself is guarded by the
customer's message mark (``db/messages.py``), claimed under a condition.

An offer run (``OFFERRUN`` / ``<campaign id>``) walks the partner-period index of the ledger (who shopped where, month
by month) a page at a time from its cursor: ``unit`` numbers the index partitions it reads in order, ``start_key``
is where its page starts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.models import EntryItem, _Item
from chalicelib.db.tx import error_code

__all__ = [
    "DUE_SHARDS",
    "NOTES",
    "NOTICES",
    "Note",
    "NoteDueItem",
    "OfferRun",
    "OfferRunItem",
    "customers_page",
    "defer",
    "done",
    "due",
    "open_run",
    "open_runs",
    "period_shards",
    "save_run",
]

DUE_SHARDS = 4
KEEP_NOTE = timedelta(days=3)  # a note still waiting then is dropped by DynamoDB (the service drops it sooner)
KEEP_RUN = timedelta(days=400)
RUNS_PK = "OFFERRUN"
NOTES = "NOTEDUE"  # the waiting list of notes quiet hours defer
NOTICES = "NOTICEDUE"  # the waiting list of security notices, sent at once


class NoteDueItem(_Item):
    """``NOTEDUE#<shard>`` / ``<due ISO>#<event id>``: a message to a customer waiting for its time."""

    customer_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # purchase_note | tier_reached | spend_notice
    event_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    created_at = UnicodeAttribute()  # the event's instant
    data = UnicodeAttribute(default="{}")  # JSON: points, tier
    ttl = NumberAttribute(null=True)


class OfferRunItem(_Item):
    """``OFFERRUN`` / ``<campaign id>``: a campaign offered to its audience, page by page."""

    event_id = UnicodeAttribute()
    status = UnicodeAttribute()  # open | done
    # JSON {"partners": [...], "months": [...]}: the index partitions read, each partner's months in turn (some 20
    # bytes a partner: a coalition of thousands of partners stays far below the 400 KB of an item)
    partitions = UnicodeAttribute()
    unit = NumberAttribute(default=0)  # which partition (x the index's shards) the cursor is in
    start_key = UnicodeAttribute(null=True)  # where the next page of that partition starts
    considered = NumberAttribute(default=0)
    sent = NumberAttribute(default=0)
    version = NumberAttribute(default=0)  # two passes never both move the cursor
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    ttl = NumberAttribute(null=True)


@dataclass(frozen=True)
class Note:
    customer_id: str
    kind: str
    event_id: str
    partner_id: str
    created_at: str
    due_at: str
    data: dict[str, Any] = field(default_factory=dict)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _due_key(note: Note, queue: str) -> tuple[str, str]:
    shard = int.from_bytes(note.event_id.encode()[-2:], "big") % DUE_SHARDS
    return f"{queue}#{shard}", f"{note.due_at}#{note.event_id}"


def defer(note: Note, now: datetime, queue: str = NOTES) -> None:
    """Put the note in the waiting list. Its key is the same however often its event is dispatched, so a second
    put only writes the same item again (the customer's message mark decides whether it goes out)."""
    item = NoteDueItem(
        *_due_key(note, queue),
        customer_id=note.customer_id,
        kind=note.kind,
        event_id=note.event_id,
        partner_id=note.partner_id,
        created_at=note.created_at,
        data=json.dumps(note.data, sort_keys=True),
        ttl=int((now + KEEP_NOTE).timestamp()),
    )
    item.save()


def due(now: datetime, limit: int, queue: str = NOTES) -> list[Note]:
    """Notes of ``queue`` due at or before ``now``, oldest first."""
    out: list[Note] = []
    for shard in range(DUE_SHARDS):
        items = NoteDueItem.query(
            f"{queue}#{shard}", NoteDueItem.sk <= f"{_utc(now)}#~", limit=limit, consistent_read=True
        )
        for i in items:
            due_at = i.sk.rsplit("#", 1)[0]
            data = json.loads(i.data)
            out.append(Note(i.customer_id, i.kind, i.event_id, i.partner_id, i.created_at, due_at, data))
    return sorted(out, key=lambda n: (n.due_at, n.event_id))[:limit]


def done(note: Note, queue: str = NOTES) -> None:
    """The note went out, or never will: it stops waiting (deleting twice is harmless)."""
    NoteDueItem(*_due_key(note, queue)).delete()


@dataclass
class OfferRun:
    campaign_id: str
    event_id: str
    partners: list[str]
    months: list[str]  # YYYY-MM
    status: str = "open"
    unit: int = 0
    start_key: str | None = None
    considered: int = 0
    sent: int = 0
    version: int = 0

    @property
    def partitions(self) -> list[tuple[str, str]]:
        """(partner id, period) in the order the run reads them."""
        return [(p, m) for p in self.partners for m in self.months]


def open_run(run: OfferRun, now: datetime) -> bool:
    """Start offering a campaign; False when it is (or was) offered already: one run per campaign, ever."""
    item = OfferRunItem(
        RUNS_PK,
        run.campaign_id,
        event_id=run.event_id,
        status="open",
        partitions=json.dumps({"partners": run.partners, "months": run.months}),
        created_at=now.isoformat(),
        updated_at=now.isoformat(),
        ttl=int((now + KEEP_RUN).timestamp()),
    )
    try:
        item.save(condition=OfferRunItem.sk.does_not_exist())
    except PutError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def open_runs() -> list[OfferRun]:
    items = OfferRunItem.query(RUNS_PK, filter_condition=OfferRunItem.status == "open", consistent_read=True)
    return [
        OfferRun(
            i.sk,
            i.event_id,
            *_partners_and_months(i.partitions),
            i.status,
            int(i.unit),
            i.start_key,
            int(i.considered),
            int(i.sent),
            int(i.version),
        )
        for i in items
    ]


def _partners_and_months(text: str) -> tuple[list[str], list[str]]:
    data = json.loads(text)
    return [str(p) for p in data["partners"]], [str(m) for m in data["months"]]


def save_run(run: OfferRun, now: datetime) -> bool:
    """Move the run's cursor, under the version it was read at; False when another pass moved it meanwhile."""
    item = OfferRunItem(RUNS_PK, run.campaign_id)
    actions: list[Action] = [
        OfferRunItem.status.set(run.status),
        OfferRunItem.unit.set(run.unit),
        OfferRunItem.considered.set(run.considered),
        OfferRunItem.sent.set(run.sent),
        OfferRunItem.version.set(run.version + 1),
        OfferRunItem.updated_at.set(now.isoformat()),
        OfferRunItem.start_key.set(run.start_key) if run.start_key else OfferRunItem.start_key.remove(),
    ]
    try:
        item.update(actions=actions, condition=OfferRunItem.version == run.version)
    except UpdateError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def customers_page(
    partner_id: str, period: str, shard: int, start_key: str | None, limit: int
) -> tuple[list[str], str | None]:
    """The customers of up to ``limit`` ledger entries of one partition of the partner's period index (one entry
    each: a customer shows up once per entry), and where the next page starts (None: the partition is read)."""
    partition = keys.partner_period_partitions(partner_id, period)[shard]
    start = json.loads(start_key) if start_key else None
    results = EntryItem.by_partner_period.query(partition, limit=limit, last_evaluated_key=start)
    page = [item.customer_id for item in results]
    last = results.last_evaluated_key
    return page, json.dumps(last, sort_keys=True) if last else None


def period_shards() -> int:
    return keys.PERIOD_SHARDS
