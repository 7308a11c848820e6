"""DynamoDB's typed attribute values and the expressions of a write, written directly as pynamodb would send them.

:func:`typed` types a value as pynamodb's ``Value`` does; :class:`RawUpdate` writes the UpdateExpression and the
ConditionExpression (and their placeholders) that pynamodb's ``Update`` and ``Condition`` objects serialize to,
without building them. tests/test_wallet_expressions.py and tests/test_new_items.py hold both side by side with
pynamodb.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition, Exists, NotExists
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.util import substitute_names

__all__ = ["RawUpdate", "Rendered", "condition_text", "fixed", "name_placeholder", "typed", "value_placeholder"]


class _Unsure(Exception):
    """A value this module does not serialize itself: pynamodb does."""


def _wire(value: Any) -> dict[str, Any]:
    """One value of a raw map (``MapAttribute._serialize_undeclared_attributes``), typed as it is sent."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int:
        return {"N": str(value)}  # json.dumps of an int
    if kind is dict:
        return {"M": {k: _wire(v) for k, v in value.items()}}
    if kind is bool:
        return {"BOOL": value}
    if kind is list:  # ListAttribute.serialize of an untyped list: each element as a map's value
        return {"L": [_wire(v) for v in value]}
    if value is None:
        return {"NULL": True}
    if kind is MapAttribute:
        return {"M": {k: _wire(v) for k, v in value.attribute_values.items()}}
    raise _Unsure


# --- expressions: an update and its guard as pynamodb's Update and Condition serialize them ------------------------

Operand = tuple[str, ...] | dict[str, Any]  # a document path (its segments), or a typed value (:func:`typed`)
_Term = tuple[str, tuple[Operand, ...]]  # a template ("{0} >= {1}") and its operands in the order they appear


def typed(value: Any) -> dict[str, Any]:
    """A value in an expression, typed as pynamodb's ``Value`` types it (``json.dumps`` for a number: ``str``)."""
    try:
        return _wire(value)
    except _Unsure:
        return dict(Value(value).value)


class RawUpdate:
    """The UpdateExpression, ConditionExpression and their placeholders that ``Connection.get_operation_kwargs``
    makes of pynamodb's ``Update(*actions)`` and a condition ``c0 & c1 & ...``, written directly: pynamodb builds
    an object per path, value and operator and serializes each number through ``json.dumps``; on the customer
    item's update that was a tenth of an accrual's CPU. Placeholders are numbered as pynamodb numbers them (the
    condition first, then SET, then REMOVE; a name once, a value each time), so the request is the same.
    tests/test_wallet_expressions.py holds it side by side with pynamodb for every kind of wallet change."""

    def __init__(self, exists: tuple[str, ...] | None = None) -> None:
        """``exists``: the path the guard starts with (``attribute_exists``); none: no condition but what
        :meth:`guard` adds."""
        self.conditions: list[_Term] = [] if exists is None else [("attribute_exists ({0})", (exists,))]
        self.sets: list[_Term] = []
        self.removes: list[_Term] = []
        self.adds: list[_Term] = []

    @classmethod
    def guarded(cls, template: str, *operands: Operand) -> RawUpdate:
        """A condition alone (a Put's or a ConditionCheck's)."""
        update = cls()
        update.guard(template, *operands)
        return update

    def guard(self, template: str, *operands: Operand) -> None:
        """``&=`` one more condition."""
        self.conditions.append((template, operands))

    def set(self, template: str, *operands: Operand) -> None:
        self.sets.append((template, operands))

    def remove(self, path: tuple[str, ...]) -> None:
        self.removes.append(("{0}", (path,)))

    def add(self, path: tuple[str, ...], value: dict[str, Any]) -> None:
        self.adds.append(("{0} {1}", (path, value)))

    def __len__(self) -> int:
        return len(self.sets) + len(self.removes) + len(self.adds)

    def parameters(self) -> dict[str, Any]:
        """ConditionExpression, UpdateExpression, ExpressionAttributeNames and ExpressionAttributeValues."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        kwargs: dict[str, Any] = {}
        if self.conditions:
            first, *more = _rendered(self.conditions, names, values)  # numbered first: in the text's order
            kwargs["ConditionExpression"] = "(" * len(more) + first + "".join([f" AND {t})" for t in more])
        clauses = [
            f"{keyword} {', '.join(_rendered(terms, names, values))}"
            for keyword, terms in (("SET", self.sets), ("REMOVE", self.removes), ("ADD", self.adds))
            if terms
        ]
        if clauses:
            kwargs["UpdateExpression"] = " ".join(clauses)
        if names:
            kwargs["ExpressionAttributeNames"] = {v: k for k, v in names.items()}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        return kwargs


class Rendered(RawUpdate):
    """A :class:`RawUpdate`'s parameters written out by their maker, for one request; not to be added to."""

    def __init__(self, parameters: dict[str, Any], actions: int = 0) -> None:
        super().__init__()
        self.rendered, self.actions = parameters, actions

    def __len__(self) -> int:
        return self.actions

    def parameters(self) -> dict[str, Any]:
        return self.rendered


