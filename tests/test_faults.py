"""Issue 10: DynamoDB faults. A lost response after commit resolves to exactly one effect; conflicts and throttling
become a retry or a clean 409 / 503 with Retry-After; never a 500 and never half a write."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError
from pynamodb.exceptions import TransactWriteError

from chalicelib import db
from tests.conftest import table_snapshot
from tests.test_api_ledger import accrue, enrol


@pytest.fixture
def flaky_commits(monkeypatch):
    """Make the next N commits fail in a chosen way; ``mode`` 'lost' commits first, then loses the answer."""
    real = db.Transaction.commit
    plan = {"n": 0, "mode": "lost", "seen": 0}

    def commit(self, connection, token=None):
        if plan["n"] > 0:
            plan["n"] -= 1
            plan["seen"] += 1
            if plan["mode"] == "lost":
                real(self, connection, token)
                raise TransactWriteError("lost", ReadTimeoutError(endpoint_url="http://dynamodb"))
            if plan["mode"] == "conflict":
                raise db.TxCancelled(set(), retryable=True)
            raise TransactWriteError("timeout before sending", ReadTimeoutError(endpoint_url="http://dynamodb"))
        return real(self, connection, token)

    monkeypatch.setattr(db.Transaction, "commit", commit)
    return plan


def test_a_lost_commit_answer_is_resolved_to_exactly_one_accrual(coalition, flaky_commits):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    flaky_commits.update(n=2, mode="lost")
    r = accrue(c.cafe, cid, "A-1", 200_000)
    assert r.status == 201 and r["points"] == 100
    assert flaky_commits["seen"] == 1  # the second attempt found the committed record and replayed it
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 100
    entries = [e for e in db.EntryItem.scan() if e.sk.startswith("E#")]
    assert [e.type for e in entries] == ["accrual"]


def test_a_lost_answer_without_key_or_natural_id_is_resolved_by_the_requests_own_record(coalition, flaky_commits):
    c = coalition
    flaky_commits.update(n=1, mode="lost")
    r = c.cafe.post("/v1/customers", {"phone": "+79161234567"})
    assert r.status == 201 and r["created"] is True  # the implicit record told that the first attempt committed
    assert "Idempotent-Replayed" not in r.headers  # it is this request's own answer, not a replay
    assert [i.customer_id for i in db.CustomerItem.scan() if i.sk == "PROFILE"] == [r["customer_id"]]
    again = c.cafe.post("/v1/customers", {"phone": "+79161234567"})
    assert again.status == 200 and again["created"] is False


def test_transaction_conflicts_are_retried_then_reported_as_503(coalition, flaky_commits):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    flaky_commits.update(n=3, mode="conflict")
    assert accrue(c.cafe, cid, "A-1", 200_000).status == 201
    before = table_snapshot()
    flaky_commits.update(n=100, mode="conflict")
    r = accrue(c.cafe, cid, "A-2", 200_000)
    assert r.status == 503 and r.headers["Retry-After"] == "1"
    assert table_snapshot() == before  # nothing half-written
    flaky_commits.update(n=0)
    assert accrue(c.cafe, cid, "A-2", 200_000).status == 201  # the retry goes through, once
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 200
