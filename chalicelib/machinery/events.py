"""The events a change causes, built where the change is decided and committed with it (``Plan.events``, or
:func:`stage` for a write made outside ``idempotency.execute``); the dispatcher delivers them
(chalicelib/services/dispatcher.py). Data: ids, points and amounts; never a customer's personal data beyond the
customer id."""

from __future__ import annotations

from collections.abc import Mapping
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
from chalicelib.domain.wallet import Change

__all__ = ["expired", "for_entry", "hold_released", "new", "stage", "tier_changed"]


def new(event_type: str, partner_id: str, now: datetime, **data: Any) -> Event:
    """An event of ``event_type`` that only ``partner_id``'s subscribers hear of; None values are left out."""
    return _event(event_type, partner_id, now, data)


def _event(event_type: str, partner_id: str, now: datetime, data: dict[str, Any]) -> Event:
    return Event.of(
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


def for_entry(
    entry_type: str,
    customer_id: str,
    partner_id: str,
    change: Change,
    balance_available: int,
    entry: Mapping[str, Any],
    now: datetime,
) -> list[Event]:
    """The events a ledger entry of a till or the operator causes (``entry``: its ``EntryFields``; ``change``: the
    change it records, ``balance_available``: the wallet's after it). A partner's own operation is told to that
    partner; an operator's adjustment, which has no partner of its own, to each partner whose issued points it
    takes. Data: ids, points and amounts only, the points as the partner counts them."""
    kind = _ENTRY_EVENTS.get(entry_type)
    if kind is None:
        return []
    event_type, ref_name = kind
    details = entry.get("details") or {}
    if entry_type in ("capture", "void"):
        points = int(details.get("captured" if entry_type == "capture" else "released", 0))
    elif entry_type == "hold":
        points = change.held
    else:
        points = abs(change.available + change.pending)
    # The event's data in one step, None values left out as ``_event`` leaves them out (no facts object in
    # between, no second dict); the keys in the same order.
    data: dict[str, Any] = {"customer_id": customer_id}
    if (ref_id := entry.get("ref_id")) is not None:
        data[ref_name] = ref_id
    if (order_id := entry.get("order_id")) is not None:
        data["order_id"] = order_id
    if (amount_minor := entry.get("amount_minor")) is not None:
        data["amount_minor"] = amount_minor
    data["points"] = points
    status = _STATUS.get(entry_type)
    if status is not None:
        data["status"] = status
    data["balance_available"] = balance_available
    for name in ("points_reversed", "points_returned"):  # a refund's points reversed and returned
        if name in details:
            data[name] = int(details[name])
    if entry_type != "adjustment":
        return [Event.of(ids.sortable_id("evt", now), event_type, partner_id, iso_instant(now), data)]
    shares = {issuer: -points for issuer, points in _shares(change.lots).items()}  # a debit takes points
    return [new(event_type, BROADCAST, now, **data, by_issuer=shares)] if shares else []


_STATUS = {"redemption": "captured", "hold": "held"}  # the status an entry's event tells, for the entries that have one
