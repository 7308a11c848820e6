"""The audit log's items (``domain/audit.py`` says what a record is).

One item per record, put with a fresh key under ``attribute_not_exists`` in the transaction of the change itself.
Its partition is its actor (``AUDITBY#<actor>``); it also carries ``gsi1`` keys for its partner (``AUDITP#<partner>``,
absent for the operator's own records, which no partner may read) and ``gsi2`` keys for the whole log
(``AUDIT#ALL``), each with the sort key ``<instant>#<audit id>``. The table's two indexes are shared with the ledger
entries: the audit keys have their own prefixes, so they never meet an entry's. Listing is a Query, newest first,
one key range per page: no scan. See docs/data-model.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import QueryError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db import keys
from chalicelib.db.models import GSI_CUSTOMER_AT_PARTNER, GSI_PARTNER_PERIOD, _Item
from chalicelib.db.tx import Transaction
from chalicelib.domain.audit import Record

__all__ = ["AuditItem", "InvalidStart", "Listing", "Page", "add", "page"]

Listing = Literal["all", "partner", "actor"]
PAGE_READS = 100  # items read per Query call when a filter may skip most of them
MAX_CALLS = 5  # Query calls per page: a rare action costs at most 500 items read, then the page ends with a cursor


class InvalidStart(Exception):
    """DynamoDB refused the start key (a cursor that is not one this API made)."""


class _ByPartner(GlobalSecondaryIndex["AuditItem"]):
    class Meta:
        index_name = GSI_CUSTOMER_AT_PARTNER
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _All(GlobalSecondaryIndex["AuditItem"]):
    class Meta:
        index_name = GSI_PARTNER_PERIOD
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class AuditItem(_Item):
    """``AUDITBY#<actor>`` / ``<instant>#<audit id>``: one immutable audit record. ``before`` and ``after`` are JSON
    text (bounded by ``domain.audit.bounded``), kept exactly as the change declared them."""

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    by_partner = _ByPartner()
    everything = _All()

    audit_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute()
    before = UnicodeAttribute(null=True)
    after = UnicodeAttribute(null=True)


def add(tx: Transaction, record: Record) -> None:
    """Put the record in the change's own transaction: it lands with the change or not at all."""
    sort = keys.audit_sort(record.at, record.audit_id)
    pk, sk = keys.audit(record.actor, sort)
    item = AuditItem(
        pk,
        sk,
        gsi1pk=keys.audit_partner(record.partner_id) if record.partner_id else None,
        gsi1sk=sort if record.partner_id else None,
        gsi2pk=keys.AUDIT_ALL,
        gsi2sk=sort,
        audit_id=record.audit_id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        target=record.target,
        partner_id=record.partner_id,
        request_id=record.request_id,
        before=None if record.before is None else json.dumps(record.before, sort_keys=True),
        after=None if record.after is None else json.dumps(record.after, sort_keys=True),
    )
    tx.mark(item, tag="audit")


def _record(item: AuditItem) -> Record:
    return Record(
        audit_id=item.audit_id,
        at=item.at,
        actor=item.actor,
        action=item.action,
        target=item.target,
        partner_id=item.partner_id,
        request_id=item.request_id,
        before=None if item.before is None else json.loads(item.before),
        after=None if item.after is None else json.loads(item.after),
    )


@dataclass(frozen=True)
class Page:
    records: list[Record]
    last: dict[str, str] | None  # where the next page starts: the key attributes of the last record read


def _key_of(item: AuditItem, listing: Listing) -> dict[str, str]:
    """The start key DynamoDB wants after ``item`` in ``listing``: the table's keys and the index's."""
    key = {"pk": item.pk, "sk": item.sk}
    if listing == "partner" and item.gsi1pk and item.gsi1sk:
        key.update(gsi1pk=item.gsi1pk, gsi1sk=item.gsi1sk)
    if listing == "all":
        key.update(gsi2pk=item.gsi2pk, gsi2sk=item.gsi2sk)
    return key


def partition(listing: Listing, value: str) -> str:
    """The partition a listing reads: the whole log, a partner's, an actor's."""
    if listing == "all":
        return keys.AUDIT_ALL
    if listing == "partner":
        return keys.audit_partner(value)
    return keys.audit(value, "")[0]


def page(
    listing: Listing,
    value: str,
    *,
    limit: int,
    start: dict[str, str] | None,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    actor: str | None = None,
) -> Page:
    """Up to ``limit`` records newest first from one partition (:func:`partition`), after ``start``, with instants
    in ``[since, until)`` and, when given, only one action or actor (filters: a page then reads at most
    :data:`MAX_CALLS` x :data:`PAGE_READS` items and may come back short, with where to go on)."""
    hash_key = partition(listing, value)
    query: Any = {"actor": AuditItem, "partner": AuditItem.by_partner, "all": AuditItem.everything}[listing]
    sort_attr: Any = {"actor": AuditItem.sk, "partner": AuditItem.gsi1sk, "all": AuditItem.gsi2sk}[listing]
    range_condition = _range(sort_attr, since, until)
    conditions = [c for c in (_eq(AuditItem.action, action), _eq(AuditItem.actor, actor)) if c is not None]
    filtered = bool(conditions)
    wanted: Any = None
    for c in conditions:
        wanted = c if wanted is None else wanted & c
    out: list[Record] = []
    last: dict[str, str] | None = None
    raw_start: dict[str, Any] | None = {k: {"S": v} for k, v in start.items()} if start else None
    try:
        for _ in range(MAX_CALLS if filtered else 1):
            results = query.query(
                hash_key,
                range_condition,
                filter_condition=wanted,
                scan_index_forward=False,
                limit=(limit - len(out)) if not filtered else None,
                page_size=PAGE_READS if filtered else limit - len(out),
                last_evaluated_key=raw_start,
            )
            pages = results.page_iter
            batch = next(pages)
            for raw in batch.get("Items", []):
                item = AuditItem.from_raw_data(raw)
                out.append(_record(item))
                last = _key_of(item, listing)
                if len(out) == limit:
                    return Page(out, last)
            evaluated = pages.last_evaluated_key
            if evaluated is None:
                return Page(out, None)
            last = {k: v["S"] for k, v in evaluated.items()}
            raw_start = evaluated
    except QueryError as exc:
        raise InvalidStart(str(exc)) from exc
    return Page(out, last)


def _range(attr: Any, since: str | None, until: str | None) -> Condition | None:
    if since is not None and until is not None:
        return attr.between(since, until)  # type: ignore[no-any-return]
    if since is not None:
        return attr >= since  # type: ignore[no-any-return]
    if until is not None:
        return attr <= until  # type: ignore[no-any-return]
    return None


def _eq(attr: Any, value: str | None) -> Condition | None:
    return None if value is None else attr == value
