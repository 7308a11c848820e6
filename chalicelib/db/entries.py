"""Ledger entries and the settlement counters they feed, written in the transaction of the change they record.

An entry lives in its customer's partition (newest first by sort key) and in two indexes: the customer at a partner
(``gsi1``) and the partner's period, sharded (``gsi2``). The counters are the partners' period figures
(:func:`chalicelib.domain.settlement.entry_deltas`), one shard per transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.db import keys
from chalicelib.db.models import EntryItem
from chalicelib.db.new_items import writer
from chalicelib.db.tx import Transaction
from chalicelib.domain.settlement import Figures
from chalicelib.domain.wallet import Change

__all__ = ["NewEntry", "add_figures", "put"]

_ENTRY = writer(EntryItem)  # ``wire_item(EntryItem, ...)``, its attributes named at the call


@dataclass(frozen=True)
class NewEntry:
    """An immutable ledger entry: exactly the wallet change it travels with, and what it was about."""

    entry_id: str
    customer_id: str
    partner_id: str
    entry_type: str
    period: str  # YYYY-MM in the program's timezone
    created_at: str
    change: Change
    details: Mapping[str, Any]  # free-form per entry type; always the money settings it was made at
    amount_minor: int | None = None
    order_id: str | None = None
    ref_id: str | None = None


def put(tx: Transaction, entry: NewEntry) -> None:
    pk, sk = keys.entry(entry.customer_id, entry.entry_id)
    lots = entry.change.lots  # the lots the change moves; a lot it leaves as it was is not recorded
    if not all(lots.values()):  # (nearly never: the writer only reads the change's own map)
        lots = {k: v for k, v in lots.items() if v}
    tx.put_raw(
        EntryItem,
        _ENTRY(
            pk,
            sk,
            gsi1pk=keys.customer_at_partner(entry.partner_id, entry.customer_id),
            gsi1sk=sk,
            gsi2pk=keys.partner_period(entry.partner_id, entry.period, entry.entry_id),
            gsi2sk=sk,
            entry_id=entry.entry_id,
            customer_id=entry.customer_id,
            partner_id=entry.partner_id,
            type=entry.entry_type,
            period=entry.period,
            created_at=entry.created_at,
            available_delta=entry.change.available,
            pending_delta=entry.change.pending,
            held_delta=entry.change.held,
            amount_minor=entry.amount_minor,
            order_id=entry.order_id,
            ref_id=entry.ref_id,
            lots=lots,
            details=entry.details,  # written as it is: nothing keeps it
        ),
    )


def add_figures(tx: Transaction, period: str, figures: Mapping[str, Figures]) -> None:
    """Add each partner's figures to its counter shard for ``period``: the declared counts by name, points
    accepted by issuer as ``flow_<issuer>`` and expired points by issuer as ``exp_<issuer>``."""
    for partner, partner_figures in figures.items():
        amounts = {name: n for name, n in partner_figures.counts.items() if n}
        if partner_figures.flows:
            amounts |= {f"flow_{issuer}": n for issuer, n in partner_figures.flows.items() if n}
        if partner_figures.expired_by_issuer:
            amounts |= {f"exp_{issuer}": n for issuer, n in partner_figures.expired_by_issuer.items() if n}
        tx.add_to_counter(*keys.counter(partner, period, tx.counter_shard), amounts)
