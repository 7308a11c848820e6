"""Items to and from DynamoDB's typed attribute values, as pynamodb makes them, at a fraction of its CPU.

Every request reads the customer item (a dozen maps) and writes a few items; pynamodb builds each item read through
its constructor, sets every default twice and routes every map key through ``__setattr__``, and serializes each
number through ``json.dumps``. :func:`loaded` builds the same instance as ``Model.from_raw_data`` (same class, same
``attribute_values``, the same ``MapAttribute`` objects); :func:`serialized` gives what ``Model.serialize`` gives.
Both only for models made of the attribute types ours use; any other model, or a value of another type than
expected, goes through pynamodb itself (which also raises its own errors). tests/test_item_codec.py holds each side
by side with pynamodb on every model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pynamodb.attributes import (
    DESERIALIZE_CLASS_MAP,
    Attribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import NULL

from chalicelib.db.expressions import RawUpdate, _Unsure, _wire, typed
from chalicelib.db.models import _Item

__all__ = ["RawUpdate", "built", "keyed", "loaded", "plain_values", "serialized", "typed"]

ItemT = TypeVar("ItemT", bound=_Item)

_MAP_ARGS = tuple(MapAttribute.attribute_args)  # names MapAttribute.__init__ sets last (hash_key, null, default...)

# (name, DynamoDB type, from the wire, default, a map) per attribute, or None: use pynamodb
_Plan = tuple[tuple[str, str, Callable[[Any], Any], Any, bool], ...]
_plans: dict[type[_Item], _Plan | None] = {}
_parts: dict[tuple[type[_Item], frozenset[str]], _Plan | None] = {}  # plans of some attributes (``plain_values``)


def _same(value: Any) -> Any:
    return value


def _number(value: Any) -> Any:
    """NumberAttribute.deserialize (``json.loads``: "5" -> 5, "1.5" -> 1.5); a whole number as DynamoDB writes it
    (ASCII digits, no leading zero) is the same ``int`` without the JSON parser."""
    whole = whole_number(value)
    return json.loads(value) if whole is None else whole


def whole_number(value: str) -> int | None:
    """A number as DynamoDB writes a whole one (ASCII digits, no leading zero, maybe a minus): its ``int``, what
    ``json.loads`` makes of it; None for any other spelling."""
    digits = value[1:] if value[:1] == "-" else value
    if digits.isascii() and digits.isdigit() and (digits[0] != "0" or len(digits) == 1):
        return int(value)
    return None


def _plain(dynamo_type: str, value: Any) -> Any:
    """One value of a raw map, as ``MapAttribute.deserialize`` makes it (``DESERIALIZE_CLASS_MAP``)."""
    if dynamo_type == "S":
        return value
    if dynamo_type == "N":
        return _number(value)
    if dynamo_type == "M":
        return _raw(value)
    if dynamo_type == "BOOL":
        return bool(value)
    return DESERIALIZE_CLASS_MAP[dynamo_type].deserialize(value)


def _raw(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(t, x) for k, v in values.items() for t, x in v.items()}


def _raw_map(values: Any) -> MapAttribute[Any, Any]:
    if not values:  # most of a customer item's maps are empty: no key can be named like an Attribute argument
        instance: MapAttribute[Any, Any] = MapAttribute.__new__(MapAttribute)
        object.__setattr__(instance, "attribute_kwargs", {})
        object.__setattr__(instance, "attribute_values", {})
        return instance
    return _map(_raw(values))


def _raw_list(values: Any) -> list[Any]:
    """An untyped ``ListAttribute.deserialize``: each element as a raw map's value."""
    return [_plain(t, x) for v in values for t, x in v.items()]


def _map(values: Mapping[str, Any]) -> MapAttribute[Any, Any]:
    """``MapAttribute(**values)``, as ``MapAttribute.__set__`` makes it of a dict: the keys named like
    ``Attribute.__init__``'s arguments are set after the others."""
    instance: MapAttribute[Any, Any] = MapAttribute.__new__(MapAttribute)
    kwargs = {name: values[name] for name in _MAP_ARGS if name in values}
    object.__setattr__(instance, "attribute_kwargs", kwargs)
    object.__setattr__(instance, "attribute_values", _map_values(values, kwargs))
    return instance


