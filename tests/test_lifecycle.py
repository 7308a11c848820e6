"""Over the API: holds, pending points, expiry, tiers, bonuses, adjustments, all driven by the clock."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TRUSTED
from tests.test_api_ledger import accrue, enrol, redeem, refund


def balance(client, cid):
    return client.get(f"/v1/customers/{cid}/balance").json


def history(operator, cid):
    return operator.get(f"/v1/admin/customers/{cid}/transactions?limit=100")["items"]


@pytest.fixture
def anna(coalition):
    cid = enrol(coalition.cafe, phone="+79161234567")
    assert accrue(coalition.cafe, cid, "A-1", 200_000)["points"] == 100
    return cid


class TestHolds:
    def hold(self, client, cid, order_id="S-1", points=40, **extra):
        r = redeem(client, cid, order_id, 100_000, points, capture=False, **extra)
        assert r.status == 201, r.json
        return r.json

    def test_hold_then_partial_capture_releases_the_rest(self, coalition, anna, clock):
        c = coalition
        held = self.hold(c.store, anna)
        assert held["status"] == "held"
        assert held["expires_at"] == (clock.now() + timedelta(minutes=15)).isoformat()
        assert held["balance"] == {"available": 60, "pending": 0, "held": 40}
        # held points cannot be spent anywhere else
        spend = redeem(c.salon, anna, "B-1", 1_000_000, 61)
        assert spend.status == 422 and spend["code"] == "insufficient_points"
        captured = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture", {"points": 25})
        assert captured.status == 200
        assert (captured["status"], captured["points"], captured["discount_minor"]) == ("captured", 25, 2_500)
        assert captured["balance"] == {"available": 75, "pending": 0, "held": 0}

    def test_void_returns_everything(self, coalition, anna):
        held = self.hold(coalition.store, anna)
        voided = coalition.store.post(f"/v1/redemptions/{held['redemption_id']}/void")
        assert voided.status == 200 and voided["status"] == "voided"
        assert balance(coalition.store, anna)["available"] == 100

    def test_a_hold_resolves_once(self, coalition, anna):
        held = self.hold(coalition.store, anna)
        rid = held["redemption_id"]
        assert coalition.store.post(f"/v1/redemptions/{rid}/capture").status == 200
        again = coalition.store.post(f"/v1/redemptions/{rid}/capture")
        assert again.status == 409 and again["code"] == "hold_already_resolved"
        void = coalition.store.post(f"/v1/redemptions/{rid}/void")
        assert void.status == 409 and void["code"] == "hold_already_resolved"
        assert balance(coalition.store, anna)["available"] == 60

    def test_capture_replays_with_its_idempotency_key(self, coalition, anna):
        rid = self.hold(coalition.store, anna)["redemption_id"]
        h = {"Idempotency-Key": "cap-1"}
        first = coalition.store.post(f"/v1/redemptions/{rid}/capture", {"points": 10}, headers=h)
        second = coalition.store.post(f"/v1/redemptions/{rid}/capture", {"points": 10}, headers=h)
        assert (first.status, second.status) == (200, 200) and first.raw == second.raw

    def test_expired_hold_stops_counting_without_any_call(self, coalition, anna, clock):
        held = self.hold(coalition.store, anna, hold_minutes=30)
        clock.advance(timedelta(minutes=29))
        assert balance(coalition.cafe, anna)["held"] == 40
        clock.advance(timedelta(minutes=1))
        assert balance(coalition.cafe, anna) | {} == balance(coalition.cafe, anna)
        b = balance(coalition.cafe, anna)
        assert (b["available"], b["held"]) == (100, 0)
        late = coalition.store.post(f"/v1/redemptions/{held['redemption_id']}/capture")
        assert late.status == 409 and late["code"] == "hold_expired"
        assert balance(coalition.cafe, anna)["available"] == 100
        again = coalition.store.post(f"/v1/redemptions/{held['redemption_id']}/capture")
        assert again.status == 409 and again["code"] == "hold_expired"
        kinds = [e["type"] for e in history(coalition.operator, anna)]
        assert kinds.count("hold_expired") == 1

    def test_capture_more_than_held_and_foreign_holds(self, coalition, anna):
        rid = self.hold(coalition.store, anna)["redemption_id"]
        too_much = coalition.store.post(f"/v1/redemptions/{rid}/capture", {"points": 41})
        assert too_much.status == 422 and too_much["errors"][0]["loc"] == ["body", "points"]
        assert coalition.salon.post(f"/v1/redemptions/{rid}/capture").status == 404
        assert coalition.store.post("/v1/redemptions/red_bm9wZQ/capture").status == 404

    @pytest.mark.parametrize("minutes", [0, 7 * 24 * 60 + 1])
    def test_hold_length_is_bounded(self, coalition, anna, minutes):
        r = redeem(coalition.store, anna, "S-1", 100_000, 10, capture=False, hold_minutes=minutes)
        assert r.status == 422 and r["errors"][0]["loc"] == ["body", "hold_minutes"]

    def test_refund_of_a_captured_part_returns_only_what_was_captured(self, coalition, anna):
        rid = self.hold(coalition.store, anna)["redemption_id"]
        coalition.store.post(f"/v1/redemptions/{rid}/capture", {"points": 30})
        r = refund(coalition.store, "S-1", "SR-1", 100_000)
        assert r["points_returned"] == 30
        assert balance(coalition.store, anna)["available"] == 100


class TestPending:
    @pytest.fixture
    def shop(self, coalition):
        r = coalition.operator.post("/v1/admin/partners", {"name": "Маркет", "pending_days": 14, **TRUSTED})
        return coalition.operator.as_key(r["api_key"])

    def test_pending_until_available_at_then_spendable_without_any_call(self, coalition, shop, clock):
        cid = enrol(shop, phone="+79161234567")
        r = accrue(shop, cid, "M-1", 200_000)
        assert (r["status"], r["points"]) == ("pending", 100)
        assert r["available_at"] == (clock.now() + timedelta(days=14)).isoformat()
        assert r["balance"] == {"available": 0, "pending": 100, "held": 0}
        assert redeem(coalition.cafe, cid, "C-1", 100_000, 10).json["code"] == "insufficient_points"
        clock.advance(timedelta(days=14))
        assert balance(shop, cid)["available"] == 100 and balance(shop, cid)["pending"] == 0
        # the same body on C-1 replays its refusal; the till spends on its next order (or C-1 with other points)
        assert redeem(coalition.cafe, cid, "C-1", 100_000, 10).json["code"] == "insufficient_points"
        assert redeem(coalition.cafe, cid, "C-2", 100_000, 10).status == 201
        assert [e["type"] for e in history(coalition.operator, cid)][:2] == ["redemption", "matured"]

    def test_refund_within_the_window_reverses_pending_points(self, shop, clock):
        cid = enrol(shop, phone="+79161234567")
        accrue(shop, cid, "M-1", 200_000)
        r = refund(shop, "M-1", "MR-1", 50_000)
        assert (r["points_reversed"], r["points_shortfall"]) == (25, 0)
        assert r["balance"] == {"available": 0, "pending": 75, "held": 0}
        r = refund(shop, "M-1", "MR-2", 150_000)
        assert r["balance"] == {"available": 0, "pending": 0, "held": 0}
        clock.advance(timedelta(days=15))
        assert balance(shop, cid)["available"] == 0


class TestExpiry:
    def test_points_expire_at_the_end_of_the_month_in_moscow(self, coalition, clock):
        c = coalition
        clock.set(datetime(2026, 3, 31, 20, 0, tzinfo=UTC))  # 23:00 in Moscow, still March
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)
        clock.set(datetime(2026, 4, 1, 10, tzinfo=UTC))
        accrue(c.cafe, cid, "A-2", 100_000)
        assert balance(c.cafe, cid)["expiring"] == [
            {"points": 100, "expires_on": "2027-03-31"},
            {"points": 50, "expires_on": "2027-04-30"},
        ]
        clock.set(datetime(2027, 3, 31, 20, 59, tzinfo=UTC))  # 23:59 Moscow on the last day
        assert balance(c.cafe, cid)["available"] == 150
        clock.set(datetime(2027, 3, 31, 21, 0, tzinfo=UTC))  # midnight in Moscow
        b = balance(c.cafe, cid)
        assert b["available"] == 50 and b["expiring"] == [{"points": 50, "expires_on": "2027-04-30"}]

    def test_daily_job_expires_due_lots_only_and_is_safe_to_rerun(self, coalition, clock):
        from chalicelib import db
        from chalicelib.services import jobs

        c = coalition
        early, late = enrol(c.cafe, phone="+79161234567"), enrol(c.cafe, phone="+79161234568")
        accrue(c.cafe, early, "A-1", 200_000)
        clock.advance(timedelta(days=62))
        accrue(c.cafe, late, "A-2", 200_000)
        clock.set(datetime(2027, 4, 2, tzinfo=UTC))
        first = jobs.expire_points(clock.now())
        assert first.customers == 1 and first.settled == 1
        second = jobs.expire_points(clock.now())
        assert (second.months, second.customers) == ([], 0)
        entries = [e for e in db.EntryItem.scan() if e.pk.startswith("CUST#") and e.type == "expiry"]
        assert [(e.customer_id, int(e.available_delta)) for e in entries] == [(early, -100)]
        stored = db.get_one(db.CustomerItem, f"CUST#{early}", "PROFILE")
        assert int(stored.available) == 0  # posted, not just shown
        assert balance(c.cafe, late)["available"] == 100

    def test_expired_points_are_not_spendable_even_before_the_job_runs(self, coalition, anna, clock):
        clock.set(datetime(2027, 4, 2, tzinfo=UTC))
        r = redeem(coalition.store, anna, "S-1", 1_000_000, 1)
        assert r.status == 422 and r["code"] == "insufficient_points"
        assert balance(coalition.store, anna)["available"] == 0
        # a rejected request writes nothing, not even what time did: that is posted by the next write or the job
        assert "expiry" not in [e["type"] for e in history(coalition.operator, anna)]


class TestTiers:
    def test_spend_across_partners_lifts_the_tier_and_its_multiplier(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 2_000_000)
        accrue(c.store, cid, "B-1", 1_000_000)
        tier = balance(c.cafe, cid)["tier"]
        assert tier == {
            "name": "silver",
            "multiplier_bps": 12_500,
            "spend_12m_minor": 3_000_000,
            "next_tier": "gold",
            "spend_to_next_minor": 7_000_000,
        }
        assert accrue(c.cafe, cid, "A-2", 100_000)["points"] == 62  # 50 base points x 1.25 = 62.5 -> 62

    def test_refunds_lower_the_qualifying_spend(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 3_000_000)
        refund(c.cafe, "A-1", "R-1", 1)
        assert balance(c.cafe, cid)["tier"]["name"] == "bronze"

    def test_spend_older_than_twelve_months_no_longer_counts(self, coalition, clock):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 3_000_000)
        clock.advance(timedelta(days=366))
        assert balance(c.cafe, cid)["tier"]["name"] == "bronze"

    def test_tiers_are_configurable(self, coalition):
        c = coalition
        c.operator.call(
            "PUT",
            "/v1/admin/program",
            {
                "tiers": [
                    {"name": "member", "min_spend_12m_minor": 0, "multiplier_bps": 10_000},
                    {"name": "vip", "min_spend_12m_minor": 100_000, "multiplier_bps": 20_000},
                ]
            },
        )
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 100_000)
        assert balance(c.cafe, cid)["tier"]["name"] == "vip"
        assert accrue(c.cafe, cid, "A-2", 100_000)["points"] == 100


class TestBonuses:
    def bonus(self, client, cid, bonus_id, reason="review", points=50):
        return client.post(
            "/v1/bonuses", {"customer_id": cid, "bonus_id": bonus_id, "reason": reason, "points": points}
        )

    def test_bonus_is_paid_once_per_id_and_capped_per_day(self, coalition, clock):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        first = self.bonus(c.cafe, cid, "rev-1")
        assert first.status == 201 and first["balance"]["available"] == 50
        assert self.bonus(c.cafe, cid, "rev-1").raw == first.raw
        dup = self.bonus(c.cafe, cid, "rev-1", points=60)
        assert dup.status == 409 and dup["code"] == "duplicate_bonus"
        capped = self.bonus(c.cafe, cid, "rev-2")
        assert capped.status == 422 and capped["code"] == "bonus_limit_reached"
        assert self.bonus(c.cafe, cid, "survey-1", reason="survey").status == 201
        clock.advance(timedelta(days=1))
        assert self.bonus(c.cafe, cid, "rev-2").raw == capped.raw  # a bonus id is bound to its first answer
        assert self.bonus(c.cafe, cid, "rev-3").status == 201
        assert balance(c.cafe, cid)["available"] == 150

    def test_daily_caps_are_program_settings(self, coalition):
        c = coalition
        c.operator.call("PUT", "/v1/admin/program", {"bonus_daily_limits": {"review": 2}})
        cid = enrol(c.cafe, phone="+79161234567")
        assert [self.bonus(c.cafe, cid, f"r-{i}").status for i in range(3)] == [201, 201, 422]

    def test_unknown_reason_is_rejected(self, coalition):
        cid = enrol(coalition.cafe, phone="+79161234567")
        r = self.bonus(coalition.cafe, cid, "x", reason="lottery")
        assert r.status == 422 and r["errors"][0]["loc"] == ["body", "reason"]


class TestAdjustments:
    def adjust(self, operator, cid, adjustment_id, points, reason="goodwill"):
        return operator.post(
            "/v1/admin/adjustments",
            {"customer_id": cid, "adjustment_id": adjustment_id, "points": points, "reason": reason},
        )

    def test_credit_debit_idempotent_and_visible(self, coalition, anna):
        op = coalition.operator
        credit = self.adjust(op, anna, "adj-1", 30)
        assert credit.status == 201 and credit["balance"]["available"] == 130
        assert self.adjust(op, anna, "adj-1", 30).raw == credit.raw
        assert self.adjust(op, anna, "adj-1", 31).json["code"] == "duplicate_adjustment"
        assert self.adjust(op, anna, "adj-2", -120)["balance"]["available"] == 10
        over = self.adjust(op, anna, "adj-3", -11)
        assert over.status == 422 and over["code"] == "insufficient_points"
        kinds = [(e["type"], e["points"]) for e in history(op, anna)]
        assert kinds[:2] == [("adjustment", -120), ("adjustment", 30)]
        assert coalition.cafe.post("/v1/admin/adjustments", {}).status == 403
        assert self.adjust(op, anna, "adj-4", 0).status == 422


def test_points_a_void_returns_after_their_month_ended_expire_in_the_same_write(coalition, clock):
    """A hold outlives the month its points expire in; the expiry run takes the rest. The void then returns the held
    points to the ended month's lot: they expire in the void's own write (its answer shows them gone, an ``expiry``
    entry after the void's records it), so the stored wallet, the fold of the ledger, is what the balance shows."""
    from chalicelib import db
    from chalicelib.services import jobs

    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.cafe, cid, "A-1", 200_000)["points"] == 100  # lot 2027-03
    clock.set(datetime(2027, 3, 31, 12, 0, tzinfo=UTC))
    held = redeem(c.store, cid, "S-1", 100_000, 40, capture=False, hold_minutes=7 * 24 * 60)
    assert held.status == 201, held.json
    clock.set(datetime(2027, 4, 2, tzinfo=UTC))
    jobs.expire_points(clock.now())  # 60 expire; 40 still held
    clock.set(datetime(2027, 4, 3, tzinfo=UTC))
    voided = c.store.post(f"/v1/redemptions/{held['redemption_id']}/void")
    assert voided.status == 200 and voided["balance"]["available"] == 0, voided.json
    clock.set(datetime(2027, 4, 5, tzinfo=UTC))
    jobs.expire_points(clock.now())
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 0
    stored = db.get_one(db.CustomerItem, f"CUST#{cid}", "PROFILE")
    assert stored is not None and int(stored.available) == 0
    history = c.operator.get(f"/v1/admin/customers/{cid}/transactions").json["items"]
    types = [e["type"] for e in reversed(history)]  # oldest first
    assert types[-2:] == ["void", "expiry"] and history[0]["points"] == -40


