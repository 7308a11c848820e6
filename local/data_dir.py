"""Where ``make run`` keeps its data between runs: ``LOYALTY_DATA_DIR``, or ``.local/`` at the repository root
(gitignored). Readable by this user only (0700, files 0600): it holds the tables, and the secrets that make yesterday's
keys and links still work today.

- ``dynamodb.json``: the embedded tables (local/saved_tables.py).
- ``secrets.json``: the key pepper and the link-signing secret (random, made on the first run; the variables
  LOYALTY_KEY_PEPPER and LOYALTY_PORTAL_SECRET win when set), the operator key, and the demo's keys and customers.
  API keys are stored hashed in the table, so this file is the only place ``make run`` can print them from again.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.saved_tables import write_private

ROOT = Path(__file__).resolve().parent.parent
_held: list[int] = []


@dataclass(frozen=True)
class DataDir:
    path: Path

    @classmethod
    def from_env(cls) -> DataDir:
        return cls(Path(os.environ.get("LOYALTY_DATA_DIR") or ROOT / ".local").resolve())

    @property
    def tables(self) -> Path:
        return self.path / "dynamodb.json"

    @property
    def _secrets(self) -> Path:
        return self.path / "secrets.json"

    def lock(self) -> int | None:
        """Hold this data for this process's lifetime (the kernel lets go when it ends, a crash too): None, or the
        pid of the ``make run`` that already holds it. Two runs on one data directory would save over each other's
        tables, and a ``FRESH=1`` one would move the other's data and secrets aside under it."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            return int(holder) if holder.isdigit() else -1
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        _held.append(fd)  # never closed: closing would release the lock
        return None

    def has_data(self) -> bool:
        return self.tables.exists()

    def start_fresh(self) -> None:
        """FRESH=1: the saved data and secrets move aside to ``*.previous`` (one generation, in case it was a slip)."""
        for path in (self.tables, self._secrets):
            if path.exists():
                path.replace(path.with_name(path.name + ".previous"))

    def _read(self) -> dict[str, Any]:
        if not self._secrets.exists():
            return {}
        loaded = json.loads(self._secrets.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else {}

    def _write(self, values: dict[str, Any]) -> None:
        write_private(self._secrets, json.dumps(values, ensure_ascii=False, indent=2))

    def secrets(self) -> dict[str, str]:
        """The pepper, the link secret and the operator key of this data: made once, then the same every run."""
        values = self._read()
        made = {
            "key_pepper": lambda: secrets.token_urlsafe(32),
            "portal_secret": lambda: secrets.token_urlsafe(32),
            "operator_key": lambda: "op_" + secrets.token_urlsafe(24),
        }
        missing = [name for name in made if not values.get(name)]
        for name in missing:
            values[name] = made[name]()
        if missing:
            self._write(values)
        return {name: str(values[name]) for name in made}

    def demo(self) -> dict[str, Any] | None:
        """The demo's partners (keys included) and customers as seeded into this data, if it was."""
        demo = self._read().get("demo")
        return demo if isinstance(demo, dict) else None

    def save_demo(self, partners: dict[str, dict[str, Any]], customers: dict[str, str]) -> None:
        values = self._read()
        values["demo"] = {"partners": partners, "customers": customers}
        self._write(values)
