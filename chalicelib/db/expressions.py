"""DynamoDB's typed attribute values and the expressions of a write, written directly as pynamodb would send them.

:func:`typed` types a value as pynamodb's ``Value`` does; :class:`RawUpdate` writes the UpdateExpression and the
ConditionExpression (and their placeholders) that pynamodb's ``Update`` and ``Condition`` objects serialize to,
without building them. tests/test_wallet_expressions.py and tests/test_new_items.py hold both side by side with
pynamodb.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from string import Formatter
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
        return {"M": _wire_map(value)}
    if kind is bool:
        return {"BOOL": value}
    if kind is list:  # ListAttribute.serialize of an untyped list: each element as a map's value
        return {"L": [_wire(v) for v in value]}
    if value is None:
        return {"NULL": True}
    if kind is MapAttribute:
        return {"M": _wire_map(value.attribute_values)}
    raise _Unsure


def _wire_map(values: dict[str, Any]) -> dict[str, Any]:
    """``{k: _wire(v) for k, v in values.items()}``, its strings and whole numbers written without the call."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        kind = type(v)
        if kind is str:
            out[k] = {"S": v}
        elif kind is int:
            out[k] = {"N": str(v)}
        elif kind is dict:
            out[k] = {"M": _wire_map(v)}
        elif kind is list:
            out[k] = {"L": [{"M": _wire_map(e)} if type(e) is dict else _wire(e) for e in v]}
        else:
            out[k] = _wire(v)
    return out


# --- expressions: an update and its guard as pynamodb's Update and Condition serialize them ------------------------

Operand = tuple[str, ...] | dict[str, Any]  # a document path (its segments), or a typed value (:func:`typed`)
_Term = tuple[str, tuple[Operand, ...]]  # a template ("{0} >= {1}") and its operands in the order they appear


def typed(value: Any) -> dict[str, Any]:
    """A value in an expression, typed as pynamodb's ``Value`` types it (``json.dumps`` for a number: ``str``)."""
    if type(value) is int:  # most of them: a number of points
        return {"N": str(value)}
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
    tests/test_wallet_expressions.py holds it side by side with pynamodb for every kind of wallet change. A guard
    made once and sent with many transactions is rendered once by :func:`fixed`."""

    __slots__ = ("adds", "conditions", "removes", "sets")

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
        return self.write({})

    def write(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """:meth:`parameters` written into an operation's ``kwargs`` (after its table and key, as
        ``get_operation_kwargs`` orders them), without a map of their own to copy from; returns ``kwargs``."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if self.conditions:
            texts = _rendered(self.conditions, names, values)  # numbered first: in the text's order
            kwargs["ConditionExpression"] = texts[0] if len(texts) == 1 else _and(texts)
        clauses = []
        if self.sets:
            clauses.append("SET " + ", ".join(_rendered(self.sets, names, values)))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(_rendered(self.removes, names, values)))
        if self.adds:
            clauses.append("ADD " + ", ".join(_rendered(self.adds, names, values)))
        if clauses:
            kwargs["UpdateExpression"] = clauses[0] if len(clauses) == 1 else " ".join(clauses)
        if names:
            kwargs["ExpressionAttributeNames"] = {v: k for k, v in names.items()}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        return kwargs


def _and(texts: list[str]) -> str:
    """``c0 & c1 & c2`` as pynamodb writes it: ``((c0 AND c1) AND c2)``."""
    return "(" * (len(texts) - 1) + texts[0] + "".join([f" AND {t})" for t in texts[1:]])


