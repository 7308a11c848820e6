"""Records the DynamoDB requests this process sends, as sent, with botocore's own events, for bench/sizing.py.

Two handlers join botocore's built-in ones, so every client made after :func:`install` has them (pynamodb makes a
session and a client per connection, the runtime a new connection when it is configured again):
- ``before-parameter-build.dynamodb``: the request's parameters, and the items it is about to write as they are;
- ``after-call.dynamodb``: the parsed answer, and the written items as they are now.
The item images are read with a client of our own, not recorded (``_peeking``), strongly consistent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from bench import sizing

_state = threading.local()
_lock = threading.Lock()
_installed: list[bool] = []
_log: list[sizing.Call] | None = None
_peek_client: list[Any] = []


def install() -> None:
    """Add the handlers to botocore's built-ins (before any DynamoDB client is made; once per process)."""
    if not _installed:
        BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", _before))
        BUILTIN_HANDLERS.append(("after-call.dynamodb", _after))
        _installed.append(True)


def table_indexes() -> list[sizing.Index]:
    """The global secondary indexes of the table, as chalicelib/db/models.py declares them."""
    from chalicelib.db.models import EntryItem

    schema = EntryItem._get_schema()
    out = []
    for index in schema.get("global_secondary_indexes", []):
        projection = index["projection"]
        out.append(
            sizing.Index(
                name=index["index_name"],
                key=tuple(k["AttributeName"] for k in index["key_schema"]),
                projection=projection["ProjectionType"],
                included=tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    return out


@contextmanager
def recording() -> Iterator[list[sizing.Call]]:
    """The calls sent inside the block, in order."""
    global _log
    calls: list[sizing.Call] = []
    with _lock:
        _log = calls
    try:
        yield calls
    finally:
        with _lock:
            _log = None


def measure(action: Callable[[], Any]) -> sizing.Cost:
    """What ``action`` cost in DynamoDB round trips and units."""
    with recording() as calls:
        action()
    return sizing.cost(calls, table_indexes())


def _peek(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    from chalicelib.db import models

    if not _peek_client:
        import boto3

        meta = models._Item.Meta
        _peek_client.append(boto3.client("dynamodb", region_name=meta.region, endpoint_url=meta.host))
    client = _peek_client[0]
    table = models._Item.Meta.table_name
    _state.peeking = True
    try:
        out = {}
        for pk, sk in keys:
            answer = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
            out[(pk, sk)] = answer.get("Item")
        return out
    finally:
        _state.peeking = False


def reset_peek_client() -> None:
    """After the table or endpoint changed."""
    _peek_client.clear()


def _active() -> bool:
    return _log is not None and not getattr(_state, "peeking", False)


def _before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    if not _active():
        return
    operation = model.name
    keys = [(pk, sk) for _, pk, sk in sizing.written_keys(operation, params)]
    call = sizing.Call(operation, _copy(params), {}, _peek(keys) if keys else {})
    context["bench_call"] = call


def _after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    call = context.get("bench_call")
    if call is None or not _active():
        return
    call.response = parsed
    keys = list(call.before)
    call.after = _peek(keys) if keys else {}
    with _lock:
        if _log is not None:
            _log.append(call)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
