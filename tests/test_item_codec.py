"""Items read from the table become the same model instances with ``db.loading.loaded`` as with pynamodb's own
``Model.from_raw_data``: every model, every attribute present, absent or NULL, maps nested, numbers of every shape."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import AttributeDeserializationError, AttributeNullError

from chalicelib import db
from chalicelib.db.codec import built, keyed, loaded, plain_values, serialized
from chalicelib.db.models import CustomerItem, _Item

MODELS = sorted(db.every_model(), key=lambda m: m.__name__)  # chalicelib.db loads its modules on first use

NUMBERS = ["0", "7", "-3", "1200", "1.5", "-0.25", "1E+2", "12345678901234567890", "-0"]
MAP: dict[str, Any] = {
    "2027-01|p_1": {"N": "100"},
    "-neg": {"N": "-5"},
    "frac": {"N": "2.75"},
    "text": {"S": "x"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "nested": {"M": {"points": {"N": "5"}, "lots": {"M": {"a": {"N": "1"}}}, "who": {"S": "p"}}},
    "list": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"k": {"N": "3"}}}]},
    "set": {"SS": ["a", "b"]},
    "null": {"S": "named like an Attribute argument"},
    "default": {"N": "9"},
}


def _value(attr: Any, n: int) -> dict[str, Any]:
    if isinstance(attr, MapAttribute):
        return {"M": MAP if n % 2 else {}}
    if isinstance(attr, NumberAttribute):
        return {"N": NUMBERS[n % len(NUMBERS)]}
    if isinstance(attr, BooleanAttribute):
        return {"BOOL": bool(n % 2)}
    if isinstance(attr, ListAttribute):
        return {"L": MAP["list"]["L"] + [{"NULL": True}, {"BOOL": False}] if n % 2 else []}
    assert isinstance(attr, UnicodeAttribute)
    return {"S": f"value-{n}"}


def _raws(model: type[_Item]) -> list[dict[str, Any]]:
    attrs = model.get_attributes()
    keys = {"pk": {"S": "PK#1"}, "sk": {"S": "SK"}}
    every = {name: _value(attr, i) for i, (name, attr) in enumerate(attrs.items())}
    shifted = {name: _value(attr, i + 1) for i, (name, attr) in enumerate(attrs.items())}
    nulls = {name: {"NULL": True} for name in attrs}
    return [{**every, **keys}, {**shifted, **keys}, dict(keys), {**nulls, **keys}]


def _shape(value: Any) -> Any:
    """A value with what makes it what it is: its type, and for a map its instance state."""
    if isinstance(value, MapAttribute):
        return ("map", {k: _shape(v) for k, v in vars(value).items()})
    if isinstance(value, dict):
        return ("dict", {k: _shape(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [_shape(v) for v in value])
    return (type(value).__name__, value)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_loaded_is_what_pynamodb_builds(model: type[_Item]) -> None:
    for raw in _raws(model):
        ours, theirs = loaded(model, raw), model.from_raw_data(raw)
        assert type(ours) is type(theirs)
        assert _shape(ours.attribute_values) == _shape(theirs.attribute_values)
        assert vars(ours).keys() == vars(theirs).keys()
        assert ours.serialize(null_check=False) == theirs.serialize(null_check=False)


def test_the_customer_item_reads_as_its_model() -> None:
    raw = {"pk": {"S": "CUST#c"}, "sk": {"S": "PROFILE"}, "available": {"N": "12"}, "lots": {"M": MAP}}
    item = loaded(CustomerItem, raw)
    assert item.available == 12 and item.pending == 0 and item.phone is None
    assert item.lots.as_dict()["nested"] == {"points": 5, "lots": {"a": 1}, "who": "p"}
    assert item.spend.as_dict() == {}


def test_a_value_of_another_type_fails_as_pynamodb_does() -> None:
    raw = {"pk": {"S": "CUST#c"}, "sk": {"S": "PROFILE"}, "available": {"S": "twelve"}}
    with pytest.raises(AttributeDeserializationError):
        loaded(CustomerItem, raw)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_built_is_what_the_model_constructor_makes(model: type[_Item]) -> None:
    for raw in _raws(model)[:2]:
        given = {k: v for k, v in model.from_raw_data(raw).attribute_values.items() if k not in ("pk", "sk")}
        given = {k: v.as_dict() if isinstance(v, MapAttribute) else v for k, v in given.items()}
        for attributes in (given, {}, dict(list(given.items())[:1]), {k: None for k in given}):
            ours, theirs = built(model, "PK#1", "SK", **attributes), model("PK#1", "SK", **attributes)
            assert type(ours) is type(theirs)
            assert _shape(ours.attribute_values) == _shape(theirs.attribute_values)
    with pytest.raises(ValueError, match="does not exist"):
        built(model, "PK#1", "SK", no_such_attribute=1)


# --- to the wire ------------------------------------------------------------------------------------------------

ODD_VALUES: list[Any] = ["", None, 1.5, -2, True, [1, "a", {"k": [None, ""]}], {"x": {"y": ""}}, {1, 2}, b"bytes"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_serialized_is_what_pynamodb_sends(model: type[_Item]) -> None:
    for raw in _raws(model)[:2]:  # every attribute present (NULLs and absences are refused by both, below)
        item = loaded(model, raw)
        assert serialized(item) == item.serialize(null_check=True)


@pytest.mark.parametrize("odd", ODD_VALUES, ids=repr)
def test_odd_values_serialize_as_pynamodb_does_or_fail_alike(odd: Any) -> None:
    item = CustomerItem("CUST#c", "PROFILE", customer_id="c", created_at="t", lots={"odd": odd, "n": 3})
    for name in ("phone", "available", "marketing_consent"):
        mixed = CustomerItem("CUST#c", "PROFILE", customer_id="c", created_at="t")
        mixed.attribute_values[name] = odd
        for candidate in (item, mixed):
            try:
                expected = candidate.serialize(null_check=True)
            except (ValueError, TypeError, AttributeNullError) as exc:
                with pytest.raises(type(exc)):
                    serialized(candidate)
                continue
            assert serialized(candidate) == expected


def test_a_missing_required_attribute_fails_as_pynamodb_does() -> None:
    with pytest.raises(AttributeNullError):
        serialized(CustomerItem("CUST#c", "PROFILE", customer_id="c"))  # no created_at


def sent_operations(tx: Any) -> list[dict[str, Any]]:
    """Each operation of ``tx`` as ``Connection.get_operation_kwargs`` makes it, in the order they are sent (the
    ``TransactItems`` without their ``Put``/``Update``/... wrappers)."""
    items, _ = tx.operations()
    return [operation for item in items for operation in item.values()]


def test_transaction_operations_are_what_pynamodb_would_send(dynamo: None) -> None:
    """Each kind of operation, with conditions and update actions, as ``TransactWrite`` builds it."""
    from pynamodb.expressions.operand import Path
    from pynamodb.transactions import TransactWrite

    from chalicelib import db

    customer = CustomerItem(
        "CUST#c", "PROFILE", customer_id="c", created_at="t", available=5, lots={"2027-01|p": 5}, holds={"h": {}}
    )
    condition = (CustomerItem.available >= 3) & CustomerItem.lots["2027-01|p"].exists()
    actions = [
        CustomerItem.available.set(CustomerItem.available - 3),
        CustomerItem.lots["2027-01|p"].set((CustomerItem.lots["2027-01|p"] | 0) + 2),
        CustomerItem.holds["h"].remove(),
        Path("n").add(4),
    ]
    ours = db.Transaction()
    with TransactWrite(connection=db.connection()) as theirs:
        # in an order of kinds that is not the order they are sent in
        ours.put(customer, condition=CustomerItem.pk.does_not_exist(), tag="a")
        theirs.save(customer, condition=CustomerItem.pk.does_not_exist())
        alias = db.AliasItem("PHONE#1", "ALIAS", customer_id="c", created_at="t")
        ours.put(alias, tag="b")
        theirs.save(alias)
        ours.update(CustomerItem("CUST#c", "PROFILE"), actions, condition=condition, tag="c")
        theirs.update(CustomerItem("CUST#c", "PROFILE"), actions=actions, condition=condition)
        ours.update(db.CounterItem("CTR#p", "C#1"), [Path("accrued").add(7)], tag="d")
        theirs.update(db.CounterItem("CTR#p", "C#1"), actions=[Path("accrued").add(7)])
        ours.delete(db.AliasItem("PHONE#2", "ALIAS"), condition=db.AliasItem.customer_id == "c", tag="e")
        theirs.delete(db.AliasItem("PHONE#2", "ALIAS"), condition=db.AliasItem.customer_id == "c")
        ours.check(db.ReplayItem, "REPLAY#k", "R", db.ReplayItem.pk.does_not_exist(), tag="f")
        theirs.condition_check(db.ReplayItem, "REPLAY#k", "R", condition=db.ReplayItem.pk.does_not_exist())
        expected = [
            *theirs._condition_check_items,
            *theirs._delete_items,
            *theirs._put_items,
            *theirs._update_items,
        ]
        theirs._condition_check_items = theirs._delete_items = theirs._put_items = theirs._update_items = []
    assert sent_operations(ours) == expected
    assert ours.operations()[1] == ["f", "e", "a", "b", "c", "d"]  # each tag beside its operation
    # An update's target that names only its key (codec.keyed) sends the same operation.
    only_key = db.Transaction()
    only_key.update(keyed(CustomerItem, "CUST#c", "PROFILE"), actions, condition=condition, tag="c")
    assert sent_operations(only_key) == [expected[4]]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_has_the_fast_path(model: type[_Item]) -> None:
    """A model with an attribute type db/codec.py does not know is read and written by pynamodb itself: correct,
    but every request touching it pays pynamodb's constructor again (teach codec the type, and this test)."""
    from chalicelib.db.codec import _plan

    assert _plan(model) is not None, [type(a).__name__ for a in model.get_attributes().values()]