def _copied(parameters: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Rendered parameters written into ``kwargs`` with maps of their own (the texts are strings, the typed values
    never changed); returns ``kwargs``."""
    for k, v in parameters.items():
        kwargs[k] = dict(v) if type(v) is dict else v
    return kwargs


class Rendered(RawUpdate):
    """A :class:`RawUpdate`'s parameters written out by their maker, for one request; not to be added to (its
    terms are not there)."""

    __slots__ = ("actions", "rendered")

    def __init__(self, parameters: dict[str, Any], actions: int = 0) -> None:  # no terms: nothing to add to
        self.rendered, self.actions = parameters, actions

    def __len__(self) -> int:
        return self.actions

    def parameters(self) -> dict[str, Any]:
        return self.rendered

    def write(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.update(self.rendered)
        return kwargs


class _Fixed(Rendered):
    """Parameters rendered once for every request: each :meth:`parameters` or :meth:`write` call gives maps of its
    own."""

    __slots__ = ()

    def parameters(self) -> dict[str, Any]:
        return _copied(self.rendered, {})

    def write(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return _copied(self.rendered, kwargs)


class ShapedUpdate(RawUpdate):
    """A :class:`RawUpdate` whose every term is one path followed by values (the customer item's update). Its
    texts and names depend only on its shape (each term's template, path and number of values; values only take
    the next placeholder), so they are rendered once per shape and kept (a wallet's updates repeat their shapes:
    the same balances, lots, months and partners); each update then only numbers its values.

    The shape and the values are noted as the terms are added (``shape``: each term's section, template, path and
    number of operands, in the order they come; the values by section, in the order they are numbered), so a
    send takes them as they are instead of walking the terms again."""

    __slots__ = ("add_values", "guard_values", "set_values", "shape")

    def __init__(self, exists: tuple[str, ...] | None = None) -> None:
        super().__init__(exists)
        self.shape: list[_Shape] = [(0, t, o[0], len(o)) for t, o in self.conditions]
        self.guard_values: list[dict[str, Any]] = []
        self.set_values: list[dict[str, Any]] = []
        self.add_values: list[dict[str, Any]] = []

    def guard(self, template: str, path: tuple[str, ...], *values: dict[str, Any]) -> None:  # type: ignore[override]
        self.conditions.append((template, (path, *values)))
        self.shape.append((0, template, path, len(values) + 1))
        self.guard_values += values

    def set(self, template: str, path: tuple[str, ...], *values: dict[str, Any]) -> None:  # type: ignore[override]
        self.sets.append((template, (path, *values)))
        self.shape.append((1, template, path, len(values) + 1))
        self.set_values += values

    def remove(self, path: tuple[str, ...]) -> None:
        super().remove(path)
        self.shape.append((2, "{0}", path, 1))

    def add(self, path: tuple[str, ...], value: dict[str, Any]) -> None:
        super().add(path, value)
        self.shape.append((3, "{0} {1}", path, 2))
        self.add_values.append(value)

    def write(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        key = tuple(self.shape)  # the order of the terms within each section, hence their texts and names
        shape = _SHAPES.get(key)
        if shape is None:
            super().write(kwargs)
            terms = (self.conditions, self.sets, self.removes, self.adds)
            if all(type(o[0]) is tuple and tuple not in map(type, o[1:]) for section in terms for _, o in section):
                if len(_SHAPES) >= _MAX_SHAPES:
                    _SHAPES.clear()  # shapes of months gone by: start again
                # maps of its own: the ones just rendered go out with this request
                _SHAPES[key] = _copied({k: v for k, v in kwargs.items() if k in _SHAPED}, {})
            return kwargs
        _copied(shape, kwargs)
        values = [*self.guard_values, *self.set_values, *self.add_values]  # numbered in the texts' order
        if len(values) <= _SPELLED:
            if values:
                kwargs["ExpressionAttributeValues"] = dict(zip(_VALUES, values, strict=False))
        else:
            kwargs["ExpressionAttributeValues"] = {value_placeholder(n): value for n, value in enumerate(values)}
        return kwargs


_SHAPED = ("ConditionExpression", "UpdateExpression", "ExpressionAttributeNames")  # what a shape decides

_Shape = tuple[int, str, Operand, int]  # a term's section (0: condition, 1: SET...), template, path, operands
# Texts and names of a ShapedUpdate by shape; a pure function of the shape (strings only). Bounded: cleared when full.
_SHAPES: dict[tuple[_Shape, ...], dict[str, Any]] = {}
_MAX_SHAPES = 2048


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
            if type(operand) is tuple:
                if len(operand) == 2:  # most paths: a map's key (``lots.<key>``), written here without ``_path``
                    first, second = operand
                    name = names.get(first)
                    if name is None and first and "[" not in first and "]" not in first:
                        n = len(names)
                        name = names[first] = _NAMES[n] if n < _SPELLED else f"#{n}"
                    key = names.get(second) if name is not None else None  # numbered in the path's order
                    if key is None and name is not None and second and "[" not in second and "]" not in second:
                        n = len(names)
                        key = names[second] = _NAMES[n] if n < _SPELLED else f"#{n}"
                    if name is not None and key is not None:
                        rendered.append(f"{name}.{key}")
                        continue
                rendered.append(_path(operand, names))
            else:
                n = len(values)
                placeholder = _VALUES[n] if n < _SPELLED else f":{n}"
                values[placeholder] = operand
                rendered.append(placeholder)
        write = _WRITERS.get(template) or _template_writer(template)
        out.append(write(*rendered))
    return out


# ``template.format(*operands)`` as a function made once per template: an f-string of the template's pieces
# (``str.format`` parses its template on every call, three to four times the cost on the wallet's update).
_WRITERS: dict[str, Callable[..., str]] = {}
_MAX_WRITERS = 256  # templates are the modules' own constants; any more are formatted as they come


def _template_writer(template: str) -> Callable[..., str]:
    try:
        pieces = list(Formatter().parse(template))
    except ValueError:
        return template.format  # raises as it always did
    namespace: dict[str, str] = {}
    fields: list[str] = []
    for n, (literal, field, spec, conversion) in enumerate(pieces):
        if literal:
            namespace[f"_l{n}"] = literal
            fields.append(f"{{_l{n}}}")
        if field is None:
            continue
        if not field.isdigit() or spec or conversion:  # not a plain ``{n}``: str.format itself
            return template.format
        fields.append(f"{{_{field}}}")
    operands = max((int(f) for _, f, _, _ in pieces if f is not None), default=-1) + 1
    source = f"lambda {', '.join(f'_{i}' for i in range(operands))}: f'{''.join(fields)}'"
    # Our own source: identifiers and braces only (the template's text is in ``namespace``, never in the code).
    write: Callable[..., str] = eval(source, namespace)  # noqa: S307
    if len(_WRITERS) < _MAX_WRITERS:
        _WRITERS[template] = write
    return write


def _path(path: Sequence[str], names: dict[str, str]) -> str:
    """``substitute_names``: a placeholder per name, the first time it appears; a segment with list indexes (or an
    invalid one) goes through pynamodb's own parser."""
    if len(path) == 1:  # a top-level name: no segments to join
        segment = path[0]
        name = names.get(segment)  # a name there already is valid: pynamodb's parser put no other there
        if name is None:
            if not segment or "[" in segment or "]" in segment:
                return substitute_names([segment], names)
            n = len(names)
            name = names[segment] = _NAMES[n] if n < _SPELLED else f"#{n}"
        return name
    segments = []
    for segment in path:
        name = names.get(segment)  # a name there already is valid: pynamodb's parser put no other there
        if name is None:
            if not segment or "[" in segment or "]" in segment:  # list indexes, or invalid: pynamodb's parser
                return substitute_names(list(path), names)
            n = len(names)
            name = names[segment] = _NAMES[n] if n < _SPELLED else f"#{n}"
        segments.append(name)
    return ".".join(segments)


_EXISTENCE = (Exists, NotExists)  # ``{operator} ({0})`` of one path: most guards (``pk.does_not_exist()``)


def condition_text(condition: Condition, names: dict[str, str], values: dict[str, Any]) -> str:
    """``condition.serialize(names, values)``: an ``attribute_exists`` or ``attribute_not_exists`` of a path written
    directly (the same text and placeholders), any other condition by pynamodb."""
    if type(condition) in _EXISTENCE and len(condition.values) == 1 and type(path := condition.values[0]) is Path:
        return f"{condition.operator} ({_path(path.path, names)})"
    return condition.serialize(names, values)
