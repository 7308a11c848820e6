"""Process-wide wiring: settings, the clock and the model binding, created lazily on first request.

Tests and ``make run`` call :func:`configure` before the first request to inject a clock or another table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chalicelib import cache, db
from chalicelib.clock import Clock, SystemClock
from chalicelib.config import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    clock: Clock


_lock = threading.Lock()
_runtime: Runtime | None = None


def configure(settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
    global _runtime
    with _lock:
        settings = settings or Settings.from_env()
        db.bind(settings.table_name, settings.region, settings.dynamodb_endpoint)
        db.reads.reset_connection()
        db.reads.share_client()
        cache.clear()
        _runtime = Runtime(settings=settings, clock=clock or SystemClock())
        return _runtime


def get() -> Runtime:
    return _runtime or configure()