def _map_values(values: Mapping[str, Any], kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A ``MapAttribute(**values)``'s ``attribute_values``: in their order, but the keys named like
    ``Attribute.__init__``'s arguments last (set after the others)."""
    if kwargs is None:
        kwargs = {name: values[name] for name in _MAP_ARGS if name in values}
    attribute_values = {k: v for k, v in values.items() if k not in kwargs} if kwargs else dict(values)
    attribute_values.update(kwargs)
    return attribute_values


def _reader(attr: Attribute[Any]) -> Callable[[Any], Any] | None:
    kind = type(attr)
    if kind is UnicodeAttribute:
        return _same
    if kind is NumberAttribute:
        return _number
    if kind is BooleanAttribute:
        return bool
    if kind is MapAttribute:  # a raw map; a typed one (a subclass) goes through pynamodb
        return _raw_map
    if isinstance(attr, ListAttribute) and kind is ListAttribute and attr.element_type is None:  # untyped
        return _raw_list
    return None


def _plan(model: type[_Item]) -> _Plan | None:
    if model in _plans:
        return _plans[model]
    plan: _Plan | None = None
    if getattr(model, "_discriminator", None) is None:
        steps: list[tuple[str, str, Callable[[Any], Any], Any, bool]] | None = []
        for name, attr in model.get_attributes().items():
            read = _reader(attr)
            if read is None or attr.attr_name != name or steps is None:
                steps = None
                break
            steps.append((name, attr.attr_type, read, attr.default, isinstance(attr, MapAttribute)))
        plan = tuple(steps) if steps is not None else None
    _plans[model] = plan
    return plan


def loaded(model: type[ItemT], raw: dict[str, Any]) -> ItemT:
    """``model.from_raw_data(raw)``: an item as DynamoDB returned it (typed attribute values), as its model."""
    plan = _plan(model)
    if plan is None:
        return model.from_raw_data(raw)
    values: dict[str, Any] = {}
    for name, dynamo_type, read, default, is_map in plan:
        stored = raw.get(name)
        if stored and NULL not in stored:
            if dynamo_type not in stored:  # a value of another type than declared: pynamodb's own error
                return model.from_raw_data(raw)
            values[name] = read(stored[dynamo_type])
            continue
        value = default() if callable(default) else default
        if value is None:
            continue
        values[name] = _map(value) if is_map and isinstance(value, Mapping) else value  # as MapAttribute.__set__
    item: ItemT = model.__new__(model)
    item.attribute_values = values
    return item


def _part(model: type[_Item], only: frozenset[str]) -> _Plan | None:
    if (model, only) not in _parts:
        plan = _plan(model)
        _parts[model, only] = None if plan is None else tuple(step for step in plan if step[0] in only)
    return _parts[model, only]


def plain_values(model: type[_Item], raw: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any] | None:
    """``loaded(model, raw).attribute_values`` with each map as its plain dict of values (what ``as_dict`` of it
    gives, keys in the same order), for readers that only read the item: no pynamodb item, no ``MapAttribute`` per
    map; ``only``: just those attributes (a wallet's of the customer item). None where :func:`loaded` would go
    through pynamodb (then read the item with it)."""
    plan = _plan(model) if only is None else _part(model, only)
    if plan is None:
        return None
    values: dict[str, Any] = {}
    for name, dynamo_type, read, default, is_map in plan:
        stored = raw.get(name)
        if stored and NULL not in stored:
            if dynamo_type not in stored:
                return None
            if is_map:
                maps = stored[dynamo_type]
                values[name] = _map_values(_raw(maps)) if maps else {}
            else:
                values[name] = read(stored[dynamo_type])
            continue
        value = default() if callable(default) else default
        if value is not None:
            values[name] = _map_values(value) if is_map and isinstance(value, Mapping) else value
    return values


def built(model: type[ItemT], hash_key: str, range_key: str, **attributes: Any) -> ItemT:
    """``model(hash_key, range_key, **attributes)``: a new item, its defaults (``default_for_new`` first) and then the
    attributes given set as pynamodb's descriptors set them (a dict given to a map becomes a ``MapAttribute``)."""
    plan = _plan(model)
    if plan is None:
        return model(hash_key, range_key, **attributes)
    declared = model.get_attributes()
    values: dict[str, Any] = {}
    for name, _, _, default, is_map in plan:
        if name in attributes:
            continue  # set below: its default would be replaced (defaults have no side effects: a value or dict)
        fresh = declared[name].default_for_new
        default = fresh if fresh is not None else default
        value = default() if callable(default) else default
        if value is not None:
            values[name] = _map(value) if is_map and isinstance(value, Mapping) else value
    for name, value in {**attributes, "pk": hash_key, "sk": range_key}.items():
        if name not in declared:
            raise ValueError(f"Attribute {name} specified does not exist")
        values[name] = _map(value) if isinstance(value, Mapping) and isinstance(declared[name], MapAttribute) else value
    item: ItemT = model.__new__(model)
    item.attribute_values = values
    return item


def keyed(model: type[ItemT], hash_key: str, range_key: str) -> ItemT:
    """An item that only names its key: the target of an update, a delete or a check in a transaction, which sends
    nothing else of it (``tx._keyed``); none of the defaults a new item would get."""
    item: ItemT = model.__new__(model)
    item.attribute_values = {"pk": hash_key, "sk": range_key}
    return item


# --- to the wire: Model.serialize(null_check=True) ----------------------------------------------------------------


_Writer = tuple[tuple[str, str, bool], ...]  # (name, DynamoDB type, may be null) per attribute
_writers: dict[type[_Item], _Writer | None] = {}


def _writer(model: type[_Item]) -> _Writer | None:
    if model not in _writers:
        plan = _plan(model)
        attrs = model.get_attributes()
        _writers[model] = (
            None
            if plan is None or model._version_attribute_name is not None
            else tuple((name, attrs[name].attr_type, bool(attrs[name].null)) for name, *_ in plan)
        )
    return _writers[model]


def _top(dynamo_type: str, value: Any) -> dict[str, Any]:
    """One declared attribute's value on the wire, as its attribute serializes it."""
    kind = type(value)
    if dynamo_type == "S" and kind is str:
        return {"S": value}
    if dynamo_type == "N" and kind is int:
        return {"N": str(value)}
    if dynamo_type == "M" and kind is MapAttribute:
        return {"M": {k: _wire(v) for k, v in value.attribute_values.items()}}
    if dynamo_type == "BOOL":
        return {"BOOL": bool(value)}
    if dynamo_type == "L" and kind is list:
        return {"L": [_wire(v) for v in value]}
    raise _Unsure


def serialized(item: _Item) -> dict[str, dict[str, Any]]:
    """``item.serialize(null_check=True)``: the item as typed attribute values."""
    writer = _writer(type(item))
    if writer is None:
        return item.serialize(null_check=True)
    values = item.attribute_values
    out: dict[str, dict[str, Any]] = {}
    try:
        for name, dynamo_type, nullable in writer:
            value = values.get(name)
            if value is None:
                if not nullable:
                    raise _Unsure  # pynamodb raises AttributeNullError
                continue
            out[name] = _top(dynamo_type, value)
    except _Unsure:
        return item.serialize(null_check=True)
    return out
