"""Scheduled work. Each job is safe to run twice or concurrently: it only settles what time has already done, and
every settlement is a guarded transaction (a second run finds nothing left to do).

The expiry fans out: the daily job only plans (one task per partition of each month's expiry index, a segment, sent
to the jobs' queue); workers settle the segments in parallel, each with its own cursor, handing themselves on before
their function's time is up (docs/lifecycle.md has the arithmetic for a million customers a night)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import db
from chalicelib.db import jobs as jobs_db
from chalicelib.db import keys
from chalicelib.db import wallets as wallets_db
from chalicelib.domain import add_months, period_of, split_lot_key
from chalicelib.domain.wallet import Wallet, split_pending_key
from chalicelib.errors import Unavailable
from chalicelib.machinery import program, wallets
from chalicelib.machinery.idempotency import MAX_ATTEMPTS, backoff
from chalicelib.services import reconciliation, settlement, work_queue
from chalicelib.services.work_queue import Task, queue, register

log = logging.getLogger("loyalty.jobs")
LOOKBACK_MONTHS = 36  # months the expiry job re-checks for unfinished work
SEGMENT_TASK = "expiry_segment"
SEGMENT_PAGE = 100  # customers per Query page of a segment; the segment is saved after each page
SEGMENT_PAGES = 1_000_000  # pages a task works before it hands the segment on (time is the usual limit)
SEGMENT_SECONDS = 600.0  # then the task hands the segment on: the worker function stops at 900 s
STALLED_AFTER = timedelta(minutes=20)  # a running segment not saved for this long is handed out again

__all__ = ["ExpiryRun", "close_settlements", "expire_points", "expire_segment", "run_task", "settle_customer"]


@dataclass
class ExpiryRun:
    months: list[str]
    customers: int = 0  # what the segments of these months did by the time the job answered (all of it locally)
    settled: int = 0
    segments: int = 0  # tasks handed out


def settle_customer(customer_id: str, now: datetime) -> tuple[bool, Wallet | None]:
    """Commit whatever time has done to one customer's wallet: whether there was anything to do, and the wallet as
    settled (None: no such customer)."""
    for attempt in range(MAX_ATTEMPTS):
        stored = wallets_db.load(db.get_many([wallets_db.read_key(customer_id)]), customer_id)
        if stored is None:
            return False, None
        prog = program.load()
        tx = db.Transaction()
        after, change = wallets.settle_into(tx, customer_id, stored, now, prog)
        if not len(tx):
            return False, stored
        wallets.write(tx, customer_id, after, change, now, prog)
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            backoff(attempt)
            continue
        return True, after
    raise Unavailable("customer kept changing during settlement")


def _still_pending(wallet: Wallet | None, month: str, now: datetime, tz_name: str) -> set[str]:
    """The months in which the wallet's pending buckets of lots that expire with ``month`` (or before) become due
    (this month at the earliest: the job's cursor has passed the others): those points expire the moment they
    mature, so the customer is marked again for that month and the job expires them once it has ended."""
    if wallet is None:
        return set()
    current = period_of(now, tz_name)
    later: set[str] = set()
    for key in wallet.pending_lots:
        when, lot = split_pending_key(key)
        if split_lot_key(lot)[0] <= month:
            later.add(max(period_of(datetime.fromisoformat(when), tz_name), current))
    return later


def _segment_task(month: str, shard: int, now: datetime) -> Task:
    return Task(SEGMENT_TASK, {"month": month, "shard": shard}, now.isoformat())


def expire_points(now: datetime, since: str | None = None) -> ExpiryRun:
    """Hand out the expiry of every month that ended since the last run: one task per expiry-index partition.

    A cursor remembers the last month handed out, so a daily run plans just the months that ended since the previous
    run (usually none; on the 1st, one: 16 segments). The cost grows with what expires, never with the table. The
    very first run starts at ``since`` or LOOKBACK_MONTHS back. Segments left running by a worker that stopped are
    handed out again (each goes on from its cursor)."""
    prog = program.load()
    current = period_of(now, prog.timezone)
    done = jobs_db.last_expired_month()
    month = add_months(done, 1) if done is not None else (since or add_months(current, -LOOKBACK_MONTHS))
    run = ExpiryRun(months=[])
    while month < current:
        run.months.append(month)
        month = add_months(month, 1)
    tasks: list[Task] = []
    for m in run.months:
        jobs_db.open_segments(m, keys.EXPIRY_SHARDS, now)
        tasks += [_segment_task(m, shard, now) for shard in range(keys.EXPIRY_SHARDS)]
    tasks += [_segment_task(s.month, s.shard, now) for s in jobs_db.stalled_segments(now - STALLED_AFTER)]
    run.segments = len(tasks)
    queue().send(tasks)  # in process (make run, tests): the segments are worked here, one after another
    if run.months:
        jobs_db.save_expiry_cursor(run.months[-1], now.isoformat())
        for s in jobs_db.segments(run.months):
            run.customers += s.customers
            run.settled += s.settled
    log.info("expiry planned: months=%s segments=%d settled so far=%d", run.months, run.segments, run.settled)
    return run


def expire_segment(month: str, shard: int, now: datetime) -> jobs_db.Segment:
    """Settle the customers listed in one partition of the month's expiry index, a page at a time from the
    segment's cursor, deleting each marker once its customer is settled; saves the cursor after every page and
    hands the segment on (a new task) when its time is up."""
    segment = jobs_db.load_segment(month, shard) or jobs_db.Segment(month, shard)
    if segment.status == "done":
        return segment
    deadline, pages = time.monotonic() + SEGMENT_SECONDS, 0
    while True:
        customers, next_key = jobs_db.expiring_page(month, shard, segment.start_key, SEGMENT_PAGE)
        tz_name = program.load().timezone
        for customer_id in customers:
            segment.customers += 1
            settled, wallet = settle_customer(customer_id, now)
            if settled:
                segment.settled += 1
            for later in sorted(_still_pending(wallet, month, now, tz_name)):
                jobs_db.mark(later, customer_id, now.isoformat())  # before the marker leaves: never unmarked
            jobs_db.drop_marker(month, customer_id)
        segment.start_key, pages = next_key, pages + 1
        if next_key is None:
            segment.status = "done"
        jobs_db.save_segment(segment, now)
        if segment.status == "done":
            return segment
        if pages >= SEGMENT_PAGES or time.monotonic() >= deadline:
            queue().send([_segment_task(month, shard, now)])
            return segment


def _segment(args: dict[str, Any], now: datetime) -> None:
    expire_segment(str(args["month"]), int(args["shard"]), now)


register(SEGMENT_TASK, _segment)


def run_task(message: str, now: datetime) -> None:
    """The worker function's entry: one message of the jobs' queue (every kind of task is registered by now: this
    module loads the modules that send them)."""
    work_queue.run(Task.from_json(message), now)


def close_settlements(now: datetime) -> dict[str, Any]:
    """Daily: close last month once it has ended (on the other days it finds it closed and does nothing), and start
    its reconciliation (a job; the run already done is kept)."""
    report = settlement.close_previous_month(now)
    run = reconciliation.start_after_close(report.period, now)
    return {"period": report.period, "status": report.status, "reconciliation": run.status}
