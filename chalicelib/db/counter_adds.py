"""The settlement counters' ``ADD`` (``Transaction.add_to_counter``): one update per counter item, of everything added
to it, written as pynamodb's ``Path(name).add(amount)`` actions would send it (tests/test_wallet_expressions.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.db.expressions import _NAMES, _SPELLED, _VALUES, RawUpdate, typed

__all__ = ["added"]

# The ADD of a counter item whose amounts are all whole and not zero, by its names as added (an accrual adds to the
# same five): the names in the order they are numbered, the expression and the names' placeholders. A pure function
# of the names; bounded (cleared when full).
_ADDS: dict[tuple[str, ...], tuple[tuple[str, ...], str, dict[str, str]]] = {}
_MAX_ADDS = 1024


def added(totals: dict[str, int], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """``Path(name).add(amount)`` per amount but zeros, as pynamodb would send them, written into the update's
    ``kwargs`` (its table and key): names and amounts numbered in the names' order; a name that is not a plain
    identifier (a path's punctuation, say), an odd amount or more names than placeholders spelled once through
    ``RawUpdate``. None when every amount is zero: nothing to send."""
    known = _ADDS.get(tuple(totals))
    if known is not None:
        ordered, expression, names_at = known
        values: dict[str, Any] = {}
        for n, name in enumerate(ordered):
            amount = totals[name]
            if type(amount) is not int or not amount:
                break  # a zero this time: written the long way
            values[_VALUES[n]] = {"N": str(amount)}
        else:
            kwargs["UpdateExpression"] = expression
            kwargs["ExpressionAttributeNames"] = dict(names_at)  # a map of its own: the one kept stays as it is
            kwargs["ExpressionAttributeValues"] = values
            return kwargs
    return _written_out(totals, kwargs)


def _written_out(totals: dict[str, int], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    adds: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, amount in sorted(totals.items()):
        if not amount:
            continue
        n = len(adds)
        if type(amount) is not int or not name.isidentifier() or n >= _SPELLED:
            break
        name_at, value_at = _NAMES[n], _VALUES[n]
        names[name_at] = name  # each name once: they are a dict's keys
        values[value_at] = {"N": str(amount)}
        adds.append(f"{name_at} {value_at}")
    else:
        if not adds:
            return None
        expression = "ADD " + ", ".join(adds)
        if len(adds) == len(totals):  # every amount whole and not zero: the names' ADD kept
            if len(_ADDS) >= _MAX_ADDS:
                _ADDS.clear()
            _ADDS[tuple(totals)] = (tuple(sorted(totals)), expression, dict(names))
        kwargs["UpdateExpression"] = expression
        kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = values
        return kwargs
    update = RawUpdate()
    for name, amount in sorted(totals.items()):
        if amount:
            update.add(tuple(name.split(".")), typed(amount))
    return update.write(kwargs) if update else None
