"""New items on the write path go to the wire straight from their values (``db.new_items.wire_item``) and their
guards are written directly (``codec.RawUpdate``): the transaction's Put must be byte for byte what pynamodb's own
``TransactWrite.save`` of the model's item sends (same keys, same order, same placeholders), or fail as it fails."""

from __future__ import annotations

import functools
import json
import random
from types import MappingProxyType
from typing import Any

import pytest
from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

import chalicelib.db  # noqa: F401 - every model module, so that _Item knows all its subclasses
from chalicelib import db
from chalicelib.db import orders, outbox, replays
from chalicelib.db.codec import built, serialized
from chalicelib.db.models import EntryItem, OrderItem, ReplayItem, _Item
from chalicelib.db.new_items import put_item, wire_item, writer
from chalicelib.db.outbox_models import OutboxItem
from chalicelib.domain.events import Event
from chalicelib.domain.orders import Order
from tests.test_item_codec import MODELS, ODD_VALUES, _raws, sent_operations


def _pynamodb_put(item: _Item, condition: Condition | None = None) -> dict[str, Any]:
    with TransactWrite(connection=db.connection()) as theirs:
        theirs.save(item, condition=condition)
        put: dict[str, Any] = theirs._put_items[0]
        theirs._put_items = []
    return put


def _exact(value: Any) -> str:
    """The JSON botocore sends of it: keys in their order (a set, which botocore sends as a list: sorted)."""
    return json.dumps(value, default=lambda o: sorted(o, key=repr) if isinstance(o, set | frozenset) else repr(o))


def _given(model: type[_Item]) -> list[dict[str, Any]]:
    out = []
    for raw in _raws(model)[:2]:
        given = {k: v for k, v in model.from_raw_data(raw).attribute_values.items() if k not in ("pk", "sk")}
        given = {k: v.as_dict() if isinstance(v, MapAttribute) else v for k, v in given.items()}
        out += [given, {}, dict(list(given.items())[:1]), {k: None for k in given}]
    return out


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_new_item_goes_to_the_wire_as_pynamodb_sends_it(dynamo: None, model: type[_Item]) -> None:
    for attributes in _given(model):
        try:
            expected = _pynamodb_put(model("PK#1", "SK", **attributes))["Item"]
        except Exception as exc:  # noqa: BLE001 - whatever pynamodb raises, ours raises too
            with pytest.raises(type(exc)):
                wire_item(model, "PK#1", "SK", **attributes)
            continue
        assert _exact(wire_item(model, "PK#1", "SK", **attributes)) == _exact(expected)
    with pytest.raises(ValueError, match="does not exist"):
        wire_item(model, "PK#1", "SK", no_such_attribute=1)


@pytest.mark.parametrize("odd", ODD_VALUES, ids=repr)
def test_odd_values_go_to_the_wire_as_pynamodb_sends_them_or_fail_alike(dynamo: None, odd: Any) -> None:
    sent = 0
    for attributes in (
        {"lots": {"odd": odd, "n": 3}},
        {"details": {"null": 1, "a": odd, "default": 2}},  # map keys named like an Attribute's arguments go last
        {"amount_minor": odd},
        {"ref_id": odd},
    ):
        given: dict[str, Any] = {
            "entry_id": "e",
            "customer_id": "c",
            "partner_id": "p",
            "type": "accrual",
            "period": "2027-01",
        }
        given |= {"created_at": "t", "gsi1pk": "G1", "gsi1sk": "S", "gsi2pk": "G2", "gsi2sk": "S", **attributes}
        try:
            expected = _pynamodb_put(EntryItem("PK#1", "SK", **given))["Item"]
        except Exception as exc:  # noqa: BLE001 - whatever pynamodb raises, ours raises too
            with pytest.raises(type(exc)):
                wire_item(EntryItem, "PK#1", "SK", **given)
            continue
        assert _exact(wire_item(EntryItem, "PK#1", "SK", **given)) == _exact(expected)
        sent += 1
    assert sent  # not only refusals: some go to the wire


def _sent(tx: db.Transaction) -> list[str]:
    return [_exact(operation) for operation in sent_operations(tx)]


