"""Review: the nightly close starts the closed month's reconciliation "unless one was done". A run an operator made
in the middle of the month is done too, so the close keeps it: the closed month's reconciliation is the one as of
mid-month, and the entries of the rest of the month are never reconciled."""

from datetime import UTC, datetime

from chalicelib.db import reconciliations as reconciliations_db
from chalicelib.services import jobs
from tests.test_api_ledger import accrue, enrol

MARCH = "2026-03"


def test_the_close_reconciles_the_whole_month(coalition, clock):
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