def _market_with_a_long_return_window(api):
    """``expiry_months`` 1 and a partner's return window of 60 days: longer than the points' life if it counted from
    the purchase."""
    assert api.call("PUT", "/v1/admin/program", {"expiry_months": 1}).status == 200
    r = api.post("/v1/admin/partners", {"name": "Маркет", "pending_days": 60, "earn_rate_bps": 500, **TRUSTED})
    shop = api.as_key(r["api_key"])
    return shop, enrol(shop, phone="+79160000001")


def test_points_after_a_return_window_live_their_months_from_when_they_can_be_spent(api, clock):
    """Bought on 10 March, spendable from 9 May after a 60-day window: with ``expiry_months`` 1 they expire at the end
    of June, not with April, before she could ever spend them."""
    from chalicelib.db.settlement import read_figures
    from chalicelib.domain.settlement import COALITION
    from chalicelib.services import jobs

    shop, cid = _market_with_a_long_return_window(api)
    got = accrue(shop, cid, "M-1", 100_000)
    assert got.status == 201 and got["status"] == "pending", got.json
    clock.set(datetime(2026, 5, 10, 9, tzinfo=UTC))
    b = balance(shop, cid)
    assert b["available"] == 50 and b["expiring"] == [{"points": 50, "expires_on": "2026-06-30"}], b
    clock.set(datetime(2026, 6, 30, 20, 59, tzinfo=UTC))  # 23:59 on 30 June in Moscow: still hers
    assert balance(shop, cid)["available"] == 50
    clock.set(datetime(2026, 6, 30, 21, 15, tzinfo=UTC))  # 00:15 on 1 July: the job works June
    jobs.expire_points(clock.now())
    assert balance(shop, cid)["available"] == 0
    assert read_figures([COALITION], "2026-07")[COALITION].counts["expired_points"] == 50


