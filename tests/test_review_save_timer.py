"""Hostile tests of make run's local stack (local/): each one reproduces a defect found in review."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from local import saved_tables
from local.saved_tables import SavedTables

REGION = "eu-central-1"


class _App:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0


def test_one_failed_save_does_not_stop_the_timer_for_good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _App()
    saver = SavedTables(tmp_path / "dynamodb.json", app)
    real = saved_tables.write_private
    failures = [OSError(28, "No space left on device")]

    def flaky(path: Path, text: str) -> None:
        if failures:
            raise failures.pop()
        real(path, text)

    monkeypatch.setattr(saved_tables, "write_private", flaky)
    app.writes = 1
    saver.start(every=0.05)
    try:
        deadline = time.monotonic() + 3
        while not (tmp_path / "dynamodb.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "dynamodb.json").exists(), "the disk came back, yet nothing was saved again"
    finally:
        saver._stop.set()
