"""Hostile tests of make run's local stack (local/): each one reproduces a defect found in review."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from local.saved_tables import SavedTables

REGION = "eu-central-1"


class _App:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0


def test_the_last_save_while_the_timer_is_still_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stop() joins the timer for 2 s only: a slow timer save (a big table, a slow disk) then runs beside the final
    save, both through the same .tmp file."""
    app = _App()
    path = tmp_path / "dynamodb.json"
    saver = SavedTables(path, app)
    real_fsync = os.fsync
    in_fsync = threading.Event()

    def slow_fsync(fd: int) -> None:
        if threading.current_thread().name == "timer-save":
            in_fsync.set()
            time.sleep(0.5)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    saver.carried = {"old": [{"pk": {"S": "1"}}]}
    app.writes = 1
    errors: list[BaseException] = []

    def timer_save() -> None:
        try:
            saver.save()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    timer = threading.Thread(target=timer_save, name="timer-save")
    timer.start()
    in_fsync.wait(5)
    saver.carried = {"old": [{"pk": {"S": "1"}}], "new": [{"pk": {"S": "2"}}]}  # a write after the timer's snapshot
    app.writes = 2
    try:
        saver.save()  # the final save of stop()
    except BaseException as exc:  # noqa: BLE001
        errors.append(exc)
    timer.join()
    assert errors == []
    assert set(json.loads(path.read_text())["tables"]) == {"old", "new"}  # the newest snapshot is on disk
