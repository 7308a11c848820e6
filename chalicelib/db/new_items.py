"""New items on the write path (a ledger entry, a replay record, an order, an event) as a transaction's Put sends
them, straight from their values: ``serialized(built(...))`` without building the pynamodb item (its defaults, a
``MapAttribute`` per map) only to take it apart again. tests/test_item_codec.py and tests/test_new_items.py hold it
byte for byte against pynamodb's own ``TransactWrite`` on every model, and against the long way over many inputs.

Each model gets a writer made once (:func:`writer`): a function generated from the model's declared attributes, one
straight line per attribute in the model's order (the usual value written inline: a string, a whole number, a plain
map; a default taken when the attribute is not given), as ``namedtuple`` and ``dataclasses`` generate theirs: no
loop over the model's attributes and no per-attribute dispatch on every item."""

from __future__ import annotations

import functools
import keyword
from collections.abc import Callable, Mapping
from typing import Any

from pynamodb.attributes import Attribute, MapAttribute

from chalicelib.db.codec import _map_values, _top, _writer, built, serialized
from chalicelib.db.expressions import _Unsure, _wire_map
from chalicelib.db.models import _Item

__all__ = ["put_item", "wire_item", "writer"]

Writer = Callable[..., dict[str, dict[str, Any]]]  # (hash_key, range_key, **attributes) -> the Put's Item
_ARGS = frozenset(MapAttribute.attribute_args)  # keys a map sets after the others (``codec._map_values``)
_ABSENT = object()
# Per model: the names it declares and its writer; None: no writer (pynamodb's way for every item)
_writers: dict[type[_Item], tuple[frozenset[str], Writer] | None] = {}


def _default_for_new(attr: Attribute[Any]) -> Any:
    fresh = attr.default_for_new
    return fresh if fresh is not None else attr.default


