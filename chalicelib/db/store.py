"""Reads that the services need, each in as few round trips as DynamoDB allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pynamodb.connection import Connection

from chalicelib.db.models import _Item

T = TypeVar("T", bound=_Item)

_connection: Connection | None = None
_connection_key: tuple[str, str | None] | None = None


def connection() -> Connection:
    """The shared low-level connection (transactions and batch reads), created on first use."""
    global _connection, _connection_key
    key = (_Item.Meta.region, _Item.Meta.host)
    if _connection is None or _connection_key != key:
        _connection = Connection(region=key[0], host=key[1], max_retry_attempts=3)
        _connection_key = key
    return _connection


def reset_connection() -> None:
    global _connection, _connection_key
    _connection, _connection_key = None, None


def share_client() -> None:
    """Make every model use one botocore client. pynamodb would build one per model class, ~60 ms each: on a
    Lambda cold start that is most of the first request. Creating the client itself is deferred to first use."""
    from chalicelib.db.models import ALL_MODELS, EntryItem

    shared = connection()
    # One table for all models; the entry model's description is the complete one (it declares both indexes).
    meta = EntryItem._get_connection().get_meta_table()
    if meta.table_name not in shared._tables:
        shared.add_meta_table(meta)
    for model in ALL_MODELS:
        model._get_connection().connection = shared


def get_many(wanted: Sequence[tuple[type[_Item], str, str]]) -> dict[tuple[str, str], Any]:
    """Strongly consistent BatchGetItem of items of any type: {(pk, sk): item}; missing ones are absent."""
    unique = list(dict.fromkeys((model, pk, sk) for model, pk, sk in wanted))
    if not unique:
        return {}
    model_for = {(pk, sk): model for model, pk, sk in unique}
    table = _Item.Meta.table_name
    request: dict[str, Any] = {
        table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for _, pk, sk in unique], "ConsistentRead": True}
    }
    found: dict[tuple[str, str], Any] = {}
    client = connection().client
    for _ in range(10):
        response = client.batch_get_item(RequestItems=request)
        for raw in response.get("Responses", {}).get(table, []):
            key = (raw["pk"]["S"], raw["sk"]["S"])
            found[key] = model_for[key].from_raw_data(raw)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            break
    return found


def get_one(model: type[T], pk: str, sk: str) -> T | None:
    try:
        return model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