class _Fixed(Rendered):
    """Parameters rendered once for every request: each :meth:`parameters` call gives maps of its own."""

    def parameters(self) -> dict[str, Any]:
        return {k: dict(v) if type(v) is dict else v for k, v in self.rendered.items()}


def fixed(update: RawUpdate) -> Rendered:
    """``update`` rendered once: its parameters never change (a module's guard that names no value that changes)."""
    return _Fixed(update.parameters(), len(update))


_SPELLED = 64  # placeholders spelled once (an update names a dozen at most; more are spelled when needed)
_NAMES = tuple(f"#{n}" for n in range(_SPELLED))
_VALUES = tuple(f":{n}" for n in range(_SPELLED))


def name_placeholder(n: int) -> str:
    """``#<n>``, the n-th name's placeholder (as ``substitute_names`` spells it)."""
    return _NAMES[n] if n < _SPELLED else f"#{n}"


def value_placeholder(n: int) -> str:
    """``:<n>``, the n-th value's placeholder (as ``get_value_placeholder`` spells it)."""
    return _VALUES[n] if n < _SPELLED else f":{n}"


def _rendered(terms: list[_Term], names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """Each term's text, its names and values given placeholders in the order they appear (``substitute_names``: a
    placeholder per name, the first time it appears; ``get_value_placeholder``: one per value)."""
    out = []
    for template, operands in terms:
        rendered = []
        for operand in operands:
            if type(operand) is not tuple:
                placeholder = value_placeholder(len(values))
                values[placeholder] = operand
                rendered.append(placeholder)
                continue
            rendered.append(_path(operand, names))
        out.append(template.format(*rendered))
    return out


def _path(path: Sequence[str], names: dict[str, str]) -> str:
    """``substitute_names``: a placeholder per name, the first time it appears; a segment with list indexes (or an
    invalid one) goes through pynamodb's own parser."""
    if len(path) == 1:
        name = names.get(path[0])  # a name there already is valid: pynamodb's parser put no other there
        if name is not None:
            return name
    segments = []
    for segment in path:
        name = names.get(segment)
        if name is None:
            if not segment or "[" in segment or "]" in segment:  # list indexes, or invalid: pynamodb's parser
                return substitute_names(list(path), names)
            name = names[segment] = name_placeholder(len(names))
        segments.append(name)
    return ".".join(segments)


_EXISTENCE = (Exists, NotExists)  # ``{operator} ({0})`` of one path: most guards (``pk.does_not_exist()``)


def condition_text(condition: Condition, names: dict[str, str], values: dict[str, Any]) -> str:
    """``condition.serialize(names, values)``: an ``attribute_exists`` or ``attribute_not_exists`` of a path written
    directly (the same text and placeholders), any other condition by pynamodb."""
    if type(condition) in _EXISTENCE and len(condition.values) == 1 and type(path := condition.values[0]) is Path:
        return f"{condition.operator} ({_path(path.path, names)})"
    return condition.serialize(names, values)
