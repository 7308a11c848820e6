"""The DynamoDB adapter against moto: the guards hold even when the domain layer is bypassed."""

import pytest

from chalicelib import db
from chalicelib.db import keys, wallets
from chalicelib.domain.wallet import Change as WalletChange
from chalicelib.errors import DuplicateOrder, RequestTooLarge
from chalicelib.machinery.idempotency import NaturalId, Plan, WriteRequest, execute
from chalicelib.machinery.wallets import apply
from chalicelib.schemas import CustomerRef
from tests.conftest import table_snapshot


def _customer(customer_id="cus_aaaaaaaaaaaaaaaa", available=0, lots=None):
    db.CustomerItem(
        *keys.customer(customer_id),
        customer_id=customer_id,
        created_at="t",
        available=available,
        lots=lots or {},
        spend={},
    ).save()
    return customer_id


def _commit_change(customer_id, change):
    """``change`` spelled against the item as read now (as every write does), with no domain check of it."""
    tx = db.Transaction()
    apply(tx, customer_id, change, "t", decided_on=wallets.read(customer_id))
    tx.put(db.AliasItem("MARKER", "X", customer_id=customer_id, created_at="t"))
    tx.commit(db.connection())


def test_available_can_never_go_below_zero(dynamo):
    cid = _customer(available=50, lots={"2027-01|p": 50})
    before = table_snapshot()
    change = WalletChange(available=-60)
    change.add_lot("2027-01|p", -60)
    with pytest.raises(db.TxCancelled) as cancelled:
        _commit_change(cid, change)
    assert cancelled.value.failed == {"wallet"}
    assert table_snapshot() == before  # the marker put in the same transaction did not land either


def test_a_lot_can_never_go_below_zero(dynamo):
    cid = _customer(available=50, lots={"2027-01|p": 5, "2027-02|q": 45})
    change = WalletChange(available=-10)
    change.add_lot("2027-01|p", -10)
    with pytest.raises(db.TxCancelled):
        _commit_change(cid, change)


def test_increments_create_missing_lots_and_spend_months(dynamo):
    cid = _customer()
    change = WalletChange(available=7, spend={"2026-03": 1_400})
    change.add_lot("2027-03|p", 7)
    _commit_change(cid, change)
    _commit_change(cid, change)
    item = db.get_one(db.CustomerItem, *keys.customer(cid))
    assert int(item.available) == 14
    assert item.lots.as_dict() == {"27030": 14} and item.partners == ["p"]  # partner p is position 0
    assert wallets.read(cid).lots == {"2027-03|p": 14}
    assert item.spend.as_dict() == {"2026-03": 2_800}


def test_get_many_returns_typed_items_and_skips_missing(dynamo):
    cid = _customer()
    found = db.get_many([(db.CustomerItem, *keys.customer(cid)), (db.PartnerItem, *keys.partner("ptn_none"))])
    assert list(found) == [keys.customer(cid)]
    assert isinstance(found[keys.customer(cid)], db.CustomerItem)


def test_a_transaction_over_dynamodbs_item_limit_is_refused_before_sending(dynamo):
    tx = db.Transaction()
    for i in range(101):
        tx.put(db.AliasItem(f"A#{i}", "X", customer_id="c", created_at="t"))
    with pytest.raises(RequestTooLarge) as refused:
        tx.commit(db.connection())
    assert (refused.value.status, refused.value.code) == (422, "request_too_large")


def _request(body_fp="b", key=None):
    return WriteRequest(
        scope="key_x", idempotency_key=key, request_fingerprint="r" + body_fp, body_fingerprint=body_fp, now_iso="t"
    )


def test_execute_records_and_replays_through_the_natural_id(dynamo):
    calls = []

    def decide(found):
        calls.append(1)
        plan = Plan(created=True, response=CustomerRef(customer_id=f"cus_{len(calls):016d}"))
        plan.tx.put(db.AliasItem(f"EFFECT#{len(calls)}", "X", customer_id="c", created_at="t"))
        return plan

    natural = NaturalId("ORDER#p#1", "ACCRUAL", DuplicateOrder)
    first = execute(_request(), natural, [], decide)
    second = execute(_request(), natural, [], decide)
    assert (first.created, first.body, first.replayed) == (True, second.body, False)
    assert second.replayed and len(calls) == 1
    with pytest.raises(DuplicateOrder):
        execute(_request("other"), natural, [], decide)
    assert db.get_one(db.AliasItem, "EFFECT#2", "X") is None


# --- DynamoDB's limits ----------------------------------------------------------------------------------


def test_get_many_reads_250_keys_in_chunks_of_100(dynamo, monkeypatch):
    from chalicelib.db import reads

    for i in range(0, 250, 2):  # every other key exists
        db.AliasItem(f"K#{i:03d}", "X", customer_id=f"c{i}", created_at="t").save()
    client = db.connection().client
    sizes = []
    real = client.batch_get_item

    def counting(**kwargs):
        sizes.append(sum(len(v["Keys"]) for v in kwargs["RequestItems"].values()))
        return real(**kwargs)

    monkeypatch.setattr(client, "batch_get_item", counting)
    found = db.get_many([(db.AliasItem, f"K#{i:03d}", "X") for i in range(250)])
    assert sorted(found) == [(f"K#{i:03d}", "X") for i in range(0, 250, 2)]
    assert all(found[(f"K#{i:03d}", "X")].customer_id == f"c{i}" for i in range(0, 250, 2))
    assert sizes == [100, 100, 50] and max(sizes) <= reads.BATCH_KEYS


