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


def test_the_final_save_comes_before_the_stop_deadline_whatever_the_dispatcher_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispatcher pass in the middle of a webhook attempt (5 s timeout each, several per pass) at SIGTERM."""
    from local import run
    from local.dispatcher_loop import DispatcherLoop

    class MidDelivery(DispatcherLoop):
        def _run(self) -> None:
            time.sleep(6)  # one pass: a partner's endpoint that accepts and never answers

    saved_at: list[float] = []
    real = saved_tables.write_private

    def noting(path: Path, text: str) -> None:
        real(path, text)
        saved_at.append(time.monotonic())

    monkeypatch.setattr(saved_tables, "write_private", noting)
    app = _App()
    app.writes = 1
    saver = SavedTables(tmp_path / "dynamodb.json", app)
    running = run._Running(dispatcher=MidDelivery().start(), saver=saver)
    signalled = time.monotonic()
    threading.Thread(target=running.stop, daemon=True).start()
    time.sleep(run.STOP_DEADLINE_SECONDS)  # then _Stopper._force: os._exit(1), "data saved at the last save"
    assert saved_at and saved_at[0] - signalled < run.STOP_DEADLINE_SECONDS, "the process would end unsaved"