def test_a_campaigns_points_after_a_return_window_live_their_months_from_when_they_can_be_spent_too(api, clock):
    """A campaign's award at a till with a return window waits with the purchase's points, and lives as long."""
    shop, cid = _market_with_a_long_return_window(api)
    body = {"name": "Весна", "earn_at": [shop.get("/v1/partner").json["partner_id"]], "budget_points": 5_000}
    made = shop.post("/v1/campaigns", {**body, "reward": {"type": "fixed", "points": 100}})
    assert made.status == 201 and shop.post(f"/v1/campaigns/{made['campaign_id']}/activate").status == 200
    got = accrue(shop, cid, "M-1", 100_000)  # 50 points and the award's 100, pending until 9 May
    assert got.status == 201 and got["status"] == "pending", got.json
    clock.set(datetime(2026, 5, 10, 9, tzinfo=UTC))
    b = balance(shop, cid)
    assert b["available"] == 150 and b["expiring"] == [{"points": 150, "expires_on": "2026-06-30"}], b


def test_points_stored_pending_in_a_lot_that_ends_before_they_mature_are_booked_as_expired_once_they_do(
    api, clock, monkeypatch
):
    """Points accrued before they lived from their return window's end sit in a lot of the purchase's month: the
    nightly job works that month while they still wait, so it must look at the customer again in the month they
    mature, else her balance shows them gone but no write ever books their expiry (the operator's breakage)."""
    from chalicelib.db.settlement import read_figures
    from chalicelib.domain.settlement import COALITION
    from chalicelib.services import accruals, jobs

    shop, cid = _market_with_a_long_return_window(api)
    stored_before = accruals.earn_lot
    monkeypatch.setattr(
        accruals, "earn_lot", lambda _available_at, prog, issuer: stored_before(clock.now(), prog, issuer)
    )
    got = accrue(shop, cid, "M-1", 100_000)  # 2026-03-10: 50 points, pending until 9 May, in a lot ending with April
    monkeypatch.undo()
    assert got.status == 201 and got["status"] == "pending", got.json
    clock.set(datetime(2026, 4, 30, 21, 15, tzinfo=UTC))  # 00:15 on 1 May in Moscow: the job works April
    jobs.expire_points(clock.now(), since="2026-04")
    clock.set(datetime(2026, 5, 31, 21, 15, tzinfo=UTC))  # and 1 June: May
    jobs.expire_points(clock.now())
    clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))
    b = shop.get(f"/v1/customers/{cid}/balance").json
    assert (b["available"], b["pending"]) == (0, 0), b
    booked = sum(read_figures([COALITION], p)[COALITION].counts["expired_points"] for p in ("2026-05", "2026-06"))
    assert booked == 50, "the 50 expired points were never booked as breakage"
