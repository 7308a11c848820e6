"""The program settings in the table: one item (``PROGRAM`` / ``SETTINGS``), written whole under the ``updated_at``
it was read at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.db import keys
from chalicelib.db.maps import as_dict
from chalicelib.db.models import ProgramItem
from chalicelib.db.reads import Found, ReadKey, connection, get_one
from chalicelib.db.tx import Transaction

__all__ = ["StoredProgram", "from_found", "load", "read_key", "save"]


@dataclass(frozen=True)
class StoredProgram:
    settings: dict[str, Any]  # ProgramSettings' fields with the money settings at their first values, + "schedule"
    updated_at: str


def read_key() -> ReadKey:
    return (ProgramItem, *keys.program())


def from_found(found: Found) -> StoredProgram | None:
    item = found.get(keys.program())
    return None if item is None else StoredProgram(as_dict(item.settings), item.updated_at)


def load() -> StoredProgram | None:
    item = get_one(ProgramItem, *keys.program())
    return None if item is None else StoredProgram(as_dict(item.settings), item.updated_at)


def save(
    settings: dict[str, Any],
    now_iso: str,
    read: StoredProgram | None,
    also: Callable[[Transaction], None] | None = None,
) -> StoredProgram:
    """Write the settings whole, only if nobody wrote them since they were ``read`` (None: there were none). Raises
    ``TxCancelled`` if somebody did. ``also`` adds to the same transaction (the change's audit record)."""
    tx = Transaction()
    unchanged = ProgramItem.pk.does_not_exist() if read is None else ProgramItem.updated_at == read.updated_at
    tx.put(ProgramItem(*keys.program(), settings=settings, updated_at=now_iso), condition=unchanged)
    if also is not None:
        also(tx)
    tx.commit(connection())
    return StoredProgram(settings, now_iso)