@pytest.mark.parametrize("over_errors", [False, True])
def test_a_replay_record_put_is_what_pynamodb_sends(dynamo: None, over_errors: bool) -> None:
    record = replays.NewRecord(
        fingerprint="f",
        status_code=201,
        body='{"a":1}',
        created_at="t",
        origin="o",
        customer_id="c",
        state={"s": 1},
        implicit=True,
    )
    tx = db.Transaction()
    replays.put(tx, "REPLAY#k", "R", record, tag="request", over_errors=over_errors)
    ttl = json.loads(_sent(tx)[0])["Item"]["ttl"]["N"]  # the record's expiry: from the wall clock
    item = ReplayItem(
        "REPLAY#k", "R", fingerprint="f", status_code=201, body='{"a":1}', created_at="t", customer_id="c"
    )
    item.state, item.origin, item.ttl = {"s": 1}, "o", int(ttl)
    assert _sent(tx) == [_exact(_pynamodb_put(item, replays._free(over_errors)))]


@pytest.mark.parametrize("previous", [None, 3])
def test_an_order_put_is_what_pynamodb_sends(dynamo: None, previous: int | None) -> None:
    order = Order(customer_id="c", amount_minor=500)
    before = None if previous is None else Order(customer_id="c", amount_minor=500, version=previous)
    tx = db.Transaction()
    orders.save(tx, "p", "o-1", order, before, "t")
    item = OrderItem(*db.keys.order_record("p", "o-1"), version=0 if previous is None else previous + 1)
    item.state, item.updated_at = order.to_dict(), "t"
    condition = OrderItem.pk.does_not_exist() if previous is None else OrderItem.version == previous
    assert _sent(tx) == [_exact(_pynamodb_put(item, condition))]