def _plain_maps(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.attribute_values if type(v) is MapAttribute else v for k, v in values.items()}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_plain_values_are_the_loaded_items_values_with_maps_as_dicts(model: type[_Item]) -> None:
    """``codec.plain_values``: the attribute values ``loaded`` gives, each raw map as its plain dict (same keys in
    the same order, keys named like an Attribute argument last as in the map), or None where pynamodb decodes;
    asked for some attributes only, just those."""
    for raw in _raws(model):
        plain = plain_values(model, raw)
        if plain is None:
            continue
        expected = _plain_maps(loaded(model, raw).attribute_values)
        assert _shape(plain) == _shape(expected)
        some = frozenset(list(model.get_attributes())[1::2])
        assert _shape(plain_values(model, raw, some)) == _shape({k: v for k, v in expected.items() if k in some})
        assert list(plain) == list(expected) and all(
            list(plain[k]) == list(expected[k]) for k in plain if isinstance(plain[k], dict)
        )
    assert plain_values(CustomerItem, {"pk": {"S": "CUST#c"}, "available": {"S": "not a number"}}) is None


def _customer_items() -> list[dict[str, Any]]:
    keys = {"pk": {"S": "CUST#c_1"}, "sk": {"S": "PROFILE"}, "customer_id": {"S": "c_1"}}
    n = lambda v: {"N": str(v)}  # noqa: E731
    hold = {"points": n(30), "expires_at": {"S": "2026-05-11T00:00:00+00:00"}, "lots": {"M": {"27010": n(30)}}}
    old_hold = {**hold, "partner_id": {"S": "ptn_b"}, "order_id": {"S": "H|2"}, "lots": {"M": {"2027-01|ptn_b": n(5)}}}
    rich = {
        **keys,
        "phone": {"S": "+79160000001"},
        "name": {"S": "Анна «Ёлка» 金 🥇"},
        "locale": {"S": "en"},
        "marketing_consent": {"BOOL": True},
        "created_at": {"S": "2026-01-01T00:00:00+00:00"},
        "available": n(150),
        "pending": n(20),
        "held": n(35),
        "partners": {"L": [{"S": "ptn_a"}, {"S": "ptn_b"}]},
        "lots": {"M": {"27010": n(100), "27021": n(50), "2026-06|ptn_c": n(0)}},
        "spend": {"M": {"2026-04": n(1_500_000), "2026-05": n(-20)}},
        "holds": {"M": {"ptn_a|H-1": {"M": hold}, "ptn_b|old": {"M": old_hold}}},
        "pending_lots": {"M": {"2026-05-20T00:00:00+00:00|2027-05|ptn_a": n(20)}},
        "bonus_days": {"M": {"2026-05-10|birthday": n(1)}},
        "last_purchase": {"M": {"0": {"S": "2026-05-01T10:00:00+00:00"}, "ptn_b": {"S": "2026-04-01T00:00:00+00:00"}}},
        "campaign_awards": {"M": {"null": n(1), "cmp_1": n(2)}},  # a key named like an Attribute argument
        "email": {"S": "a@example.com"},
        "channel": {"S": "email"},
        "signed_out_at": {"S": "2026-02-01T00:00:00+00:00"},
    }
    nulls = {**keys, **{name: {"NULL": True} for name in ("phone", "name", "lots", "holds", "partners", "spend")}}
    deleted = {**rich, "deleted_at": {"S": "2026-05-01T00:00:00+00:00"}, "phone": {"NULL": True}}
    zero = {**keys, "available": n(0), "pending": n(0), "held": n(0), "lots": {"M": {}}, "holds": {"M": {}}}
    # Without holds or odd keys: what ``wallet_reads`` decodes straight from the typed values
    plain = {k: v for k, v in rich.items() if k != "holds"} | {"campaign_awards": {"M": {"cmp_1": n(2)}}}
    odd_numbers = {**plain, "available": {"N": "150.0"}, "spend": {"M": {"2026-04": {"N": "1e3"}}}}
    odd_partner = {**plain, "partners": {"L": [{"S": "ptn_a"}, {"N": "7"}]}}
    return [rich, dict(keys), nulls, deleted, zero, plain, odd_numbers, odd_partner]


