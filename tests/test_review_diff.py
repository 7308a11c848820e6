"""Review of 5ad29ef..188956a: hostile tests."""

from datetime import UTC, datetime

from tests.conftest import TRUSTED, inbox
from tests.test_api_ledger import accrue, enrol


def _shop(api, pending_days=60):
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 1}).status == 200
    r = api.post("/v1/admin/partners", {"name": "Маркет", "pending_days": pending_days, "earn_rate_bps": 500, **TRUSTED})
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