def test_an_event_put_is_what_pynamodb_sends(dynamo: None) -> None:
    event = Event("evt_1", "accrual.created", "p", "2027-01-01T00:00:00+00:00", {"points": 5, "b": "é"})
    tx = db.Transaction()
    outbox.stage(tx, [event])
    data = json.dumps(event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    item = OutboxItem(
        *db.keys.outbox("evt_1"), event_type=event.type, partner_id="p", created_at=event.created_at, data=data
    )
    assert _sent(tx) == [_exact(_pynamodb_put(item))]


def test_a_transaction_is_the_request_pynamodb_sends_and_fails_as_it_fails(
    dynamo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tx._send`` calls the connection's ``_make_api_call`` itself: the same parameters, in the same order, as
    ``Connection.transact_write_items`` and its ``dispatch`` make; a refusal is pynamodb's ``TransactWriteError``."""
    from pynamodb.connection import Connection
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.db.tx import _send

    tx = db.Transaction()
    orders.save(tx, "p", "o-1", Order(customer_id="c", amount_minor=500), None, "t")
    tx.check(ReplayItem, "REPLAY#k", "R", ReplayItem.pk.does_not_exist(), tag="r")
    tx.add_to_counter("CTR#p", "C#1", {"accrued": 7})
    items, _ = tx.operations()
    sent: list[str] = []
    original = Connection._make_api_call

    def capture(connection: Connection, operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        sent.append(_exact([operation, parameters]))
        return original(connection, operation, parameters)

    monkeypatch.setattr(Connection, "_make_api_call", capture)
    parts: dict[str, list[dict[str, Any]]] = {"ConditionCheck": [], "Delete": [], "Put": [], "Update": []}
    for item in items:
        ((kind, operation),) = item.items()
        parts[kind].append(operation)
    db.connection().transact_write_items(
        condition_check_items=parts["ConditionCheck"],
        delete_items=parts["Delete"],
        put_items=parts["Put"],
        update_items=parts["Update"],
        client_request_token="t-1",
    )
    with pytest.raises(TransactWriteError) as ours:  # the order exists now: its guard refuses, as pynamodb's did
        _send(db.connection(), items, "t-2")
    assert sent[1] == sent[0].replace('"t-1"', '"t-2"')
    assert ours.value.cause_response_code == "TransactionCanceledException"
    assert [r and r.code for r in ours.value.cancellation_reasons] == [None, "ConditionalCheckFailed", None]


_POOL: list[Any] = [
    "",
    "text",
    "é ✓ \u2028",
    0,
    7,
    -3,
    10**20,
    None,
    True,
    False,
    1.5,
    {},
    {"a": 1, "b": "x"},
    {"2027-01|p": 5, "27011": 0},
    {"null": 1, "a": 2, "default": "d"},  # keys named like a MapAttribute's arguments go last
    {"nested": {"points": 5, "lots": {"a": 1}}, "flag": False, "none": None, "list": [1, "two", {"k": 3}]},
    MappingProxyType({"p": 1, "q": "r"}),
    [1, "a", {"k": [None, ""]}],
    [],
    {1, 2},
    b"bytes",
]


def _long_way(model: type[_Item], given: dict[str, Any]) -> str | type[BaseException]:
    try:
        return _exact(put_item(serialized(built(model, "PK#1", "SK", **given))))
    except Exception as exc:  # noqa: BLE001 - the writer must fail alike
        return type(exc)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_models_generated_writer_is_the_long_way_over_many_inputs(model: type[_Item]) -> None:
    """``writer(model)`` (code generated once per model) against ``serialized(built(...))`` over random attribute
    subsets and values of every type: byte for byte the same item, or the same error."""
    names = [name for name in model.get_attributes() if name not in ("pk", "sk")]
    rng = random.Random(model.__name__)
    written = writer(model)
    fast = 0
    for _ in range(300):
        given = {name: rng.choice(_POOL) for name in rng.sample(names, rng.randint(0, len(names)))}
        if rng.random() < 0.5:  # mostly the values each attribute usually holds, so most items go all the way
            for name in given:
                kind = model.get_attributes()[name].attr_type
                given[name] = {"S": rng.choice(["", "s", "ü"]), "N": rng.randint(-9, 10**12)}.get(kind, given[name])
        expected = _long_way(model, given)
        for ours in (written, functools.partial(wire_item, model)):
            if isinstance(expected, str):
                assert _exact(ours("PK#1", "SK", **given)) == expected, given
                fast += 1
            else:
                with pytest.raises(expected):
                    ours("PK#1", "SK", **given)
    assert fast or not names  # not only refusals


def test_an_events_data_is_what_json_dumps_writes_over_many_events() -> None:
    """The event's data is written by a C encoder made once (``sorted_json.ENCODE``): the text ``json.dumps(data,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` makes, over data of every kind events carry and odd
    ones, or the same refusal."""
    rng = random.Random(11)
    leaves: list[Any] = [
        0,
        -7,
        10**20,
        1.5,
        -0.0,
        1e300,
        True,
        False,
        None,
        "",
        "é ✓",
        '"q" \\ /',
        "\x00\x1f\u2028",
        "😀",
    ]

    def value(depth: int) -> Any:
        if depth < 3 and rng.random() < 0.3:
            if rng.random() < 0.5:
                return [value(depth + 1) for _ in range(rng.randint(0, 3))]
            return {rng.choice(["b", "a", "é", "10", "2", ""]): value(depth + 1) for _ in range(rng.randint(0, 4))}
        return rng.choice(leaves)

    for n in range(500):
        data = {f"k{rng.randint(0, 9)}": value(0) for _ in range(rng.randint(0, 6))}
        tx = db.Transaction()
        outbox.stage(tx, [Event(f"evt_{n}", "accrual.created", "p", "2027-01-01T00:00:00+00:00", data)])
        sent = tx.operations()[0][0]["Put"]["Item"]
        assert sent["data"]["S"] == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for odd in ({"s": {1, 2}}, {"b": b"x"}, {1: "a", "b": 2}, {"nan": float("nan")}):
        try:
            expected = json.dumps(odd, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except TypeError:
            with pytest.raises(TypeError):
                outbox.stage(db.Transaction(), [Event("evt_x", "t", "p", "c", odd)])
            continue
        tx = db.Transaction()
        outbox.stage(tx, [Event("evt_x", "t", "p", "c", odd)])
        assert tx.operations()[0][0]["Put"]["Item"]["data"]["S"] == expected


def test_a_months_expiry_marker_is_the_put_of_its_item() -> None:
    """A credit to a month not yet marked adds the month's expiry marker, written by the model's writer: the same
    operation (item, key order, tag) as ``tx.put`` of the pynamodb item; a month already marked adds none."""
    from chalicelib.db import wallets
    from chalicelib.db.models import ExpiryIndexItem
    from chalicelib.domain.wallet import Change

    change = Change(available=5, lots={"2027-03|ptn_a": 3, "2027-01|ptn_b": 2, "2027-02|ptn_a": -1})
    ours = db.Transaction()
    wallets.apply(ours, "cus_1", change, "2026-01-05T10:00:00+00:00", marked={"2027-01"})
    theirs = db.Transaction()
    theirs.put(ExpiryIndexItem(*db.keys.expiry_index("2027-03", "cus_1"), created_at="2026-01-05T10:00:00+00:00"))
    puts = [(tag, _exact(op["Put"])) for op, tag in zip(*ours.operations(), strict=True) if "Put" in op]
    assert puts == [(tag, _exact(op["Put"])) for op, tag in zip(*theirs.operations(), strict=True)]
    assert ours.touches(*db.keys.expiry_index("2027-03", "cus_1"))