def test_a_customer_item_decodes_straight_into_the_wallet_and_customer_pynamodb_gives() -> None:
    """The customer item read without a pynamodb item (``wallets.wallet_of_raw``, ``customers.from_found``) is the
    wallet and customer that pynamodb's ``CustomerItem`` gives: compact and older lot keys, holds of both spellings,
    NULL and absent attributes, a deleted account, a zero balance, non-ASCII names."""
    from chalicelib.db import customers, keys, wallets

    fields = [f for f in customers.Customer.__dataclass_fields__ if f != "wallet"]
    for raw in _customer_items():
        item = CustomerItem.from_raw_data(raw)
        expected = wallets.wallet_of(item)
        decoded = wallets.wallet_of_raw(raw)
        assert decoded == expected and decoded.stored_as == expected.stored_as
        assert list(decoded.lots) == list(expected.lots) and list(decoded.holds) == list(expected.holds)
        found = {keys.customer("c_1"): raw}
        customer = customers.from_found(found, "c_1")
        assert customer is not None and customer.wallet == expected
        for name in fields:
            stored = getattr(item, name, None)
            want = {"customer_id": stored or "", "created_at": stored or "", "marketing_consent": bool(stored)}
            assert getattr(customer, name) == want.get(name, stored), name
        assert customers.deleted(found, "c_1") is bool(item.deleted_at)
        assert wallets.load(found, "c_1") == expected
        with patch.object(customers, "get_one_raw", lambda pk, sk, raw=raw: raw):
            assert customers.live_wallet("c_1") == (None if item.deleted_at else expected)
    assert customers.from_found({}, "c_1") is None and not customers.deleted({}, "c_1")


