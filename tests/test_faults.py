"""DynamoDB faults. A lost response after commit resolves to exactly one effect; conflicts and throttling
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


# --- botocore resends a TransactWriteItems that had committed ------------------------------------------


@pytest.fixture
def resent_after_commit():
    """botocore itself retries a transaction that DynamoDB (moto) had applied: the first TransactWriteItems of the
    next request reaches moto, then its answer is lost as a read timeout, so botocore's retry handler sends the same
    call again. moto ignores ClientRequestToken, so the resent copy fails its own conditions, as a DynamoDB that had
    forgotten the token would. Every TransactWriteItems body is kept in ``sent``."""
    import json

    events = db.connection().client.meta.events
    state = {"armed": 0, "sent": []}

    def lose_answer(request, **_):
        if request.headers.get("X-Amz-Target") != "DynamoDB_20120810.TransactWriteItems":
            return
        body = json.loads(request.body)
        state["sent"].append(body)
        if state["armed"]:
            state["armed"] -= 1
            assert applied(body), "the call must have reached moto before its answer is lost"
            raise ReadTimeoutError(endpoint_url=request.url)

    def applied(body):
        put = next(i["Put"] for i in body["TransactItems"] if "Put" in i)
        key = {"pk": put["Item"]["pk"], "sk": put["Item"]["sk"]}
        return "Item" in db.connection().client.get_item(TableName=put["TableName"], Key=key, ConsistentRead=True)

    # botocore calls handlers of more specific event names first, so this one is registered on moto's own event
    # name ("before-send"): registered later, it runs after moto's stubber has applied the call.
    events.register("before-send", lose_answer, unique_id="test-lose-answer")
    yield state
    events.unregister("before-send", unique_id="test-lose-answer")


def _tokens(sent):
    return [body.get("ClientRequestToken") for body in sent]


def test_a_capture_resent_by_botocore_after_it_committed_answers_captured_once(coalition, resent_after_commit):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
    held = c.store.post(
        "/v1/redemptions",
        {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 40, "capture": False},
    )
    assert held.status == 201
    resent_after_commit.update(armed=1, sent=[])
    r = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture")
    assert r.status == 200 and r["status"] == "captured" and r["points"] == 40, r.json
    assert "Idempotent-Replayed" not in r.headers
    sent = resent_after_commit["sent"]
    assert len(sent) == 2 and sent[0] == sent[1]  # botocore resent the very same call
    token = _tokens(sent)[0]
    assert token and len(token) <= 36
    balance = c.store.get(f"/v1/customers/{cid}/balance")
    assert (balance["available"], balance["held"]) == (60, 0)
    kinds = sorted(e.type for e in db.EntryItem.scan() if e.sk.startswith("E#"))
    assert kinds == ["accrual", "capture", "hold"]


def test_a_campaign_creation_resent_by_botocore_makes_one_campaign(coalition, resent_after_commit):
    c = coalition
    body = {"name": "Кофе", "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 100}}
    resent_after_commit.update(armed=1, sent=[])
    r = c.cafe.post("/v1/campaigns", body)
    assert r.status == 201, r.json
    assert [i.campaign_id for i in db.CampaignItem.scan() if i.sk == "CAMPAIGN"] == [r["campaign_id"]]
    assert c.cafe.get("/v1/campaigns")["items"][0]["campaign_id"] == r["campaign_id"]
    sent = resent_after_commit["sent"]
    assert len(sent) == 2 and len(set(_tokens(sent))) == 1 and _tokens(sent)[0]


def test_an_accrual_resent_by_botocore_is_its_own_answer_and_earns_once(coalition, resent_after_commit):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    resent_after_commit.update(armed=1, sent=[])
    r = accrue(c.cafe, cid, "A-1", 200_000)
    assert r.status == 201 and r["points"] == 100
    assert "Idempotent-Replayed" not in r.headers  # found its own record: not a replay of someone else's request
    assert len(resent_after_commit["sent"]) == 2
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 100
    assert [e.type for e in db.EntryItem.scan() if e.sk.startswith("E#")] == ["accrual"]


def test_every_transaction_carries_a_client_request_token(coalition, resent_after_commit):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)
    c.cafe.post("/v1/campaigns", {"name": "X", "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 1}})
    tokens = _tokens(resent_after_commit["sent"])
    assert len(tokens) == 3 and all(t and len(t) <= 36 for t in tokens) and len(set(tokens)) == 3
