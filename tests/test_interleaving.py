"""A write committed between another write's read and its commit, replayed in one thread the same way every run (the
threaded races in tests/test_races.py find these only when the machine happens to interleave the requests). The
guard on what the first write read sends it back to read again, so nothing it decided on a stale read commits."""

from tests.test_api_ledger import accrue, enrol, redeem, refund
from tests.test_idempotency import _interleave


def test_a_refund_committed_between_another_refunds_read_and_commit_is_not_lost(coalition, monkeypatch):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.cafe, cid, "X", 100_000)["points"] == 50

    # R-2 commits after R-1 has read the order (nothing refunded yet) and before R-1 commits.
    raced = _interleave(monkeypatch, lambda plan: len(plan.tx) > 0, lambda: refund(c.cafe, "X", "R-2", 40_000))
    first = refund(c.cafe, "X", "R-1", 40_000)
    assert raced[0].status == 201 and raced[0]["points_reversed"] == 20, raced[0].json
    assert first.status == 201 and first["points_reversed"] == 20, first.json
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 10

    # Both refunds count: 80,000 of the 100,000 are refunded, so another 40,000 exceeds the order.
    over = refund(c.cafe, "X", "R-3", 40_000)
    assert over.status == 422 and over["code"] == "refund_exceeds_order", over.json
    last = refund(c.cafe, "X", "R-4", 20_000)
    assert last.status == 201 and last["points_reversed"] == 10, last.json
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 0


def test_a_spend_committed_between_another_spends_read_and_commit_takes_no_lot_below_zero(coalition, monkeypatch):
    """Two lots of two issuers, expiring together: a spend takes the first lot first. The second spend, decided on
    the lots as they were before the first committed, must not take the first lot below zero (the balance alone
    would let it through: 100 points are left for its 60)."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.cafe, cid, "A-1", 200_000)["points"] == 100
    assert accrue(c.store, cid, "B-1", 200_000)["points"] == 60

    raced = _interleave(monkeypatch, lambda plan: len(plan.tx) > 0, lambda: redeem(c.salon, cid, "S-2", 1_000_000, 60))
    first = redeem(c.salon, cid, "S-1", 1_000_000, 60)
    assert raced[0].status == 201 and first.status == 201, (raced[0].json, first.json)
    assert c.salon.get(f"/v1/customers/{cid}/balance")["available"] == 40

    statement = c.salon.get("/v1/settlements/2026-03")
    taken = {f["issuer_partner_id"]: f["points"] for f in statement["flows"]}
    assert sum(taken.values()) == 120, taken
    assert taken.get(c.ids["cafe"], 0) <= 100 and taken.get(c.ids["store"], 0) <= 60, taken
