"""``make run``'s dispatcher: the code a DynamoDB Stream feeds in AWS, run from a background thread that polls the
outbox and the deliveries due every couple of seconds (chalicelib/services/dispatcher.py)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("loyalty.dispatcher")
INTERVAL_SECONDS = 2.0


class DispatcherLoop:
    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)

    def start(self) -> DispatcherLoop:
        self._thread.start()
        return self

    def _run(self) -> None:
        from chalicelib import runtime
        from chalicelib.services import dispatcher

        while not self._stop.wait(self._interval):
            try:
                dispatcher.poll(runtime.get().clock.now())
            except Exception:  # a pass that fails is logged; the next pass takes up what is left
                log.exception("dispatcher pass failed")

    def stop(self, timeout: float = 10) -> None:
        """Ask the loop to stop; wait for the pass under way at most ``timeout`` seconds (a daemon thread: a pass
        still running after that, a webhook waiting on its partner, ends with the process)."""
        self._stop.set()
        self._thread.join(timeout=timeout)
