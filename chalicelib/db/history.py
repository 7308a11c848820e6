"""Reading posted ledger entries back: a customer's history page (newest first, all of it or at one partner) and a
partner's entries of one period (the settlement's reconciliation). Writing them is ``chalicelib/db/entries.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import QueryError

from chalicelib.db import keys
from chalicelib.db.maps import as_dict, ints
from chalicelib.db.models import EntryItem

__all__ = ["InvalidCursor", "PostedEntry", "customer_history", "orders_since", "period_entries", "period_page"]


class InvalidCursor(Exception):
    """DynamoDB refused the page's start key: it is not one this API returned."""


@dataclass(frozen=True)
class PostedEntry:
    sort_key: str  # E#<entry id>: where the next page starts
    entry_id: str
    type: str
    partner_id: str
    created_at: str
    available_delta: int
    pending_delta: int
    held_delta: int
    amount_minor: int | None = None
    order_id: str | None = None
    ref_id: str | None = None
    lots: dict[str, int] = field(default_factory=dict)  # lot key -> signed points moved in that lot
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return self.available_delta + self.pending_delta + self.held_delta


def _posted(item: EntryItem) -> PostedEntry:
    return PostedEntry(
        sort_key=item.sk,
        entry_id=item.entry_id,
        type=item.type,
        partner_id=item.partner_id,
        created_at=item.created_at,
        available_delta=int(item.available_delta),
        pending_delta=int(item.pending_delta),
        held_delta=int(item.held_delta),
        amount_minor=int(item.amount_minor) if item.amount_minor is not None else None,
        order_id=item.order_id,
        ref_id=item.ref_id,
        lots=ints(item.lots),
        details=as_dict(item.details) if item.details else {},
    )


def customer_history(customer_id: str, partner_id: str | None, limit: int, after: str | None) -> list[PostedEntry]:
    """Up to ``limit`` entries newest first, starting after the entry whose sort key is ``after``; only those made at
    ``partner_id`` (its index) unless it is None. One query; :class:`InvalidCursor` if DynamoDB refuses ``after``."""
    pk, _ = keys.customer(customer_id)
    start: dict[str, Any] | None = None
    if after is not None:
        start = {"pk": {"S": pk}, "sk": {"S": after}}
        if partner_id is not None:
            start["gsi1pk"] = {"S": keys.customer_at_partner(partner_id, customer_id)}
            start["gsi1sk"] = {"S": after}
    try:
        if partner_id is None:
            results = EntryItem.query(
                pk,
                EntryItem.sk.startswith(keys.ENTRY_PREFIX),
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
                consistent_read=True,
            )
        else:
            results = EntryItem.by_customer_at_partner.query(
                keys.customer_at_partner(partner_id, customer_id),
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
            )
        return [_posted(item) for item in results]
    except QueryError as exc:
        raise InvalidCursor(str(exc)) from exc


def period_entries(partner_id: str, period: str) -> Iterator[PostedEntry]:
    """Every entry indexed under the partner's period (all its shards), in no particular order."""
    for partition in keys.partner_period_partitions(partner_id, period):
        for item in EntryItem.by_partner_period.query(partition):
            yield _posted(item)


def period_page(partition: str, start_key: str | None, limit: int) -> tuple[list[PostedEntry], str | None]:
    """One page of a partner-period index partition (:func:`keys.partner_period_partitions`): up to ``limit``
    entries after ``start_key`` (JSON of DynamoDB's LastEvaluatedKey, as this returned it), and where the next page
    starts (None: the partition is read to its end)."""
    start = json.loads(start_key) if start_key else None
    results = EntryItem.by_partner_period.query(partition, limit=limit, last_evaluated_key=start)
    page = [_posted(item) for item in results]
    last = results.last_evaluated_key
    return page, json.dumps(last, sort_keys=True) if last else None


def orders_since(partner_id: str, period: str, since_key: str, order_prefix: str, limit: int) -> list[PostedEntry]:
    """The partner's entries of ``period`` posted at or after ``since_key`` (an entry sort key: entry ids sort by
    time) whose order id starts with ``order_prefix``: a till's receipts of one shift. At most ``limit`` per
    shard of the partner's period index, newest first within each."""
    out: list[PostedEntry] = []
    for partition in keys.partner_period_partitions(partner_id, period):
        results = EntryItem.by_partner_period.query(
            partition,
            EntryItem.gsi2sk >= since_key,
            filter_condition=EntryItem.order_id.startswith(order_prefix),
            scan_index_forward=False,
            limit=limit,
        )
        out += [_posted(item) for item in results]
    return out
