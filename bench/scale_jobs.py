"""The reconciliation of a big month, as the route used to do it (every entry inside one request) and as a job
(a GET that answers within its inline budget, workers that read pages and hand themselves on), on the embedded
DynamoDB of ``make run``.

    python -m bench.scale_jobs                  # 10,040 entries over 4 partners (the month measured in the issue)
    python -m bench.scale_jobs --entries 2000

Entries are written straight into the table (accrual-shaped, spread over the partner-period partitions): the
counters do not match them, which the comparison then reports; the timing is what is measured."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime


def _seed(entries: int, partners: list[str], period: str) -> None:
    from chalicelib import db
    from chalicelib.db import keys

    with db.EntryItem.batch_write() as batch:
        for n in range(entries):
            partner = partners[n % len(partners)]
            entry_id = f"ent_{n:08d}"
            customer = f"cus_{n % 997:06d}"
            pk, sk = keys.entry(customer, entry_id)
            batch.save(
                db.EntryItem(
                    pk,
                    sk,
                    gsi1pk=keys.customer_at_partner(partner, customer),
                    gsi1sk=sk,
                    gsi2pk=keys.partner_period(partner, period, entry_id),
                    gsi2sk=sk,
                    entry_id=entry_id,
                    customer_id=customer,
                    partner_id=partner,
                    type="accrual",
                    period=period,
                    created_at=f"{period}-10T09:00:00+00:00",
                    available_delta=10,
                    amount_minor=20_000,
                    lots={f"2027-03|{partner}": 10},
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_040)
    args = parser.parse_args()
    from bench import world
    from chalicelib import db, runtime
    from chalicelib.clock import ManualClock
    from chalicelib.services import reconciliation, work_queue
    from local import servers

    period, now = "2026-03", datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    dynamodb = servers.start_dynamodb()
    results: dict[str, object] = {"entries": args.entries}
    try:
        settings = world.settings("bench-jobs", endpoint=dynamodb.url)
        runtime.configure(settings, ManualClock(now))
        db.create_table()
        partners = [f"ptn_bench{i}" for i in range(4)]
        for p in partners:
            db.PartnerItem(
                *db.keys.partner(p),
                partner_id=p,
                name=p,
                earn_rate_bps=500,
                max_redeem_share_bps=5000,
                created_at="t",
                updated_at="t",
            ).save()
        _seed(args.entries, partners, period)

        queue = work_queue.local()
        queue.auto_run = False
        started = time.perf_counter()
        first = reconciliation.read(period, now)  # GET with nothing stored: the inline budget, then 202
        results["get_seconds"] = round(time.perf_counter() - started, 2)
        results["get_status"] = first.status
        results["get_entries_read_inline"] = first.entries
        tasks, started = 0, time.perf_counter()
        reconciliation.WORKER_SECONDS = 5.0  # hand on every 5 s here, as a worker does every 600 s in AWS
        while queue.pending():
            tasks += queue.drain(limit=1)
        results["worker_seconds"] = round(time.perf_counter() - started, 2)
        results["worker_tasks"] = tasks
        done = reconciliation.read(period, now)
        results["done_entries"] = done.entries
        results["done_pages"] = done.pages

        started = time.perf_counter()  # the old way: every page in one request
        whole = reconciliation._advance(reconciliation._start(period, now, again=True), now, 10**9, 10**9)
        results["one_request_seconds"] = round(time.perf_counter() - started, 2)
        results["one_request_entries"] = whole.entries
    finally:
        dynamodb.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
