"""Review: the nightly expiry drops a customer's marker for month M although points of a month-M lot are still
pending (pending_days past the end of M). When the bucket matures, the points are expired at once on a read, but no
write and no job ever books the expiry: the operator's breakage and the settlement counters never show it."""

from datetime import UTC, datetime

from chalicelib.db.settlement import read_figures
from chalicelib.domain.settlement import COALITION
from chalicelib.services import jobs
from tests.conftest import TRUSTED
from tests.test_api_ledger import accrue, enrol


def test_pending_points_of_an_ended_month_are_expired_by_the_job(api, clock):
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 1}).status == 200
    r = api.post("/v1/admin/partners", {"name": "Маркет", "pending_days": 60, "earn_rate_bps": 500, **TRUSTED})
    shop = api.as_key(r["api_key"])
    cid = enrol(shop, phone="+79160000001")
    # 2026-03-10: 50 points, pending until 2026-05-09; their lot expires with April 2026
    got = accrue(shop, cid, "M-1", 100_000)
    assert got.status == 201 and got["status"] == "pending", got.json
    # 2026-05-01 00:15 Moscow: the nightly job works April's markers (the bucket is not due yet)
    clock.set(datetime(2026, 4, 30, 21, 15, tzinfo=UTC))
    jobs.expire_points(clock.now(), since="2026-04")
    # 2026-06-01: the job again (May's markers: none). The bucket matured on 2026-05-09 into the April lot: the
    # points are gone from her balance, and must be booked as expired (breakage) by now.
    clock.set(datetime(2026, 5, 31, 21, 15, tzinfo=UTC))
    jobs.expire_points(clock.now())
    clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))
    balance = shop.get(f"/v1/customers/{cid}/balance").json
    assert (balance["available"], balance["pending"]) == (0, 0), balance  # shown as expired
    booked = sum(read_figures([COALITION], p)[COALITION].counts["expired_points"] for p in ("2026-05", "2026-06"))
    assert booked == 50, "the 50 expired points were never booked as breakage"
