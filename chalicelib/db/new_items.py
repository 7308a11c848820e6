"""New items on the write path (a ledger entry, a replay record, an order, an event) as a transaction's Put sends
them, straight from their values: ``serialized(built(...))`` without building the pynamodb item (its defaults, a
``MapAttribute`` per map) only to take it apart again. tests/test_item_codec.py holds it byte for byte against
pynamodb's own ``TransactWrite`` on every model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import Attribute, MapAttribute

from chalicelib.db.codec import _map_values, _top, _writer, built, serialized
from chalicelib.db.expressions import _Unsure, _wire
from chalicelib.db.models import _Item

__all__ = ["put_item", "wire_item"]

# Per model: the names it declares, and (name, DynamoDB type, may be null, default of a new item) per attribute but
# the key, in the model's order
_Fresh = tuple[frozenset[str], tuple[tuple[str, str, bool, Any], ...]]
_fresh: dict[type[_Item], _Fresh | None] = {}


def _new_item_plan(model: type[_Item]) -> _Fresh | None:
    if model not in _fresh:
        writer, declared = _writer(model), model.get_attributes()
        _fresh[model] = (
            None
            if writer is None
            else (
                frozenset(declared),
                tuple(
                    (name, kind, nullable, _default_for_new(declared[name]))
                    for name, kind, nullable in writer
                    if name != "pk" and name != "sk"
                ),
            )
        )
    return _fresh[model]


def _default_for_new(attr: Attribute[Any]) -> Any:
    fresh = attr.default_for_new
    return fresh if fresh is not None else attr.default


_ABSENT = object()
_ARGS = frozenset(MapAttribute.attribute_args)  # keys a map sets after the others (``codec._map_values``)


def wire_item(model: type[_Item], hash_key: str, range_key: str, **attributes: Any) -> dict[str, dict[str, Any]]:
    """``serialized(built(model, hash_key, range_key, **attributes))`` with the key first, as a transaction's Put
    sends it (``tx._operation``), without building the item: a new item on the write path (an entry, a replay
    record, an order, an event) goes to the wire straight from its values. Anything this module does not write
    itself (an odd value, a model it has no plan for) goes through pynamodb, which also raises its own errors."""
    plan = _fresh[model] if model in _fresh else _new_item_plan(model)
    if plan is None or not attributes.keys() <= plan[0]:
        return put_item(serialized(built(model, hash_key, range_key, **attributes)))
    out: dict[str, dict[str, Any]] = {"pk": {"S": hash_key}, "sk": {"S": range_key}}
    try:
        for name, dynamo_type, nullable, default in plan[1]:
            value = attributes.get(name, _ABSENT)
            if value is _ABSENT:
                value = default() if callable(default) else default
            kind = type(value)
            if kind is str and dynamo_type == "S":
                out[name] = {"S": value}
            elif kind is int and dynamo_type == "N":
                out[name] = {"N": str(value)}
            elif value is None:
                if not nullable:
                    raise _Unsure  # pynamodb raises AttributeNullError
            elif dynamo_type == "M" and (kind is dict or isinstance(value, Mapping)):  # a dict: MapAttribute(**value)
                in_order = value if kind is dict and _ARGS.isdisjoint(value) else _map_values(value)
                out[name] = {"M": {k: _wire(v) for k, v in in_order.items()}}
            else:
                out[name] = _top(dynamo_type, value)
    except _Unsure:
        return put_item(serialized(built(model, hash_key, range_key, **attributes)))
    return out


def put_item(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A transaction's Put ``Item``: the key first (pynamodb's ``get_operation_kwargs`` puts it there)."""
    return {"pk": attributes.pop("pk"), "sk": attributes.pop("sk"), **attributes}
