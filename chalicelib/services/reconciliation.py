"""A period's reconciliation as a job: recompute every partner's figures from the period's ledger entries and compare
them with the counters (see docs/settlement.md). A month can hold tens of thousands of entries, more than one API
request should read, so a run reads them a page at a time and saves where it stands after every page (the partition,
DynamoDB's start key in it, the figures folded so far) under a version guard: a worker stopped anywhere is resumed
from its last page, and a page is counted once whoever saves it. The route reads the stored run.

- ``POST .../reconciliation`` (:func:`request`) starts a new run, unless one is under way, and hands it to a worker.
- ``GET .../reconciliation`` (:func:`read`) returns the stored run: ``running`` (how far) or ``done`` (the result and
  when). With none stored it starts one and reads up to a few pages inline, so a small month answers at once.
- The worker (:func:`work`, a task of the jobs' queue) reads pages for up to ``WORKER_SECONDS`` and sends itself on.
- The daily settlement job starts a run of the month it closes (:func:`start_after_close`)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import ids
from chalicelib.db import history as history_db
from chalicelib.db import keys
from chalicelib.db import reconciliations as reconciliations_db
from chalicelib.db.settlement import read_figures
from chalicelib.domain.reconciliation import Run, differences
from chalicelib.domain.schedule import period_end
from chalicelib.domain.settlement import COALITION, Figures, entry_deltas
from chalicelib.machinery import program
from chalicelib.schemas import Reconciliation, ReconciliationDifference
from chalicelib.services import partners
from chalicelib.services.settlement import check_period
from chalicelib.services.work_queue import Task, queue, register

TASK = "reconciliation"
PAGE_ENTRIES = 500  # one Query page of a partner-period partition (entries under 1 KB: within DynamoDB's 1 MB page)
# What a GET with no stored run reads before it answers 202 and leaves the rest to the worker. A page is one Query:
# an empty partition (8 per partner) is one too.
INLINE_PAGES = 400
INLINE_SECONDS = 2.0
SAVE_EVERY_PAGES = 25  # a stopped worker's successor reads at most this many pages again
WORKER_SECONDS = 600.0  # then the worker sends itself on (its function stops at 900 s)
WORKER_PAGES = 1_000_000
STALE_AFTER = timedelta(minutes=15)  # a running run not saved for this long is resumed (GET) or restarted (POST)

__all__ = ["read", "request", "start_after_close", "to_out", "work"]


def _stale(run: Run, now: datetime) -> bool:
    return run.status == "running" and datetime.fromisoformat(run.updated_at) < now - STALE_AFTER


def _start(period: str, now: datetime, *, again: bool, whole: bool = False) -> Run:
    """The period's run: the one under way, the one done (unless ``again``), or a new one. ``whole``: only a run that
    started after the period ended is kept; one started before it, running or done, reads (or read) only part of
    the period and is replaced."""
    existing = reconciliations_db.load(period)
    partial = whole and existing is not None and _open_when_started(period, existing.started_at)
    if existing is not None and existing.status == "running" and not _stale(existing, now) and not partial:
        return existing
    if existing is not None and existing.status == "done" and not again and not partial:
        return existing
    partner_ids = sorted({*partners.names(), COALITION})
    run = Run(period, ids.random_id("rec"), "running", now.isoformat(), now.isoformat(), None, partner_ids)
    replacing = existing.job_id if partial and existing is not None else None
    if reconciliations_db.start(run, now - STALE_AFTER, replacing=replacing):
        return run
    return reconciliations_db.load(period) or run  # started concurrently: theirs


def _hand_on(run: Run, now: datetime) -> None:
    queue().send([Task(TASK, {"period": run.period, "job_id": run.job_id}, now.isoformat())])


def _step(run: Run, now: datetime) -> Run:
    """The run after its next page (or, every page read, after the comparison with the counters)."""
    shards = keys.PERIOD_SHARDS
    if run.unit >= len(run.partners) * shards:
        counters = read_figures(sorted(run.sums), run.period)
        found = differences(counters, run.sums)
        result = Reconciliation(
            period=run.period,
            job_id=run.job_id,
            status="done",
            started_at=run.started_at,
            updated_at=now.isoformat(),
            finished_at=now.isoformat(),
            entries=run.entries,
            matches=not found,
            differences=[
                ReconciliationDifference(partner_id=p, field=f, counters=c, entries=e) for p, f, c, e in found
            ],
        )
        # The folded figures are done with once compared: the result (with every difference) is what is kept.
        return replace(run, status="done", finished_at=now.isoformat(), result=result.model_dump_json(), sums={})
    partner_id = run.partners[run.unit // shards]
    partition = keys.partner_period_partitions(partner_id, run.period)[run.unit % shards]
    page, next_key = history_db.period_page(partition, run.start_key, PAGE_ENTRIES)
    sums = {t: _copy(f) for t, f in run.sums.items()}
    for e in page:
        for target, f in entry_deltas(e.type, e.partner_id, e.points, e.lots, e.details).items():
            sums.setdefault(target, Figures()).add(f)
    sums.setdefault(partner_id, Figures())  # every partner is compared, with entries or without
    unit, start_key = (run.unit, next_key) if next_key else (run.unit + 1, None)
    return replace(run, unit=unit, start_key=start_key, entries=run.entries + len(page), pages=run.pages + 1, sums=sums)


def _copy(f: Figures) -> Figures:
    out = Figures()
    out.add(f)
    return out


def _advance(run: Run, now: datetime, max_pages: int, max_seconds: float) -> Run:
    """Read up to ``max_pages`` pages (or for ``max_seconds``), saving every ``SAVE_EVERY_PAGES`` pages and at the
    end; stops when another worker saved the run first (it goes on from there) or when the run is done."""
    deadline = time.monotonic() + max_seconds
    pages = 0
    while run.status == "running" and pages < max_pages and time.monotonic() < deadline:
        read = run
        for _ in range(SAVE_EVERY_PAGES):
            read, pages = _step(read, now), pages + 1
            if read.status == "done" or pages >= max_pages or time.monotonic() >= deadline:
                break
        after = replace(read, updated_at=now.isoformat(), version=run.version + 1)
        if not reconciliations_db.save(after):
            return reconciliations_db.load(run.period) or run
        run = after
    return run


def request(period: str, now: datetime) -> Run:
    """``POST``: start a run (or return the one under way) and hand it to a worker."""
    check_period(period, now)
    run = _start(period, now, again=True)
    if run.status == "running":
        _hand_on(run, now)  # in process it is worked at once: what it stored now
        return reconciliations_db.load(period) or run
    return run


def start_after_close(period: str, now: datetime) -> Run:
    """The daily settlement job, once it closed ``period``: reconcile it unless that was done since it ended (or is
    under way): a run made while the month was open saw only part of it."""
    run = _start(period, now, again=False, whole=True)
    if run.status == "running":
        _hand_on(run, now)  # in process it is worked at once: what it stored now
        return reconciliations_db.load(period) or run
    return run


def read(period: str, now: datetime) -> Run:
    """``GET``: the stored run. None stored: start one and read a few pages now; a small month is done at once. A
    run left stale (its worker stopped) is handed on again, from its last saved page."""
    check_period(period, now)
    stored = reconciliations_db.load(period)
    run = stored or _advance(_start(period, now, again=False), now, INLINE_PAGES, INLINE_SECONDS)
    if run.status == "running" and (stored is None or _stale(run, now)):  # started here, or left stalled
        _hand_on(run, now)  # in process it is worked at once: what it stored now
        return reconciliations_db.load(period) or run
    return run


def work(period: str, job_id: str, now: datetime) -> Run | None:
    """The worker's task: go on with the run if it is still this job's, then send the rest on."""
    run = reconciliations_db.load(period)
    if run is None or run.job_id != job_id or run.status == "done":
        return run
    run = _advance(run, now, WORKER_PAGES, WORKER_SECONDS)
    if run.status == "running" and run.job_id == job_id:
        _hand_on(run, now)
    return run


def _task(args: dict[str, Any], now: datetime) -> None:
    work(str(args["period"]), str(args["job_id"]), now)


register(TASK, _task)


def _open_when_started(period: str, started_at: str) -> bool:
    """Whether a run started before ``period`` ended (in the program's time zone): it read a month still taking
    entries."""
    return datetime.fromisoformat(started_at) <= period_end(period, program.load().timezone)


def to_out(run: Run) -> Reconciliation:
    if run.result is not None:
        out = Reconciliation.model_validate_json(run.result)
    else:
        out = Reconciliation(
            period=run.period,
            job_id=run.job_id,
            status=run.status,
            started_at=run.started_at,
            updated_at=run.updated_at,
            finished_at=None,
            entries=run.entries,
            matches=None,
            differences=[],
        )
    # A run started before its period ended read a month still taking entries: one posted while it read is in the
    # counters (read last) and not in what it folded, a difference that is no error. The close's run is exact.
    return out.model_copy(update={"provisional": _open_when_started(run.period, run.started_at)})
