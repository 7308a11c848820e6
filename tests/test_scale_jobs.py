"""The jobs that must scale: the reconciliation runs as a job whose stored result the route reads (page by page,
resumable, each page counted once), and the nightly expiry fans out one task per expiry-index segment, each worked
with its own cursor and handed on when its time is up."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import db
from chalicelib.db import entries as entries_db
from chalicelib.db import jobs as jobs_db
from chalicelib.db import keys
from chalicelib.db import reconciliations as reconciliations_db
from chalicelib.db.models import PartnerItem
from chalicelib.domain.settlement import Figures
from chalicelib.services import jobs, reconciliation, work_queue
from local import embedded_dynamodb
from tests.test_api_ledger import accrue, enrol

MARCH = "2026-03"


@pytest.fixture
def held_queue():
    """The in-process jobs' queue, holding its tasks until the test drains them."""
    q = work_queue.local()
    q.clear()
    q.auto_run = False
    yield q
    q.clear()
    q.auto_run = True


def _march(c, customers=3):
    for i in range(customers):
        cid = enrol(c.cafe, phone=f"+7916000000{i}")
        assert accrue(c.cafe, cid, f"A-{i}", 100_000).status == 201
        assert accrue(c.store, cid, f"B-{i}", 50_000).status == 201


def test_post_starts_a_reconciliation_job_that_workers_finish_page_by_page_and_get_reads(
    coalition, held_queue, clock, monkeypatch
):
    c = coalition
    _march(c)
    monkeypatch.setattr(reconciliation, "PAGE_ENTRIES", 2)  # a few entries a page, a few pages a task
    monkeypatch.setattr(reconciliation, "SAVE_EVERY_PAGES", 1)
    monkeypatch.setattr(reconciliation, "WORKER_PAGES", 5)
    started = c.operator.post(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert started.status == 202, started.json
    job_id = started["job_id"]
    assert (started["status"], started["matches"], started["entries"]) == ("running", None, 0)
    assert [t.kind for t in held_queue.pending()] == ["reconciliation"]
    again = c.operator.post(f"/v1/admin/settlements/{MARCH}/reconciliation")  # one run at a time
    assert again.status == 202 and again["job_id"] == job_id
    held_queue.clear()

    running = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert running.status == 202 and running["status"] == "running" and running["entries"] == 0

    tasks = 0
    held_queue.send([work_queue.Task("reconciliation", {"period": MARCH, "job_id": job_id}, clock.now().isoformat())])
    while held_queue.pending():  # each task reads 5 pages, saves where it stands and hands the rest on
        tasks += held_queue.drain(limit=1)
        midway = reconciliations_db.load(MARCH)
        assert midway is not None and midway.job_id == job_id
    done = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert done.status == 200, done.json
    assert (done["status"], done["matches"], done["differences"], done["entries"]) == ("done", True, [], 6)
    assert done["finished_at"] == done["updated_at"] and done["job_id"] == job_id
    stored = reconciliations_db.load(MARCH)
    assert tasks > 2 and stored is not None and stored.pages >= 4 * keys.PERIOD_SHARDS  # every partition, in pages
    assert done["finished_at"] == clock.now().isoformat()


def test_a_page_saved_by_another_worker_is_not_counted_twice(coalition, held_queue, clock, monkeypatch):
    """SQS may deliver a task twice: two workers from one saved state. The one that saves second is refused and
    takes the stored run as it is; the run never goes back to fewer pages, nor counts a page twice."""
    c = coalition
    _march(c, customers=2)
    monkeypatch.setattr(reconciliation, "SAVE_EVERY_PAGES", 1)
    run = reconciliation.request(MARCH, clock.now())
    first = reconciliation._advance(run, clock.now(), 12, 60)  # a worker reads 12 pages
    second = reconciliation._advance(run, clock.now(), 1, 60)  # the duplicate, from the same saved state, 1 page
    stored = reconciliations_db.load(MARCH)
    assert (second.version, second.pages) == (first.version, first.pages) == (stored.version, stored.pages)
    reconciliation.work(MARCH, run.job_id, clock.now())
    result = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert (result.status, result["entries"], result["matches"]) == (200, 4, True)


def test_a_stalled_run_is_handed_on_from_its_last_page_and_a_done_one_is_kept_until_posted_again(
    coalition, held_queue, clock
):
    c = coalition
    _march(c, customers=1)
    run = reconciliation.request(MARCH, clock.now())
    held_queue.clear()  # its worker never ran
    clock.advance(timedelta(minutes=16))
    stalled = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert stalled.status == 202 and [t.args["job_id"] for t in held_queue.pending()] == [run.job_id]
    held_queue.drain()
    done = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert done.status == 200 and done["entries"] == 2 and done["job_id"] == run.job_id
    assert accrue(c.cafe, enrol(c.cafe, phone="+79169999999"), "L-1", 100_000).status == 201
    kept = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert kept["entries"] == 2 and kept["finished_at"] == done["finished_at"]  # the stored result, and when
    fresh = c.operator.post(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert fresh.status == 202 and fresh["job_id"] != run.job_id
    held_queue.drain()
    assert c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")["entries"] == 3


def test_the_reconciliation_route_refuses_a_bad_period_and_other_keys(coalition):
    c = coalition
    assert c.operator.post("/v1/admin/settlements/2026-13/reconciliation").status == 422
    assert c.cafe.post(f"/v1/admin/settlements/{MARCH}/reconciliation").status == 403
    assert reconciliations_db.load("2026-13") is None


def test_closing_the_month_starts_its_reconciliation(coalition, clock):
    _march(coalition, customers=1)
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    answer = jobs.close_settlements(clock.now())
    assert answer == {"period": MARCH, "status": "closed", "reconciliation": "done"}  # worked in process
    stored = reconciliations_db.load(MARCH)
    assert stored is not None and stored.status == "done" and stored.entries == 2


def test_the_close_reconciles_the_whole_month_not_a_run_made_while_it_was_open(coalition, clock):
    """A run the operator made mid-month is done too; the close must not keep it as the month's (it read 1 of the
    month's 3 entries)."""
    c = coalition
    cid = enrol(c.cafe, phone="+79160000001")
    assert accrue(c.cafe, cid, "A-1", 100_000).status == 201
    mid = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")  # 2026-03-10: the operator looks
    assert mid.status == 200 and mid["entries"] == 1
    clock.set(datetime(2026, 3, 25, 9, tzinfo=UTC))
    assert accrue(c.cafe, cid, "A-2", 100_000).status == 201
    assert accrue(c.store, cid, "B-1", 100_000).status == 201
    clock.set(datetime(2026, 3, 31, 22, tzinfo=UTC))  # 01:00 Moscow, April 1st: the scheduled close
    assert jobs.close_settlements(clock.now())["status"] == "closed"
    run = reconciliations_db.load(MARCH)
    assert run is not None and run.status == "done"
    assert run.entries == 3, f"the closed month's reconciliation read {run.entries} of its 3 entries"


def test_a_purchase_during_an_open_months_run_is_marked_provisional_and_the_closes_run_is_exact(
    coalition, clock, held_queue
):
    """A run of the open month reads the partitions, then the counters: a till's purchase in between is in the
    counters and not in what it folded. That difference is no error, and the answer says the run is provisional;
    the run the close starts reads the whole, ended month and matches."""
    c = coalition
    cid = enrol(c.cafe, phone="+79160000001")
    assert accrue(c.cafe, cid, "A-1", 100_000).status == 201
    run = reconciliation.request(MARCH, clock.now())  # the clock is in March: the open month
    held_queue.clear()
    run = reconciliation._advance(run, clock.now(), len(run.partners) * keys.PERIOD_SHARDS, 60)  # every page read
    assert run.status == "running"
    assert accrue(c.cafe, cid, "A-2", 100_000).status == 201  # a till's purchase meanwhile
    reconciliation.work(MARCH, run.job_id, clock.now())
    held_queue.clear()
    held_queue.auto_run = True
    done = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert done.status == 200 and done["matches"] is False and done["provisional"] is True, done.json
    console = {"Authorization": f"Bearer {c.operator.key}"}
    for lang, words in (("en", "a purchase posted while it read shows as a difference"), ("ru", "это не ошибка")):
        page = c.operator.http.get(f"/admin/settlements?period={MARCH}&check=1&lang={lang}", headers=console)
        assert words in page.body.decode(), lang
    clock.set(datetime(2026, 3, 31, 22, tzinfo=UTC))  # 01:00 Moscow, April 1st: the scheduled close
    assert jobs.close_settlements(clock.now())["reconciliation"] == "done"
    after = c.operator.get(f"/v1/admin/settlements/{MARCH}/reconciliation")
    assert (after["matches"], after["provisional"], after["entries"]) == (True, False, 2), after.json


def test_the_close_does_not_adopt_a_run_still_reading_the_open_month(coalition, clock, held_queue):
    """A run the operator started at 23:50 on 31 March, still reading (saved at 00:50, not stale) when the close
    comes at 01:00: the close starts its own run over the ended month, and the old run's worker stops."""
    c = coalition
    cid = enrol(c.cafe, phone="+79160000001")
    assert accrue(c.cafe, cid, "A-1", 100_000).status == 201
    clock.set(datetime(2026, 3, 31, 20, 50, tzinfo=UTC))  # 23:50 Moscow, still March
    run = reconciliation.request(MARCH, clock.now())
    held_queue.clear()
    assert accrue(c.store, cid, "B-1", 50_000).status == 201  # 23:55, after the run read the cafe
    clock.set(datetime(2026, 3, 31, 21, 50, tzinfo=UTC))  # 00:50: the long run saves a page
    run = reconciliation._advance(run, clock.now(), 1, 60)
    held_queue.clear()
    assert run.status == "running"
    clock.set(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # 01:00: the scheduled close
    jobs.close_settlements(clock.now())
    after = reconciliations_db.load(MARCH)
    assert after is not None and after.job_id != run.job_id, "the close kept the run started while March was open"
    done = reconciliation.work(MARCH, after.job_id, clock.now())
    assert done is not None and done.status == "done" and done.entries == 2
    out = reconciliation.to_out(done)
    assert out.matches and not out.provisional
    stopped = reconciliation.work(MARCH, run.job_id, clock.now())
    assert stopped is not None and stopped.job_id == after.job_id  # the old worker stops


def test_a_month_of_fifty_partners_trading_with_each_other_closes_and_its_report_reads_back_unchanged(api, clock):
    """Every partner accepted points issued by every other one: the frozen report (2,450 flows, about 490 KB) is over
    DynamoDB's 400 KB item limit, so it is stored compressed over as many items as it needs, in one transaction."""
    with embedded_dynamodb.installed():  # moto's own transactions copy the whole table per item: a minute here
        ids = [f"ptn_{i:032x}" for i in range(50)]
        for i, pid in enumerate(ids):  # stored directly: fifty partners made through the API take long here
            when = "2026-01-01T00:00:00+00:00"
            item = PartnerItem(*keys.partner(pid), partner_id=pid, name=f"Партнёр номер {i:03d}", earn_rate_bps=500)
            item.max_redeem_share_bps, item.created_at, item.updated_at = 5000, when, when
            item.save()
        for acceptor in ids:  # what a month of such purchases leaves in the counters, as the entries' writes leave it
            tx = db.Transaction()
            figures = {acceptor: Figures()}
            for issuer in ids:
                if issuer != acceptor:
                    f, g = figures[acceptor], figures.setdefault(issuer, Figures())
                    f.flows[issuer] = 7
                    f.counts["accepted_points"] += 7
                    f.counts["balance_change"] -= 7
                    g.counts["issued_points"] += 7
                    g.counts["balance_change"] += 7
            entries_db.add_figures(tx, MARCH, figures)
            tx.commit(db.connection())
        report = api.get(f"/v1/admin/settlements/{MARCH}")
        assert report.status == 200 and report["identity"]["holds"] and len(report.raw) > 400_000
        clock.set(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # 01:00 Moscow on April 1st: the scheduled close
        closed = api.post(f"/v1/admin/settlements/{MARCH}/close")
        assert closed.status == 200, (closed.status, closed.raw[:300])
        again = api.get(f"/v1/admin/settlements/{MARCH}")
        assert again.status == 200 and again.json == closed.json and len(again["partners"]) == 50


def test_the_expiry_hands_out_one_task_per_segment_and_workers_settle_them_with_their_own_cursors(
    coalition, held_queue, clock, monkeypatch
):
    c = coalition
    customers = [enrol(c.cafe, phone=f"+79160001{i:03d}") for i in range(40)]
    for i, cid in enumerate(customers):
        assert accrue(c.cafe, cid, f"E-{i}", 20_000).status == 201
    clock.set(datetime(2027, 4, 2, tzinfo=UTC))  # March 2026 points expired with March 2027
    planned = jobs.expire_points(clock.now(), since="2027-03")
    assert planned.months == ["2027-03"] and planned.segments == keys.EXPIRY_SHARDS
    tasks = held_queue.pending()
    assert sorted(t.args["shard"] for t in tasks) == list(range(keys.EXPIRY_SHARDS)) and planned.settled == 0
    assert jobs.expire_points(clock.now()).segments == 0  # the month is handed out once

    monkeypatch.setattr(jobs, "SEGMENT_PAGE", 1)  # one customer a page, two pages a task: segments hand themselves on
    monkeypatch.setattr(jobs, "SEGMENT_PAGES", 2)
    ran = held_queue.drain()
    segments = jobs_db.segments(["2027-03"])
    assert len(segments) == keys.EXPIRY_SHARDS and {s.status for s in segments} == {"done"}
    assert sum(s.customers for s in segments) == 40 == sum(s.settled for s in segments)
    assert ran > keys.EXPIRY_SHARDS  # the busier segments took more than one task
    assert list(jobs_db.expiring_customers("2027-03")) == []  # every marker dealt with
    expired = [e for e in db.EntryItem.scan() if e.pk.startswith("CUST#") and e.type == "expiry"]
    assert len(expired) == 40


def test_a_segment_whose_worker_stopped_is_handed_out_again_and_resumes_from_its_cursor(
    coalition, held_queue, clock, monkeypatch
):
    c = coalition
    customers = [enrol(c.cafe, phone=f"+79160002{i:03d}") for i in range(20)]
    for i, cid in enumerate(customers):
        accrue(c.cafe, cid, f"F-{i}", 20_000)
    clock.set(datetime(2027, 4, 2, tzinfo=UTC))
    jobs.expire_points(clock.now(), since="2027-03")
    busiest = max(range(keys.EXPIRY_SHARDS), key=lambda k: len(jobs_db.expiring_page("2027-03", k, None, 100)[0]))
    monkeypatch.setattr(jobs, "SEGMENT_PAGE", 1)
    monkeypatch.setattr(jobs, "SEGMENT_PAGES", 1)
    stopped = jobs.expire_segment("2027-03", busiest, clock.now())  # one page, then its hand-on is lost
    held_queue.clear()
    assert stopped.status == "running" and stopped.start_key is not None and stopped.customers == 1
    clock.advance(timedelta(days=1))
    again = jobs.expire_points(clock.now())  # the next night: no new month, the stalled segments again
    assert again.months == [] and again.segments == keys.EXPIRY_SHARDS
    monkeypatch.setattr(jobs, "SEGMENT_PAGES", 1_000)
    held_queue.drain()
    segments = jobs_db.segments(["2027-03"])
    assert {s.status for s in segments} == {"done"} and sum(s.settled for s in segments) == 20
    resumed = next(s for s in segments if s.shard == busiest)
    assert resumed.customers == len(
        [cid for cid in customers if keys.expiry_index("2027-03", cid)[0].endswith(f"#{busiest}")]
    )


def test_two_runs_started_at_once_make_one(dynamo, clock):
    """Two operators (or the close job and an operator) starting the month's reconciliation together: the second
    start is refused in the write and both read the one run."""
    from chalicelib.domain.reconciliation import Run

    now = clock.now()
    first = Run(MARCH, "rec_first", "running", now.isoformat(), now.isoformat(), None, ["coalition"])
    second = Run(MARCH, "rec_second", "running", now.isoformat(), now.isoformat(), None, ["coalition"])
    assert reconciliations_db.start(first, now - reconciliation.STALE_AFTER)
    assert not reconciliations_db.start(second, now - reconciliation.STALE_AFTER)
    assert reconciliations_db.load(MARCH).job_id == "rec_first"
    clock.advance(timedelta(minutes=16))  # left stalled: a new run may take over
    assert reconciliations_db.start(second, clock.now() - reconciliation.STALE_AFTER)


def test_a_frozen_report_bigger_than_an_item_even_compressed_is_stored_over_parts_and_read_back_whole(dynamo):
    """Compression takes a report of fifty trading partners into one item; thousands of partners need more than one
    (DynamoDB's item limit is 400 KB): the parts are written in the close's one transaction and read back in order."""
    import random

    from chalicelib.db import settlement as settlement_db

    noise = random.Random(7)
    report = json.dumps({"rows": ["".join(noise.choices("0123456789abcdef", k=64)) for _ in range(12_000)]})
    assert len(report) > 2 * settlement_db.PART_CHARS  # hex digits compress to about half: three parts and more
    assert settlement_db.save_closed(MARCH, report, "2026-04-01T01:00:00+03:00")
    parts = db.get_raw_many([keys.settlement(MARCH)])[keys.settlement(MARCH)]["parts"]["N"]
    assert int(parts) >= 3
    assert settlement_db.load_closed(MARCH) == report
    assert not settlement_db.save_closed(MARCH, "{}", "2026-04-01T01:00:01+03:00")  # frozen once
    assert settlement_db.load_closed(MARCH) == report


def test_a_run_whose_folded_figures_pass_an_items_size_is_saved_and_resumed_whole(dynamo):
    """The run keeps one figure per issuer and acceptor it folded: 150 partners trading with each other are over
    DynamoDB's 400 KB as JSON. Packed, the run saves, and a worker resuming it reads back every figure; so does its
    result when every one of those figures differs."""
    from chalicelib.domain.reconciliation import Run, figures_to_json
    from chalicelib.domain.settlement import Figures

    partners = [f"ptn_{i:032x}" for i in range(150)]
    sums = {p: Figures() for p in partners}
    for acceptor in partners:
        sums[acceptor].flows.update({issuer: 7_654_321 for issuer in partners if issuer != acceptor})
        sums[acceptor].counts["accepted_points"] = 7_654_321 * 149
    assert len(figures_to_json(sums)) > 400_000
    now = "2026-03-10T12:00:00+00:00"
    run = Run(MARCH, "rec_1", "running", now, now, None, partners, sums=sums)
    assert reconciliations_db.start(run, datetime(2026, 3, 10, tzinfo=UTC))
    assert reconciliations_db.save(replace(run, unit=5, version=1))
    loaded = reconciliations_db.load(MARCH)
    assert loaded is not None and (loaded.unit, loaded.version) == (5, 1)
    assert figures_to_json(loaded.sums) == figures_to_json(sums)
    differences = [
        {"partner_id": a, "field": f"flow_{i}", "counters": 7_654_321, "entries": 0} for a in partners for i in partners
    ]
    result = json.dumps({"period": MARCH, "matches": False, "differences": differences})
    assert len(result) > 400_000
    assert reconciliations_db.save(replace(loaded, status="done", result=result, sums={}, version=2))
    done = reconciliations_db.load(MARCH)
    assert done is not None and done.status == "done" and done.result == result
