"""Settings that move money take effect from a date and never reprice what was already posted.

The clock starts at 2026-03-10 12:00 in Moscow (conftest.START); March is the open period.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.schedule import Change, PastDate, Schedule, next_period_start, period_end
from chalicelib.domain.settlement import Figures, entry_deltas, identity, statement

TODAY = "2026-03-10"
MARCH = "2026-03"


def enrol(client, phone="+79161234567"):
    r = client.post("/v1/customers", {"phone": phone})
    assert r.status in (200, 201), r.json
    return r["customer_id"]


def accrue(client, cid, order_id, amount):
    r = client.post("/v1/accruals", {"customer_id": cid, "order_id": order_id, "amount_minor": amount})
    assert r.status == 201, r.json
    return r.json


def redeem(client, cid, order_id, points, order_amount=1_000_000):
    body = {"customer_id": cid, "order_id": order_id, "order_amount_minor": order_amount, "points": points}
    r = client.post("/v1/redemptions", body)
    assert r.status == 201, r.json
    return r.json


def put_program(c, body, status=200):
    r = c.operator.call("PUT", "/v1/admin/program", body)
    assert r.status == status, r.json
    return r.json


def report(c, period=MARCH):
    r = c.operator.get(f"/v1/admin/settlements/{period}")
    assert r.status == 200, r.json
    return r.json


def rows(rep):
    return {row["partner_id"]: row for row in rep["partners"]}


def without_time(rep):
    return {**rep, "generated_at": "", "partners": [{**p, "generated_at": ""} for p in rep["partners"]]}


def reconciled(c, period=MARCH):
    r = c.operator.get(f"/v1/admin/settlements/{period}/reconciliation")
    assert r.status == 200, r.json
    return r["matches"] is True and r["differences"] == []


# --- the pure parts ---------------------------------------------------------------------------------------------


def test_schedule_resolves_the_values_in_force_at_an_instant():
    tz = "Europe/Moscow"
    now = datetime(2026, 3, 10, 9, tzinfo=UTC)  # 12:00 in Moscow
    s = Schedule({"point_value_minor": 100, "operator_fee_bps": 0})
    assert next_period_start(now, tz) == date(2026, 4, 1)
    s = s.with_change({"point_value_minor": 200}, date(2026, 4, 1), now, tz)
    s = s.with_change({"operator_fee_bps": 50}, date(2026, 4, 1), now, tz)  # same future day: merged
    s = s.with_change({"operator_fee_bps": 10}, date(2026, 3, 10), now, tz)  # today: from now on
    assert [c.effective_from for c in s.changes] == ["2026-03-10", "2026-04-01"]
    assert s.changes[0].effective_at == now
    assert s.at(now - timedelta(microseconds=1)) == {"point_value_minor": 100, "operator_fee_bps": 0}
    assert s.at(now) == {"point_value_minor": 100, "operator_fee_bps": 10}
    april = datetime(2026, 3, 31, 21, tzinfo=UTC)  # midnight of 1 April in Moscow
    assert s.at(april - timedelta(microseconds=1)) == {"point_value_minor": 100, "operator_fee_bps": 10}
    assert s.at(april) == {"point_value_minor": 200, "operator_fee_bps": 50}
    assert period_end(MARCH, tz) == april - timedelta(microseconds=1)
    assert period_end("9999-12", tz) == datetime.max.replace(tzinfo=UTC)
    assert period_end("0000-01", tz) == datetime.min.replace(tzinfo=UTC)
    assert [c.values for c in s.upcoming(now)] == [{"point_value_minor": 200, "operator_fee_bps": 50}]
    assert Schedule.from_list(s.base, s.to_list()) == s
    with pytest.raises(PastDate):
        s.with_change({"point_value_minor": 1}, date(2026, 3, 9), now, tz)
    # a change made today after another one today applies after it
    later = now + timedelta(hours=1)
    t = s.with_change({"operator_fee_bps": 20}, date(2026, 3, 10), later, tz)
    assert t.at(later) == {"point_value_minor": 100, "operator_fee_bps": 20}
    assert t.at(now) == {"point_value_minor": 100, "operator_fee_bps": 10}
    assert isinstance(t.changes[1], Change) and t.changes[1].effective_at == later


def _fold(entries):
    figures: dict[str, Figures] = {}
    for args in entries:
        for pid, f in entry_deltas(*args).items():
            figures.setdefault(pid, Figures()).add(f)
    return figures


def test_statement_values_each_entry_at_the_values_it_recorded():
    at = lambda value, fee: {"point_value_minor": value, "operator_fee_bps": fee}  # noqa: E731
    figures = _fold(
        [
            ("accrual", "ptn_a", 500, {"2027-03|ptn_a": 500}, at(100, 0)),
            ("accrual", "ptn_a", 250, {"2027-03|ptn_a": 250}, at(200, 100)),
            ("redemption", "ptn_b", -100, {"2027-03|ptn_a": -100}, at(100, 0)),
            ("redemption", "ptn_b", -100, {"2027-03|ptn_a": -100}, at(200, 100)),
        ]
    )
    a = statement(figures["ptn_a"], 999, 999)  # every entry recorded its values: the fallback is never used
    assert (a.net_points, a.operator_fee_minor, a.net_amount_minor) == (-750, 250 * 200 * 100 // 10_000, -100_500)
    b = statement(figures["ptn_b"], 999, 999)
    assert (b.net_points, b.operator_fee_minor, b.net_amount_minor) == (200, 0, 100 * 100 + 100 * 200)
    assert identity(figures.values())["result"] == 0

    # one value all period: byte-identical to the single-value formula
    same = _fold(
        [
            ("accrual", "ptn_a", 333, {}, at(7, 13)),
            (
                "refund",
                "ptn_a",
                -33,
                {},
                {**at(7, 13), "reversals": [{"kind": "base", "lot": "x|ptn_a", "share": 33, "taken": 33}]},
            ),
        ]
    )["ptn_a"]
    s = statement(same, 7, 13)
    assert (s.operator_fee_minor, s.net_amount_minor) == (300 * 7 * 13 // 10_000, -300 * 7 - 300 * 7 * 13 // 10_000)

    # entries without recorded values (posted before values were recorded) fall back to the given settings
    mixed = _fold(
        [
            ("accrual", "ptn_a", 100, {}, {}),
            ("accrual", "ptn_a", 100, {}, at(200, 0)),
        ]
    )["ptn_a"]
    m = statement(mixed, 50, 1000)
    assert (m.operator_fee_minor, m.net_amount_minor) == (100 * 50 * 1000 // 10_000, -100 * 50 - 100 * 200 - 500)


# --- over the API -------------------------------------------------------------------------------------------------


def test_point_value_change_from_today_keeps_earlier_redemptions_at_their_value(coalition):
    c = coalition
    cafe, store = c.ids["cafe"], c.ids["store"]
    anna = enrol(c.cafe)
    assert accrue(c.cafe, anna, "A-1", 1_000_000)["points"] == 500  # 5 % of 10,000.00 at 1.00 a point
    assert redeem(c.store, anna, "S-1", 100)["discount_minor"] == 10_000
    before = rows(report(c))[store]
    assert before["net_amount_minor"] == 10_000

    changed = put_program(c, {"point_value_minor": 200, "effective_from": TODAY})
    assert changed["point_value_minor"] == 200 and changed["scheduled_changes"] == []
    assert redeem(c.store, anna, "S-2", 100)["discount_minor"] == 20_000
    assert accrue(c.cafe, anna, "A-2", 1_000_000)["points"] == 250  # earned at the new value

    rep = report(c)
    got = rows(rep)
    # the first redemption keeps its 100.00; only the second is worth 200.00
    assert (got[store]["accepted_points"], got[store]["net_amount_minor"]) == (200, 100 * 100 + 100 * 200)
    assert (got[cafe]["issued_points"], got[cafe]["net_amount_minor"]) == (750, -(500 * 100 + 250 * 200))
    assert rep["point_value_minor"] == 200  # in force at the period's end
    assert rep["identity"]["result"] == 0 and reconciled(c)


def test_default_point_value_change_leaves_the_open_month_alone(coalition, clock):
    c = coalition
    store = c.ids["store"]
    anna = enrol(c.cafe)
    accrue(c.cafe, anna, "A-1", 1_000_000)
    redeem(c.store, anna, "S-1", 100)
    march = without_time(report(c))

    changed = put_program(c, {"point_value_minor": 200})
    assert changed["point_value_minor"] == 100
    assert changed["scheduled_changes"] == [
        {"effective_from": "2026-04-01", "point_value_minor": 200, "operator_fee_bps": None}
    ]
    assert without_time(report(c)) == march  # the open month is untouched
    assert redeem(c.store, anna, "S-2", 100)["discount_minor"] == 10_000  # still March's value
    march_after = without_time(report(c))
    assert rows(march_after)[store]["net_amount_minor"] == 20_000 and march_after["point_value_minor"] == 100
    assert {k: v for k, v in march_after.items() if k not in ("partners", "totals", "matrix", "identity")} == {
        k: v for k, v in march.items() if k not in ("partners", "totals", "matrix", "identity")
    }

    clock.set(datetime(2026, 3, 31, 21, 0, 1, tzinfo=UTC))  # 00:00:01 on 1 April in Moscow
    now = c.operator.get("/v1/admin/program").json
    assert now["point_value_minor"] == 200 and now["scheduled_changes"] == []
    assert redeem(c.store, anna, "S-3", 100)["discount_minor"] == 20_000
    assert without_time(report(c)) == march_after  # April's entries do not touch March
    assert rows(report(c, "2026-04"))[store]["net_amount_minor"] == 20_000
    assert reconciled(c) and reconciled(c, "2026-04")
    assert [c.operator.get(f"/v1/admin/settlements/{p}").status for p in ("0000-01", "9999-12")] == [422, 422]


def test_operator_fee_change_applies_from_its_date_only(coalition, clock):
    c = coalition
    cafe = c.ids["cafe"]
    anna = enrol(c.cafe)
    accrue(c.cafe, anna, "A-1", 1_000_000)  # 500 points at fee 0
    put_program(c, {"operator_fee_bps": 1000})  # default: from April
    assert rows(report(c))[cafe]["operator_fee_minor"] == 0
    put_program(c, {"operator_fee_bps": 100, "effective_from": TODAY})
    accrue(c.cafe, anna, "A-2", 2_000_000)  # 1,000 points at 1 %
    row = rows(report(c))[cafe]
    assert row["operator_fee_minor"] == 1000 * 100 * 100 // 10_000
    assert row["net_amount_minor"] == -1500 * 100 - 1000
    program = c.operator.get("/v1/admin/program").json
    assert program["operator_fee_bps"] == 100
    assert program["scheduled_changes"] == [
        {"effective_from": "2026-04-01", "point_value_minor": None, "operator_fee_bps": 1000}
    ]
    rep = report(c)
    assert rep["operator_fee_bps"] == 100 and rep["identity"]["result"] == 0 and reconciled(c)
    clock.set(datetime(2026, 4, 2, 9, tzinfo=UTC))
    accrue(c.cafe, enrol(c.cafe, "+79160000002"), "A-3", 1_000_000)  # another customer: still bronze
    assert rows(report(c, "2026-04"))[cafe]["operator_fee_minor"] == 500 * 100 * 1000 // 10_000
    assert rows(report(c))[cafe] == {**row, "generated_at": rows(report(c))[cafe]["generated_at"]}


def test_earn_rate_change_applies_only_to_accruals_after_it(coalition, clock):
    c = coalition
    cafe = c.ids["cafe"]
    anna = enrol(c.cafe)
    r = c.operator.call("PATCH", f"/v1/admin/partners/{cafe}", {"earn_rate_bps": 1000, "effective_from": "2026-03-12"})
    assert r.status == 200 and r["earn_rate_bps"] == 500
    assert r["scheduled_changes"] == [
        {"effective_from": "2026-03-12", "earn_rate_bps": 1000, "max_redeem_share_bps": None}
    ]
    assert accrue(c.cafe, anna, "A-1", 100_000)["points"] == 50
    clock.set(datetime(2026, 3, 11, 20, 59, tzinfo=UTC))  # 23:59 on the 11th in Moscow
    assert accrue(c.cafe, anna, "A-2", 100_000)["points"] == 50
    clock.set(datetime(2026, 3, 11, 21, 0, tzinfo=UTC))  # midnight: the 12th
    assert accrue(c.cafe, anna, "A-3", 100_000)["points"] == 100
    now = c.operator.get(f"/v1/admin/partners/{cafe}").json
    assert now["earn_rate_bps"] == 1000 and now["scheduled_changes"] == []
    directory = {p["partner_id"]: p["earn_rate_bps"] for p in c.store.get("/v1/partners")["items"]}
    assert directory[cafe] == 1000
    # a default change waits for the next period
    r = c.operator.call("PATCH", f"/v1/admin/partners/{cafe}", {"earn_rate_bps": 200})
    assert r["earn_rate_bps"] == 1000 and r["scheduled_changes"][0]["effective_from"] == "2026-04-01"
    assert accrue(c.cafe, anna, "A-4", 100_000)["points"] == 100
    row = rows(report(c))[cafe]
    assert row["issued_points"] == 300 and row["net_amount_minor"] == -30_000 and reconciled(c)


def test_max_redeem_share_change_is_scheduled_too(coalition):
    c = coalition
    store = c.ids["store"]
    anna = enrol(c.cafe)
    accrue(c.cafe, anna, "A-1", 10_000_000)  # 5,000 points
    c.operator.call("PATCH", f"/v1/admin/partners/{store}", {"max_redeem_share_bps": 1000})  # from April
    assert redeem(c.store, anna, "S-1", 500, order_amount=100_000)["points"] == 500  # 50 % of 1,000.00 still
    r = c.operator.call("PATCH", f"/v1/admin/partners/{store}", {"max_redeem_share_bps": 1000, "effective_from": TODAY})
    assert r["max_redeem_share_bps"] == 1000
    capped = c.store.post(
        "/v1/redemptions", {"customer_id": anna, "order_id": "S-2", "order_amount_minor": 100_000, "points": 500}
    )
    assert capped.status == 422 and capped["max_points"] == 100


def test_effective_from_is_checked(coalition):
    c = coalition
    cafe = c.ids["cafe"]
    past = put_program(c, {"point_value_minor": 200, "effective_from": "2026-03-09"}, 422)
    assert past["errors"][0]["loc"] == ["body", "effective_from"] and past["errors"][0]["type"] == "date_in_past"
    r = c.operator.call("PATCH", f"/v1/admin/partners/{cafe}", {"earn_rate_bps": 1, "effective_from": "2026-03-09"})
    assert r.status == 422 and r["errors"][0]["type"] == "date_in_past"
    alone = put_program(c, {"expiry_months": 6, "effective_from": TODAY}, 422)
    assert alone["errors"][0]["loc"] == ["body", "effective_from"]
    assert put_program(c, {"point_value_minor": 200, "effective_from": "2026-02-30"}, 422)["errors"][0]["loc"] == [
        "body",
        "effective_from",
    ]
    # non-money settings apply at once, alongside a scheduled money change
    both = put_program(c, {"expiry_months": 6, "point_value_minor": 300})
    assert both["expiry_months"] == 6 and both["point_value_minor"] == 100
    assert both["scheduled_changes"][0]["point_value_minor"] == 300
    r = c.operator.call("PATCH", f"/v1/admin/partners/{cafe}", {"name": "Кафе", "earn_rate_bps": 900})
    assert r["name"] == "Кафе" and r["earn_rate_bps"] == 500


def test_currency_is_fixed_once_partners_exist(api):
    r = api.call("PUT", "/v1/admin/program", {"currency": "KZT"})
    assert r.status == 200 and r["currency"] == "KZT"
    assert api.post("/v1/admin/partners", {"name": "Cafe", "spend_confirmation": "never"}).status == 201
    refused = api.call("PUT", "/v1/admin/program", {"currency": "USD"})
    assert refused.status == 422 and refused["errors"][0]["loc"] == ["body", "currency"]
    assert api.call("PUT", "/v1/admin/program", {"currency": "KZT"}).status == 200
    assert api.get("/v1/admin/program")["currency"] == "KZT"
