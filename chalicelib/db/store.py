"""Reads that the services need, each in as few round trips as DynamoDB allows."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from pynamodb.connection import Connection

from chalicelib.db.models import _Item
from chalicelib.errors import Unavailable

ItemT = TypeVar("ItemT", bound=_Item)
ItemKey = tuple[str, str]  # (pk, sk)
ReadKey = tuple[type[_Item], str, str]  # the model to read an item as, and its key
Found = dict[ItemKey, Any]  # what a batch read found: {(pk, sk): item of the model asked for it}

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
    from chalicelib.db.models import EntryItem, _Item

    shared = connection()
    # One table for all models; the entry model's description is the complete one (it declares both indexes).
    meta = EntryItem._get_connection().get_meta_table()
    if meta.table_name not in shared._tables:
        shared.add_meta_table(meta)
    for model in _Item.__subclasses__():  # every item class (db/models.py's and db/scale_models.py's)
        model._get_connection().connection = shared


BATCH_KEYS = 100  # DynamoDB's limit of keys per BatchGetItem
BATCH_TRIES = 8  # rounds per chunk while DynamoDB leaves keys unprocessed (throttling, the 16 MB response cap)


def get_raw_many(wanted: Sequence[ItemKey]) -> dict[ItemKey, dict[str, Any]]:
    """Strongly consistent reads of any number of keys, as raw DynamoDB items: {(pk, sk): item}; missing keys are
    absent. 100 keys per BatchGetItem; keys DynamoDB leaves unprocessed are asked again with backoff, and if some are
    still unprocessed the read fails with 503 rather than reporting existing items as missing."""
    unique = list(dict.fromkeys(wanted))
    table = _Item.Meta.table_name
    client = connection().client
    found: dict[ItemKey, dict[str, Any]] = {}
    for start in range(0, len(unique), BATCH_KEYS):
        chunk = unique[start : start + BATCH_KEYS]
        request: dict[str, Any] = {
            table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in chunk], "ConsistentRead": True}
        }
        for attempt in range(BATCH_TRIES):
            if attempt:
                _sleep(attempt)
            response = client.batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(table, []):
                found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            left = len(request.get(table, {}).get("Keys", []))
            raise Unavailable(
                f"The database left {left} of {len(chunk)} keys unread; nothing was changed. Retry shortly."
            )
    return found


def get_many(wanted: Sequence[ReadKey]) -> Found:
    """Typed :func:`get_raw_many`: {(pk, sk): item of the model asked for it}; missing ones are absent."""
    model_for = {(pk, sk): model for model, pk, sk in wanted}
    return {key: model_for[key].from_raw_data(raw) for key, raw in get_raw_many(list(model_for)).items()}


def _sleep(attempt: int) -> None:
    time.sleep(min(1.0, 0.025 * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto


def get_one(model: type[ItemT], pk: str, sk: str) -> ItemT | None:
    try:
        return model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
