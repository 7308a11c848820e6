"""Payments against a period's settlement, over HTTP: the operator records one, both sides see what is paid and
what is open; every hostile request (another partner, an unknown partner, a float, a replay, a lost answer) is
answered without a second payment or a second audit record."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Coalition
from tests.test_api_ledger import accrue, enrol, redeem

pytest_plugins = ("tests.wire_faults",)

if TYPE_CHECKING:
    from tests.wire_faults import Wire

PERIOD = "2026-03"
PAY = f"/v1/admin/settlements/{PERIOD}/payments"


def _trade(c: Coalition) -> None:
    """The cafe issues 500 points, the store accepts 100 of them: the cafe owes, the store is owed."""
    cid = enrol(c.cafe, phone="+79161110000")
    assert accrue(c.cafe, cid, "O-1", 1_000_000).status == 201
    assert redeem(c.store, cid, "O-2", 100_000, 100).status == 201


def _payment(c: Coalition, amount: int = -1_000, **extra: object) -> dict[str, object]:
    return {"partner_id": c.ids["cafe"], "amount_minor": amount, "paid_on": "2026-03-10", "reference": "PP-17", **extra}


def _audit_actions(c: Coalition, action: str) -> list[dict]:
    return list(c.operator.get(f"/v1/admin/audit?action={action}")["items"])


def test_a_payment_shows_as_paid_and_open_on_both_sides(coalition: Coalition):
    c = coalition
    _trade(c)
    before = c.cafe.get(f"/v1/settlements/{PERIOD}").json
    assert before["paid_minor"] == 0 and before["open_minor"] == before["net_amount_minor"] < 0
    r = c.operator.post(PAY, _payment(c, -3_000))
    assert r.status == 201, r.json
    assert r["payment_id"].startswith("pay_") and r["paid_minor"] == -3_000
    statement = c.cafe.get(f"/v1/settlements/{PERIOD}").json
    assert statement["paid_minor"] == -3_000
    assert statement["open_minor"] == statement["net_amount_minor"] + 3_000
    report = c.operator.get(f"/v1/admin/settlements/{PERIOD}").json
    row = next(p for p in report["partners"] if p["partner_id"] == c.ids["cafe"])
    assert row["paid_minor"] == -3_000 and row["open_minor"] == statement["open_minor"]
    assert report["totals"]["paid_minor"] == -3_000
    listed = c.cafe.get(f"/v1/settlements/{PERIOD}/payments").json
    assert [p["reference"] for p in listed["items"]] == ["PP-17"] and listed["paid_minor"] == -3_000
    [audited] = _audit_actions(c, "payment.recorded")
    assert audited["partner_id"] == c.ids["cafe"] and audited["before"] == {"paid_minor": 0}
    assert audited["after"]["paid_minor"] == -3_000 and audited["request_id"] == r.headers["X-Request-Id"]
    assert c.cafe.get("/v1/audit?action=payment.recorded")["items"] == [audited]
    csv = c.cafe.get(f"/v1/settlements/{PERIOD}?format=csv&headers=fields").raw.decode("utf-8-sig")
    header, row = (line.split(";") for line in csv.splitlines()[:2])
    assert row[header.index("paid_minor")] == "-3000"
    assert row[header.index("open_minor")] == str(statement["open_minor"])


def test_payments_on_a_closed_month_count_and_the_frozen_figures_stay(coalition: Coalition, clock):
    c = coalition
    _trade(c)
    clock.advance(timedelta(days=30))
    closed = c.operator.post(f"/v1/admin/settlements/{PERIOD}/close")
    assert closed.status == 200
    store = c.ids["store"]
    net = next(p for p in closed["partners"] if p["partner_id"] == store)["net_amount_minor"]
    assert net > 0
    assert c.operator.post(PAY, _payment(c, net, partner_id=store, paid_on="2026-04-05")).status == 201
    statement = c.store.get(f"/v1/settlements/{PERIOD}").json
    assert statement["status"] == "closed" and statement["paid_minor"] == net and statement["open_minor"] == 0
    [close] = _audit_actions(c, "settlement.closed")
    assert close["before"] == {"status": "open"} and close["after"]["status"] == "closed"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"amount_minor": 10.5}, "amount_minor"),
        ({"amount_minor": 10.0}, "amount_minor"),
        ({"amount_minor": "1000"}, "amount_minor"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": 10**13 + 1}, "amount_minor"),
        ({"paid_on": "2026-02-30"}, "paid_on"),
        ({"paid_on": "2026-03-11"}, "paid_on"),  # tomorrow
        ({"reference": ""}, "reference"),
        ({"reference": "PP\n17"}, "reference"),
        ({"partner_id": "not-a-partner"}, "partner_id"),
    ],
)
def test_a_bad_payment_is_refused_and_changes_nothing(coalition: Coalition, change, where):
    c = coalition
    r = c.operator.post(PAY, {**_payment(c), **change})
    assert r.status == 422, r.json
    assert any(where in e["loc"] for e in r.json["errors"])
    assert c.cafe.get(f"/v1/settlements/{PERIOD}").json["paid_minor"] == 0
    assert _audit_actions(c, "payment.recorded") == []


def test_a_payment_for_an_unknown_partner_or_month_is_refused_without_a_record(coalition: Coalition):
    c = coalition
    unknown = c.operator.post(PAY, _payment(c, partner_id="ptn_doesnotexist"), headers={"Idempotency-Key": "p-1"})
    assert unknown.status == 404
    again = c.operator.post(PAY, _payment(c, partner_id="ptn_doesnotexist"), headers={"Idempotency-Key": "p-1"})
    assert again.status == 404 and again.raw == unknown.raw
    assert c.operator.post("/v1/admin/settlements/2026-13/payments", _payment(c)).status == 422
    assert c.operator.post("/v1/admin/settlements/2026-04/payments", _payment(c)).status == 422  # not begun
    assert _audit_actions(c, "payment.recorded") == []


def test_only_the_operator_records_and_a_partner_reads_only_its_own(coalition: Coalition):
    c = coalition
    assert c.operator.post(PAY, _payment(c)).status == 201
    assert c.cafe.post(PAY, _payment(c)).status == 403
    assert c.store.get(f"/v1/settlements/{PERIOD}/payments").json == {"items": [], "paid_minor": 0}
    assert c.store.get(f"/v1/admin/settlements/{PERIOD}/payments?partner_id={c.ids['cafe']}").status == 403
    assert c.store.get(f"/v1/settlements/{PERIOD}?partner_id={c.ids['cafe']}").status == 403
    assert c.store.get(f"/v1/settlements/{PERIOD}").json["paid_minor"] == 0
    assert c.store.get("/v1/audit?action=payment.recorded")["items"] == []
    listed = c.operator.get(f"/v1/admin/settlements/{PERIOD}/payments?partner_id={c.ids['cafe']}").json
    assert listed["paid_minor"] == -1_000


def test_a_replay_records_one_payment_and_one_audit_record(coalition: Coalition):
    c = coalition
    key = {"Idempotency-Key": "pay-march-1"}
    first = c.operator.post(PAY, _payment(c), headers=key)
    second = c.operator.post(PAY, _payment(c), headers=key)
    assert first.status == second.status == 201 and first.raw == second.raw
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert c.operator.post(PAY, _payment(c, -2_000), headers=key).status == 409  # the key is bound to its body
    assert c.cafe.get(f"/v1/settlements/{PERIOD}").json["paid_minor"] == -1_000
    assert len(_audit_actions(c, "payment.recorded")) == 1


@pytest.mark.parametrize("sends", [1, 4])
@pytest.mark.parametrize("keyed", [False, True])
def test_a_lost_answer_after_commit_pays_once_and_records_once(coalition: Coalition, wire: Wire, sends, keyed):
    c = coalition
    headers = {"Idempotency-Key": "pay-lost"} if keyed else None
    wire.lose(sends)
    r = c.operator.post(PAY, _payment(c), headers=headers)
    wire.clear()
    assert r.status == 201, r.json
    assert "Idempotent-Replayed" not in r.headers
    assert c.cafe.get(f"/v1/settlements/{PERIOD}").json["paid_minor"] == -1_000
    assert len(_audit_actions(c, "payment.recorded")) == 1
    assert len(c.cafe.get(f"/v1/settlements/{PERIOD}/payments")["items"]) == 1


def test_two_payments_add_up(coalition: Coalition):
    c = coalition
    assert c.operator.post(PAY, _payment(c, -1_000)).status == 201
    assert c.operator.post(PAY, _payment(c, 250, reference="refund")).status == 201
    listed = c.cafe.get(f"/v1/settlements/{PERIOD}/payments").json
    assert [p["paid_minor"] for p in listed["items"]] == [-1_000, -750]
    [second, first] = _audit_actions(c, "payment.recorded")
    assert first["before"] == {"paid_minor": 0} and second["before"] == {"paid_minor": -1_000}
    assert second["after"]["paid_minor"] == -750


def test_a_payment_decided_on_a_stale_total_is_decided_again_not_lost(coalition: Coalition, monkeypatch):
    """Two payments at once: the later one was decided on the total read before the other landed. Its write is
    guarded by that total, so it is cancelled and decided again; both count. (Once with no total yet, once with
    one.)"""
    from chalicelib.db import payments as payments_db

    c = coalition
    real = payments_db.total_of

    def pay_on_stale_read(amount: int, stale: payments_db.Total | None) -> None:
        reads = iter([stale])  # the first decision sees the total as it was before the other payment

        def total_of(found, period, partner_id):
            return next(reads, real(found, period, partner_id))

        monkeypatch.setattr(payments_db, "total_of", total_of)
        assert c.operator.post(PAY, _payment(c, amount)).status == 201
        monkeypatch.undo()

    assert c.operator.post(PAY, _payment(c, -1_000)).status == 201
    pay_on_stale_read(-500, None)
    assert c.cafe.get(f"/v1/settlements/{PERIOD}").json["paid_minor"] == -1_500
    pay_on_stale_read(-200, payments_db.Total(-1_000, 1))
    assert c.cafe.get(f"/v1/settlements/{PERIOD}").json["paid_minor"] == -1_700
    befores = [i["before"]["paid_minor"] for i in _audit_actions(c, "payment.recorded")]
    assert befores == [-1_500, -1_000, 0]  # newest first: each decided on the total it moved
