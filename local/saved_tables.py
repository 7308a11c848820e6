"""The embedded DynamoDB's tables on disk, so ``make run`` keeps its data across restarts.

Saved as DynamoDB JSON (the wire format, one list of items per table) in ``<data dir>/dynamodb.json``, mode 0600:
every few seconds when a request may have written, and at shutdown. A save reads the items under the server's lock
(no request half-applied in the file) and replaces the file atomically (a crash mid-save keeps the previous one).
At start, the items go back into the tables the app has just created (their schema comes from the code, so a new
index applies to old data too); a table the app no longer creates is carried along untouched.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

FORMAT = 1
SAVE_EVERY_SECONDS = 5.0


class SavedDataError(RuntimeError):
    """The saved file cannot be read back: starting empty would overwrite it, so ``make run`` stops instead."""


def _backend_tables() -> dict[str, Any]:
    """Every table of the embedded DynamoDB, by name (``make run`` uses one account and one region)."""
    from moto.dynamodb.models import dynamodb_backends

    tables: dict[str, Any] = {}
    for regions in dynamodb_backends.values():
        for backend in regions.values():
            tables.update(backend.tables)
    return tables


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path`` readable by this user only, replacing it atomically. Each call writes its own
    temporary file: two writers never share (and truncate) one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _base64(value: object) -> str:
    """moto keeps B and BS values as bytes: on disk they are base64, as on the wire."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _binary(value: Any) -> Any:
    """A saved attribute value as moto holds it: B and BS back to bytes, at any depth."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((kind, inner),) = value.items()
    if kind == "B" and isinstance(inner, str):
        return {"B": base64.b64decode(inner)}
    if kind == "BS" and isinstance(inner, list):
        return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in inner]}
    if kind == "M" and isinstance(inner, dict):
        return {"M": {k: _binary(v) for k, v in inner.items()}}
    if kind == "L" and isinstance(inner, list):
        return {"L": [_binary(v) for v in inner]}
    return value


class Served(Protocol):
    """The embedded DynamoDB's server app (local/servers.py): its lock, a count of requests that may have written."""

    lock: threading.Lock
    writes: int


class SavedTables:
    def __init__(self, path: Path, app: Served) -> None:
        self.path = path
        self.lock = app.lock
        self.app = app
        self.saved_at_writes = -1
        self.carried: dict[str, list[dict[str, Any]]] = {}
        self._saving = threading.Lock()  # one save at a time: the timer's and the last one never overlap
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restore(self) -> int:
        """Put the saved items back into the embedded tables; the number of items restored."""
        if not self.path.exists():
            return 0
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            if saved.get("format") != FORMAT:
                raise SavedDataError(f"{self.path}: format {saved.get('format')!r}, expected {FORMAT}")
            restored = 0
            with self.lock:
                tables = _backend_tables()
                for name, items in saved["tables"].items():
                    if name not in tables:
                        self.carried[name] = items
                        continue
                    for attributes in items:
                        tables[name].put_item({k: _binary(v) for k, v in attributes.items()})
                    restored += len(items)
                self.saved_at_writes = self.app.writes
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SavedDataError(f"cannot read {self.path}: {exc}") from exc
        return restored

    def save(self) -> bool:
        """Write the tables if a request may have changed them since the last save; True if written."""
        with self._saving:
            return self._save()

    def _save(self) -> bool:
        with self.lock:
            writes = self.app.writes
            if writes == self.saved_at_writes:
                return False
            tables = {
                name: [item.to_json()["Attributes"] for item in table.all_items()]
                for name, table in _backend_tables().items()
            }
            # Serialized under the lock: a set or a list in an item may be shared with moto's copy of it.
            text = json.dumps({"format": FORMAT, "tables": {**self.carried, **tables}}, default=_base64)
        write_private(self.path, text)
        self.saved_at_writes = writes
        return True

    def start(self, every: float = SAVE_EVERY_SECONDS) -> None:
        """Save on a timer until :meth:`stop`."""

        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.save()
                except Exception as exc:  # noqa: BLE001 - a full disk, a permission: say so, try again next time
                    print(f"Could not save {self.path}: {exc} (will try again)", file=sys.stderr, flush=True)

        self._thread = threading.Thread(target=loop, name="save-tables", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer and save one last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.save()
