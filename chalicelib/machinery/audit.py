"""The audit log's write side: the records a change adds to its own transaction (``domain/audit.py`` says what a
record is; ``services/audit_log.py`` reads them)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import db, ids
from chalicelib.db import audit as audit_db
from chalicelib.domain.audit import Change, Stamp, record

__all__ = ["SCHEDULE", "Change", "Stamp", "add", "also"]

SCHEDULE = "system:schedule"  # the actor of what the scheduled jobs change (closing last month)


def add(tx: db.Transaction, changes: list[Change], stamp: Stamp) -> None:
    """Put one record per change into the change's own transaction (a fresh id each: a retry that decides again
    builds a new transaction, and only one of them commits)."""
    for change in changes:
        audit_db.add(tx, record(change, stamp, ids.sortable_id("aud", stamp.at)))


def also(changes: list[Change], stamp: Stamp) -> Callable[[db.Transaction], None] | None:
    """For a write that builds its own transaction: what adds the records to it (None: nothing to record)."""
    if not changes:
        return None
    return lambda tx: add(tx, changes, stamp)
