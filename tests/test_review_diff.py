"""Review of 5ad29ef..188956a: hostile tests."""

from datetime import UTC, datetime

from tests.conftest import TRUSTED, inbox
from tests.test_api_ledger import accrue, enrol


def _shop(api, pending_days=60):
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 1}).status == 200
    r = api.post(
        "/v1/admin/partners", {"name": "Маркет", "pending_days": pending_days, "earn_rate_bps": 500, **TRUSTED}
    )
    shop = api.as_key(r["api_key"])
    return shop, enrol(shop, phone="+79160000001")


def test_an_idle_customer_is_reminded_of_points_that_matured_from_a_return_window(api, clock):
    """Bought 10 March behind 60 days: spendable from 9 May, expiring with June (balance says so). A week before
    30 June the reminder job must tell her; she made no write since the purchase."""
    from chalicelib.services import reminders

    shop, cid = _shop(api)
    assert accrue(shop, cid, "M-1", 100_000).status == 201
    clock.set(datetime(2026, 6, 24, 9, 0, tzinfo=UTC))
    b = shop.get(f"/v1/customers/{cid}/balance").json
    assert b["expiring"] == [{"points": 50, "expires_on": "2026-06-30"}], b
    reminders.run(clock.now())
    assert [m.text for m in inbox("expiry_reminder", "+79160000001")], "no reminder for 50 points expiring 30 June"


def test_an_idle_customer_is_reminded_of_points_that_matured_from_a_short_return_window(api, clock):
    """14 days' window: bought 10 March, spendable from 24 March, expiring with April."""
    from chalicelib.services import reminders

    shop, cid = _shop(api, pending_days=14)
    assert accrue(shop, cid, "M-1", 100_000).status == 201
    clock.set(datetime(2026, 4, 24, 9, 0, tzinfo=UTC))
    b = shop.get(f"/v1/customers/{cid}/balance").json
    assert b["expiring"] == [{"points": 50, "expires_on": "2026-04-30"}], b
    reminders.run(clock.now())
    assert [m.text for m in inbox("expiry_reminder", "+79160000001")], "no reminder for 50 points expiring 30 April"


def test_the_close_does_not_adopt_a_run_still_reading_the_open_month(coalition, clock):
    """A run the operator started at 23:50 on 31 March, still reading (saved at 00:50, not stale) when the close
    comes at 01:00: the close must start its own run over the ended month, not hand on the provisional one."""
    from chalicelib.db import reconciliations as reconciliations_db
    from chalicelib.services import jobs, reconciliation, work_queue

    q = work_queue.local()
    q.clear()
    q.auto_run = False
    try:
        c = coalition
        cid = enrol(c.cafe, phone="+79160000001")
        assert accrue(c.cafe, cid, "A-1", 100_000).status == 201
        clock.set(datetime(2026, 3, 31, 20, 50, tzinfo=UTC))  # 23:50 Moscow, still March
        run = reconciliation.request("2026-03", clock.now())
        q.clear()
        assert accrue(c.store, cid, "B-1", 50_000).status == 201  # 23:55, after the run read the cafe
        clock.set(datetime(2026, 3, 31, 21, 50, tzinfo=UTC))  # 00:50: the long run saves a page
        run = reconciliation._advance(run, clock.now(), 1, 60)
        q.clear()
        assert run.status == "running"
        clock.set(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # 01:00: the scheduled close
        jobs.close_settlements(clock.now())
        after = reconciliations_db.load("2026-03")
        assert after is not None
        assert after.job_id != run.job_id, "the close kept the run started while March was open"
        done = reconciliation.work("2026-03", after.job_id, clock.now())
        assert done is not None and done.status == "done" and done.entries == 2
        out = reconciliation.to_out(done)
        assert out.matches and not out.provisional
        assert reconciliation.work("2026-03", run.job_id, clock.now()).job_id == after.job_id  # the old worker stops
    finally:
        q.clear()
        q.auto_run = True