class _StubClient:
    """batch_get_item that leaves the first ``stubborn`` keys unprocessed ``rounds`` times, then answers."""

    def __init__(self, table, rounds, stubborn=1):
        self.table, self.rounds, self.stubborn, self.calls = table, rounds, stubborn, 0

    def batch_get_item(self, RequestItems):
        self.calls += 1
        keys = RequestItems[self.table]["Keys"]
        held = keys[: self.stubborn] if self.rounds > 0 else []
        self.rounds -= 1
        items = [{**k, "customer_id": {"S": "c"}, "created_at": {"S": "t"}} for k in keys if k not in held]
        unprocessed = {self.table: {"Keys": held, "ConsistentRead": True}} if held else {}
        return {"Responses": {self.table: items}, "UnprocessedKeys": unprocessed}


def _stubbed(monkeypatch, stub):
    from chalicelib.db import reads

    monkeypatch.setattr(reads, "connection", lambda: type("C", (), {"client": stub})())
    monkeypatch.setattr(reads, "_sleep", lambda attempt: None, raising=False)


def test_unprocessed_keys_are_read_again(dynamo, monkeypatch):
    from chalicelib.db.models import _Item

    stub = _StubClient(_Item.Meta.table_name, rounds=3, stubborn=2)
    _stubbed(monkeypatch, stub)
    found = db.get_many([(db.AliasItem, f"K#{i}", "X") for i in range(5)])
    assert sorted(found) == [(f"K#{i}", "X") for i in range(5)] and stub.calls == 4


def test_keys_that_stay_unprocessed_are_a_503_never_a_partial_answer(dynamo, monkeypatch):
    from chalicelib.db import reads
    from chalicelib.db.models import _Item
    from chalicelib.errors import Unavailable

    stub = _StubClient(_Item.Meta.table_name, rounds=1_000)
    _stubbed(monkeypatch, stub)
    with pytest.raises(Unavailable) as busy:
        db.get_many([(db.AliasItem, f"K#{i}", "X") for i in range(5)])
    assert busy.value.status == 503 and busy.value.headers["Retry-After"]
    assert stub.calls == reads.BATCH_TRIES


def test_a_transaction_over_four_megabytes_is_refused_before_sending(dynamo):
    before = table_snapshot()
    tx = db.Transaction()
    for i in range(12):  # 12 x 350 KB: each item is legal, together they are not
        tx.put(db.AliasItem(f"BIG#{i}", "X", customer_id="x" * 350_000, created_at="t"))
    with pytest.raises(RequestTooLarge) as refused:
        tx.commit(db.connection())
    assert refused.value.code == "request_too_large" and refused.value.extra["bytes"] > 4_000_000
    assert table_snapshot() == before


def test_commit_sends_the_given_client_request_token(dynamo):
    sent = []
    events = db.connection().client.meta.events
    events.register("before-send.dynamodb.TransactWriteItems", lambda request, **_: sent.append(request.body))
    tx = db.Transaction()
    tx.put(db.AliasItem("T#1", "X", customer_id="c", created_at="t"))
    tx.commit(db.connection(), "tok-123")
    tx2 = db.Transaction()
    tx2.put(db.AliasItem("T#2", "X", customer_id="c", created_at="t"))
    tx2.commit(db.connection())
    import json

    tokens = [json.loads(body)["ClientRequestToken"] for body in sent]
    assert tokens[0] == "tok-123" and tokens[1] and len(tokens[1]) <= 36


def test_execute_records_an_error_under_the_natural_id_for_its_body_and_hides_it_from_decisions(dynamo):
    from chalicelib.db.replays import refused_sk
    from chalicelib.errors import InsufficientPoints, RecordedProblem

    seen = []

    def refuse(found):
        seen.append(dict(found))
        raise InsufficientPoints("no")

    natural = NaturalId("ORDER#p#9", "REDEMPTION", DuplicateOrder)
    with pytest.raises(InsufficientPoints):
        execute(_request(), natural, [], refuse)
    assert db.get_one(db.ReplayItem, "ORDER#p#9", "REDEMPTION") is None  # a refusal binds only its own body
    record = db.get_one(db.ReplayItem, "ORDER#p#9", refused_sk("REDEMPTION", "b"))
    assert record is not None and record.is_error and int(record.status_code) == 422
    with pytest.raises(RecordedProblem) as replayed:
        execute(_request(), natural, [], refuse)
    assert replayed.value.body == record.body and replayed.value.code == "insufficient_points"
    with pytest.raises(InsufficientPoints):  # a corrected body executes (and is refused on its own here)
        execute(_request("other"), natural, [], refuse)
    assert len(seen) == 2

    def read_it(found):
        seen.append(dict(found))
        raise InsufficientPoints("no")

    with pytest.raises(InsufficientPoints):  # another write reading that order sees no order
        execute(_request("x"), None, [(db.ReplayItem, "ORDER#p#9", "REDEMPTION")], read_it)
    assert ("ORDER#p#9", "REDEMPTION") not in seen[-1] and len(seen) == 3


def test_the_implicit_record_expires_and_names_no_nonce(dynamo):
    import time

    def decide(found):
        plan = Plan(created=True, response=CustomerRef(customer_id="cus_0000000000000001"))
        plan.tx.put(db.AliasItem("EFFECT#1", "X", customer_id="c", created_at="t"))
        return plan

    req = _request()
    execute(req, None, [], decide)
    records = [i for i in db.ReplayItem.scan() if i.pk.startswith("REQ#")]
    assert len(records) == 1 and req.nonce not in records[0].pk
    assert 86_000 < int(records[0].ttl) - time.time() <= 86_400
    execute(_request(), NaturalId("ORDER#p#2", "ACCRUAL", DuplicateOrder), [], decide)
    assert db.get_one(db.ReplayItem, "ORDER#p#2", "ACCRUAL").ttl is None  # kept forever
