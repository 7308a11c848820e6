"""Scheduled work. Each job is safe to run twice or concurrently: it only settles what time has already done, and
every settlement is a guarded transaction (a second run finds nothing left to do)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib import db
from chalicelib.db import jobs as jobs_db
from chalicelib.db import wallets as wallets_db
from chalicelib.domain import add_months, period_of
from chalicelib.errors import Unavailable
from chalicelib.services import program
from chalicelib.services import wallets as wallet
from chalicelib.services.idempotency import MAX_ATTEMPTS, backoff

log = logging.getLogger("loyalty.jobs")
LOOKBACK_MONTHS = 36  # months the expiry job re-checks for unfinished work


@dataclass
class ExpiryRun:
    months: list[str]
    customers: int = 0
    settled: int = 0


def settle_customer(customer_id: str, now: datetime) -> bool:
    """Commit whatever time has done to one customer's wallet; False when there was nothing to do."""
    for attempt in range(MAX_ATTEMPTS):
        stored = wallets_db.load(db.get_many([wallets_db.read_key(customer_id)]), customer_id)
        if stored is None:
            return False
        prog = program.load()
        tx = db.Transaction()
        after, change = wallet.settle_into(tx, customer_id, stored, now, prog)
        if not len(tx):
            return False
        wallet.write(tx, customer_id, after, change, now, prog)
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            backoff(attempt)
            continue
        return True
    raise Unavailable("customer kept changing during settlement")


def expire_points(now: datetime, since: str | None = None) -> ExpiryRun:
    """Post expiry entries for every lot whose month has ended.

    A cursor remembers the last month fully processed, so a daily run reads the expiry index of just the months
    that ended since the previous run (usually none; on the 1st, one: 16 index partitions). The cost grows with
    what expires, never with the table. The very first run starts at ``since`` or LOOKBACK_MONTHS back.
    """
    prog = program.load()
    current = period_of(now, prog.timezone)
    done = jobs_db.last_expired_month()
    start = add_months(done, 1) if done is not None else (since or add_months(current, -LOOKBACK_MONTHS))
    run = ExpiryRun(months=[])
    month = start
    while month < current:
        run.months.append(month)
        for customer_id in jobs_db.expiring_customers(month):
            run.customers += 1
            if settle_customer(customer_id, now):
                run.settled += 1
        jobs_db.save_expiry_cursor(month, now.isoformat())
        month = add_months(month, 1)
    log.info("expiry run: months=%s customers=%d settled=%d", run.months, run.customers, run.settled)
    return run
