"""Scheduled work. Each job is safe to run twice or concurrently: it only settles what time has already done, and
every settlement is a guarded transaction (a second run finds nothing left to do)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib import db
from chalicelib.db import keys
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
        found = db.get_many([(db.CustomerItem, *keys.customer(customer_id))])
        item = found.get(keys.customer(customer_id))
        if item is None:
            return False
        prog = program.load()
        tx = db.Transaction()
        _, change = wallet.settle_into(tx, customer_id, wallet.of_item(item), now, prog)
        if not len(tx):
            return False
        wallet.apply(tx, customer_id, change, now.isoformat())
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
    cursor = db.get_one(db.JobItem, *keys.job("EXPIRY", "CURSOR"))
    start = add_months(cursor.month, 1) if cursor is not None else (since or add_months(current, -LOOKBACK_MONTHS))
    run = ExpiryRun(months=[])
    month = start
    while month < current:
        run.months.append(month)
        for partition in keys.expiry_partitions(month):
            for marker in db.ExpiryIndexItem.query(partition, consistent_read=True):
                run.customers += 1
                if settle_customer(marker.sk, now):
                    run.settled += 1
                marker.delete()
        db.JobItem(*keys.job("EXPIRY", "CURSOR"), month=month, done_at=now.isoformat()).save()
        month = add_months(month, 1)
    log.info("expiry run: months=%s customers=%d settled=%d", run.months, run.customers, run.settled)
    return run
