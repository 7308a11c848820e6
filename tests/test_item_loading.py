"""Items read from the table become the same model instances with ``db.loading.loaded`` as with pynamodb's own
``Model.from_raw_data``: every model, every attribute present, absent or NULL, maps nested, numbers of every shape."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import AttributeDeserializationError

import chalicelib.db  # noqa: F401 - every model module, so that _Item knows all its subclasses
from chalicelib.db.loading import loaded
from chalicelib.db.models import CustomerItem, _Item

MODELS = sorted(_Item.__subclasses__(), key=lambda m: m.__name__)

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