def test_a_well_formed_customer_item_decodes_without_the_general_path() -> None:
    """The items every request reads (whole numbers, no hold) take the direct path; the others the general one."""
    from chalicelib.db.wallet_reads import _well_formed

    taken = [_well_formed(raw) is not None for raw in _customer_items()]
    assert taken == [False, True, False, False, True, True, False, False]


def test_every_module_that_declares_items_is_listed_so_every_model_finds_it() -> None:
    """chalicelib.db loads its modules on first use: ``db.every_model`` (the codec's and the template's checks) finds
    an item class only in a module that ``db.MODEL_MODULES`` lists."""
    import ast
    from pathlib import Path

    package = Path(db.__file__).parent
    declaring = {
        path.stem
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and any(getattr(base, "id", "") == "_Item" for base in node.bases)
    }
    assert declaring == set(db.MODEL_MODULES)


def test_an_item_class_loaded_after_the_binding_shares_the_instances_client(dynamo: None) -> None:
    """A model module that loads on a later request (after ``runtime.configure`` bound and shared the client) must
    not build a client of its own (a new botocore session: ~100 ms on that request) nor miss the table's binding."""
    from pynamodb.attributes import UnicodeAttribute

    class LateItem(_Item):
        note = UnicodeAttribute(null=True)

    LateItem(pk="LATE#1", sk="X", note="n").save()
    assert LateItem._get_connection().connection is db.reads.connection()
    assert LateItem.get("LATE#1", "X").note == "n"
