"""Two writes to one order, the second committed between the first's read and its commit: replayed in one thread,
the same way every run (the threaded races in tests/test_races.py find it only when the machine interleaves them).
The order's version guard sends the first back to read the order again, so nothing it decided on a stale order
commits."""

from tests.test_api_ledger import accrue, enrol, refund
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
