"""The audit log's record: who changed what, when, from which value to which, in which request.

A record is written in the transaction of the change it describes (``machinery.idempotency`` adds it to the plan's
transaction; a direct write adds it to its own), so a change and its record land together or not at all, and a
request replayed after a lost answer finds its change done and writes no second record.

Values are small JSON maps. A change's values are bounded (:data:`MAX_VALUE_BYTES` of JSON each): a larger value is
kept as a marker naming its size and its first keys, so a record never nears DynamoDB's 400 KB item limit and a
large change is never refused for its record's sake."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

# What a record's ``action`` may say: "<what>.<verb>". Partners and pages filter on these names.
ACTIONS = frozenset(
    {
        "program.updated",
        "partner.created",
        "partner.updated",
        "partner.suspended",
        "partner.resumed",
        "key.created",
        "key.rotated",
        "key.revoked",
        "campaign.created",
        "campaign.launched",
        "campaign.paused",
        "campaign.ended",
        "campaign.accepted",
        "campaign.declined",
        "adjustment.created",
        "settlement.closed",
        "payment.recorded",
        "staff.added",
        "staff.removed",
        "staff.role_changed",
    }
)
MAX_VALUE_BYTES = 8192  # one value's JSON; two values and the rest stay far inside 400 KB
TRUNCATED = "_truncated"  # the marker key of a value too large to keep whole
MARKER_KEYS = 20  # how many of a truncated value's keys the marker names


@dataclass(frozen=True)
class Change:
    """What a service declares about a change it makes: the action, its target ("partner:<id>", "campaign:<id>"),
    the partner whose log shows it (None: the operator's log only), and the values before and after."""

    action: str
    target: str
    partner_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")


@dataclass(frozen=True)
class Stamp:
    """Who made the change and in which request: ``actor`` is "key:<key id>" or "staff:<staff id>"."""

    actor: str
    request_id: str
    at: datetime


@dataclass(frozen=True)
class Record:
    """A record as stored and shown: ``at`` in UTC with microseconds (its sort order is its time order)."""

    audit_id: str
    at: str
    actor: str
    action: str
    target: str
    partner_id: str | None
    request_id: str
    before: dict[str, Any] | None = field(default=None)
    after: dict[str, Any] | None = field(default=None)


def actor_of(principal: Any) -> str:
    """ "key:<key id>" for an API key, or the name a principal gives itself (a staff member: "staff:<id>")."""
    if principal is None:
        return ""
    named = getattr(principal, "actor", None)
    return named if isinstance(named, str) and named else f"key:{principal.key_id}"


def instant(moment: datetime) -> str:
    """``2026-12-06T15:19:41.123456Z``: fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bounded(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The value as kept: whole when its JSON fits :data:`MAX_VALUE_BYTES`, else a marker (its size, first keys)."""
    if value is None:
        return None
    whole = dict(value)
    size = len(json.dumps(whole, default=str, ensure_ascii=False).encode())
    if size <= MAX_VALUE_BYTES:
        kept: dict[str, Any] = json.loads(json.dumps(whole, default=str))
        return kept
    return {TRUNCATED: True, "bytes": size, "keys": sorted(str(k) for k in whole)[:MARKER_KEYS]}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what differs: the fields of ``after`` whose value is not the one in ``before``, each side's value."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(change: Change, stamp: Stamp, audit_id: str) -> Record:
    return Record(
        audit_id=audit_id,
        at=instant(stamp.at),
        actor=stamp.actor,
        action=change.action,
        target=change.target,
        partner_id=change.partner_id,
        request_id=stamp.request_id,
        before=bounded(change.before),
        after=bounded(change.after),
    )


def period_range(period: str, tz_name: str) -> tuple[str, str]:
    """The instants (as :func:`instant` writes them) of a month's start and of the next month's, in the program's
    time zone: the records of ``period`` are those sorted from the first up to, not including, the second."""
    year, month = (int(part) for part in period.split("-"))
    zone = ZoneInfo(tz_name)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return instant(start), instant(end)
