"""The events a change causes, built where the change is decided and committed with it (``Plan.events``, or
:func:`stage` for a write made outside ``idempotency.execute``); the dispatcher delivers them
(chalicelib/services/dispatcher.py). Data: ids, points and amounts; never a customer's personal data beyond the
customer id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import db, ids
from chalicelib.db import outbox as outbox_db
from chalicelib.domain.events import (
    ACCRUAL_CREATED,
    ADJUSTMENT_CREATED,
    BONUS_CREATED,
    BROADCAST,
    POINTS_EXPIRED,
    REDEMPTION_CAPTURED,
    REDEMPTION_CREATED,
    REDEMPTION_VOIDED,
    REFUND_CREATED,
    TIER_CHANGED,
    Event,
    expired_by_issuer,
)
from chalicelib.domain.periods import iso_instant
from chalicelib.domain.settlement import COALITION

__all__ = ["EntryFacts", "expired", "for_entry", "hold_released", "new", "stage", "tier_changed"]


def new(event_type: str, partner_id: str, now: datetime, **data: Any) -> Event:
    """An event of ``event_type`` that only ``partner_id``'s subscribers hear of; None values are left out."""
    return _event(event_type, partner_id, now, data)


def _event(event_type: str, partner_id: str, now: datetime, data: dict[str, Any]) -> Event:
    return Event(
        ids.sortable_id("evt", now),
        event_type,
        partner_id,
        iso_instant(now),
        {k: v for k, v in data.items() if v is not None},
    )


def stage(tx: db.Transaction, events: list[Event]) -> None:
    outbox_db.stage(tx, events)


def expired(customer_id: str, lots: dict[str, int], now: datetime) -> list[Event]:
    """``points.expired``, told to each partner whose issued points expired, its own points only. One outbox item
    however many partners issued them (the dispatcher splits it): the write that settles an expiry stays small."""
    shares = _shares(lots)
    if not shares:
        return []
    return [new(POINTS_EXPIRED, BROADCAST, now, customer_id=customer_id, by_issuer=shares)]


def _shares(lots: dict[str, int]) -> dict[str, int]:
    return {i: p for i, p in sorted(expired_by_issuer(lots).items()) if i and i != COALITION and p > 0}


def hold_released(customer_id: str, partner_id: str, order_id: str | None, points: int, now: datetime) -> list[Event]:
    """``redemption.voided`` (status ``expired``) for a hold that time released, told to the partner that held it."""
    data = {"customer_id": customer_id, "order_id": order_id, "points": points, "status": "expired"}
    return [new(REDEMPTION_VOIDED, partner_id, now, **data)]


def tier_changed(customer_id: str, partner_id: str, before: str, after: str, now: datetime) -> list[Event]:
    """``tier.changed`` told to the partner whose operation moved the customer, if the tier did change."""
    if before == after:
        return []
    return [new(TIER_CHANGED, partner_id, now, customer_id=customer_id, tier_before=before, tier=after)]


# The event each ledger entry type is, and the name its reference id goes by in the event's data.
_ENTRY_EVENTS: dict[str, tuple[str, str]] = {
    "accrual": (ACCRUAL_CREATED, "accrual_id"),
    "redemption": (REDEMPTION_CREATED, "redemption_id"),
    "hold": (REDEMPTION_CREATED, "redemption_id"),
    "capture": (REDEMPTION_CAPTURED, "redemption_id"),
    "void": (REDEMPTION_VOIDED, "redemption_id"),
    "refund": (REFUND_CREATED, "refund_id"),
    "bonus": (BONUS_CREATED, "bonus_id"),
    "adjustment": (ADJUSTMENT_CREATED, "adjustment_id"),
}


def for_entry(entry: EntryFacts, now: datetime) -> list[Event]:
    """The events a ledger entry of a till or the operator causes. A partner's own operation is told to that
    partner; an operator's adjustment, which has no partner of its own, to each partner whose issued points it
    takes."""
    kind = _ENTRY_EVENTS.get(entry.entry_type)
    if kind is None:
        return []
    event_type, ref_name = kind
    data: dict[str, Any] = {
        "customer_id": entry.customer_id,
        ref_name: entry.ref_id,
        "order_id": entry.order_id,
        "amount_minor": entry.amount_minor,
        "points": entry.points,
        "status": entry.status,
        "balance_available": entry.balance_available,
        **entry.extra,
    }
    if entry.entry_type != "adjustment":
        return [_event(event_type, entry.partner_id, now, data)]  # ``new`` without copying ``data`` into its kwargs
    shares = {issuer: -points for issuer, points in _shares(entry.lots).items()}  # a debit takes points
    return [new(event_type, BROADCAST, now, **data, by_issuer=shares)] if shares else []


@dataclass  # not frozen: built once per entry and only read (a frozen dataclass's __init__ costs twice as much)
class EntryFacts:
    """What an event tells of a ledger entry: ids, points and amounts only."""

    entry_type: str
    customer_id: str
    partner_id: str
    points: int
    balance_available: int
    lots: dict[str, int]
    ref_id: str | None = None
    order_id: str | None = None
    amount_minor: int | None = None
    status: str | None = None
    extra: dict[str, int] = field(default_factory=dict)  # a refund's points reversed and returned