def _slow(model: type[_Item], hash_key: str, range_key: str, given: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The long way, for an item a writer does not write itself: pynamodb's, which also raises its own errors."""
    attributes = {name: value for name, value in given if value is not _ABSENT}
    return put_item(serialized(built(model, hash_key, range_key, **attributes)))


def _other(dynamo_type: str, value: Any) -> dict[str, Any]:
    """A value a writer's line does not write inline: a map given as another mapping or with keys named like a
    MapAttribute's arguments (set after the others), a ``MapAttribute``, a list, a boolean; else ``_Unsure``."""
    if dynamo_type == "M" and (type(value) is dict or isinstance(value, Mapping)):
        in_order = value if type(value) is dict and _ARGS.isdisjoint(value) else _map_values(value)
        return {"M": _wire_map(in_order)}
    return _top(dynamo_type, value)


# One attribute's lines, inside the writer's ``try``: ``{n}`` its name (a parameter), ``{q}`` the name quoted, ``{t}``
# its DynamoDB type. First the usual value as given (``_GIVEN``); else ``_v``, its value or its default when not
# given, written as it comes.
_GIVEN = {
    "S": "        if _type({n}) is _str:\n            _out[{q}] = {{'S': {n}}}\n        else:\n",
    "N": "        if _type({n}) is _int:\n            _out[{q}] = {{'N': _str({n})}}\n        else:\n",
    "M": "        if _type({n}) is _dict and _disjoint({n}):\n            _out[{q}] = {{'M': _wire_map({n})}}\n"
    "        else:\n",
}
_DEFAULT_CALLED = "        _v = {n}\n        if _v is _ABSENT:\n            _v = _d_{n}()\n"
_DEFAULT_GIVEN = "        _v = {n}\n        if _v is _ABSENT:\n            _v = _d_{n}\n"
_DEFAULT_NONE = "        _v = None if {n} is _ABSENT else {n}\n"
_FAST = {  # the usual value written inline
    "S": "        if _type(_v) is _str:\n            _out[{q}] = {{'S': _v}}\n        elif _v is None:\n",
    "N": "        if _type(_v) is _int:\n            _out[{q}] = {{'N': _str(_v)}}\n        elif _v is None:\n",
    "M": "        if _type(_v) is _dict and _disjoint(_v):\n            _out[{q}] = {{'M': _wire_map(_v)}}\n"
    "        elif _v is None:\n",
}
_NONE = "        if _v is None:\n"
_NULL = "            pass\n"
_NOT_NULL = "            raise _Unsure  # pynamodb raises AttributeNullError\n"
_OTHER = "        else:\n            _out[{q}] = _other({t}, _v)\n"


def _generated(model: type[_Item]) -> tuple[frozenset[str], Writer] | None:
    """The model's declared names but the key, and its writer: ``put_item(serialized(built(model, hash_key,
    range_key, **attributes)))`` as straight-line code; None for a model whose attributes ``codec`` does not write
    itself or whose names cannot be parameters."""
    plan, declared = _writer(model), model.get_attributes()
    if plan is None:
        return None
    names = [name for name, _, _ in plan if name not in ("pk", "sk")]
    if any(not n.isidentifier() or keyword.iskeyword(n) or n.startswith("_") for n in names):
        return None
    namespace: dict[str, Any] = {
        "_ABSENT": _ABSENT,
        "_Unsure": _Unsure,
        "_type": type,
        "_str": str,
        "_int": int,
        "_dict": dict,
        "_disjoint": _ARGS.isdisjoint,
        "_wire_map": _wire_map,
        "_other": _other,
        "_slow": _slow,
        "_model": model,
    }
    lines = []
    for name, dynamo_type, nullable in plan:
        if name in ("pk", "sk"):
            continue
        default = _default_for_new(declared[name])
        general = []
        if default is None:
            general.append(_DEFAULT_NONE.format(n=name))
        else:
            namespace[f"_d_{name}"] = default
            general.append((_DEFAULT_CALLED if callable(default) else _DEFAULT_GIVEN).format(n=name))
        general.append(_FAST.get(dynamo_type, _NONE).format(q=repr(name)))
        general.append(_NULL if nullable else _NOT_NULL)
        general.append(_OTHER.format(q=repr(name), t=repr(dynamo_type)))
        if dynamo_type in _GIVEN:  # the general lines under the given value's ``else``
            lines.append(_GIVEN[dynamo_type].format(n=name, q=repr(name)))
            general = ["".join("    " + line for line in "".join(general).splitlines(keepends=True))]
        lines += general
    given = "".join(f"({name!r}, {name}), " for name in names)
    parameters = "".join(f", {name}=_ABSENT" for name in names)
    source = (
        f"def write(_pk, _sk{', *' if names else ''}{parameters}):\n"
        "    _out = {'pk': {'S': _pk}, 'sk': {'S': _sk}}\n"
        "    try:\n"
        "        pass\n" + "".join(lines) + "    except _Unsure:\n"
        f"        return _slow(_model, _pk, _sk, ({given}))\n"
        "    return _out\n"
    )
    # Our own source, made of the model's declared attribute names (plain identifiers, checked above), as
    # ``namedtuple`` and ``dataclasses`` make theirs; nothing of a request goes into it.
    exec(source, namespace)  # noqa: S102
    return frozenset(names), namespace["write"]


def _found(model: type[_Item]) -> tuple[frozenset[str], Writer] | None:
    if model not in _writers:
        _writers[model] = _generated(model)
    return _writers[model]


def writer(model: type[_Item]) -> Writer:
    """The model's writer: ``writer(model)(hash_key, range_key, **attributes)`` is ``wire_item(model, hash_key,
    range_key, **attributes)`` for callers that name the model's declared attributes (not its key) as keywords."""
    found = _found(model)
    return found[1] if found is not None else functools.partial(wire_item, model)  # pynamodb's way for every item


def wire_item(model: type[_Item], hash_key: str, range_key: str, **attributes: Any) -> dict[str, dict[str, Any]]:
    """``serialized(built(model, hash_key, range_key, **attributes))`` with the key first, as a transaction's Put
    sends it (``Transaction.put``), without building the item: a new item on the write path (an entry, a replay
    record, an order, an event) goes to the wire straight from its values. Anything this module does not write
    itself (an odd value, a model it has no writer for, a name the model does not declare) goes through pynamodb,
    which also raises its own errors."""
    found = _writers[model] if model in _writers else _found(model)
    if found is None or not attributes.keys() <= found[0]:
        return put_item(serialized(built(model, hash_key, range_key, **attributes)))
    return found[1](hash_key, range_key, **attributes)


def put_item(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A transaction's Put ``Item``: the key first (pynamodb's ``get_operation_kwargs`` puts it there)."""
    return {"pk": attributes.pop("pk"), "sk": attributes.pop("sk"), **attributes}
