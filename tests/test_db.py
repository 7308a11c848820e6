"""The DynamoDB adapter against moto: the guards hold even when the domain layer is bypassed."""

import pytest

from chalicelib import db
from chalicelib.db import keys
from chalicelib.domain.wallet import Change as WalletChange
from chalicelib.errors import DuplicateOrder, RequestTooLarge
from chalicelib.idempotency import NaturalId, Plan, WriteRequest, execute
from chalicelib.schemas import CustomerRef
from chalicelib.wallet import apply
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
    tx = db.Transaction()
    apply(tx, customer_id, change, "t")
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
    assert item.lots.as_dict() == {"2027-03|p": 14}
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
        plan = Plan(status=201, response=CustomerRef(customer_id=f"cus_{len(calls):016d}"))
        plan.tx.put(db.AliasItem(f"EFFECT#{len(calls)}", "X", customer_id="c", created_at="t"))
        return plan

    natural = NaturalId("ORDER#p#1", "ACCRUAL", DuplicateOrder)
    first = execute(_request(), natural, [], decide)
    second = execute(_request(), natural, [], decide)
    assert (first.status, first.body, first.replayed) == (201, second.body, False)
    assert second.replayed and len(calls) == 1
    with pytest.raises(DuplicateOrder):
        execute(_request("other"), natural, [], decide)
    assert db.get_one(db.AliasItem, "EFFECT#2", "X") is None
