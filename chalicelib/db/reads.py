"""Reads that the services need, each in as few round trips as DynamoDB allows."""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from botocore.session import Session
from pynamodb.connection import Connection

from chalicelib.db import aws_session
from chalicelib.db.codec import loaded
from chalicelib.db.models import _Item
from chalicelib.errors import Unavailable

ItemT = TypeVar("ItemT", bound=_Item)
ItemKey = tuple[str, str]  # (pk, sk)
# The model to read an item as (None: as DynamoDB returned it, for a reader that decodes it itself), and its key
ReadKey = tuple[type[_Item] | None, str, str]
Found = dict[ItemKey, Any]  # what a batch read found: {(pk, sk): item of the model asked for it, or raw}


class _SharedSessionConnection(Connection):
    """pynamodb's connection, building its client from the instance's one botocore session (db/aws_session.py)
    instead of a session of its own per thread."""

    @property
    def session(self) -> Session:
        return aws_session.session()


_connection: Connection | None = None
_connection_key: tuple[str, str | None] | None = None


def connection() -> Connection:
    """The shared low-level connection (transactions and batch reads), created on first use."""
    global _connection, _connection_key
    key = (_Item.Meta.region, _Item.Meta.host)
    if _connection is None or _connection_key != key:
        _connection = _SharedSessionConnection(region=key[0], host=key[1], max_retry_attempts=3)
        _connection_key = key
    return _connection


# --- riders: reads an upper layer needs this request, carried by the request's next read --------------------------


class _Rider:
    """Reads carried for an upper layer (a plain class: one or two per request, a frozen dataclass costs more)."""

    __slots__ = ("keys", "land", "raw", "reads")

    def __init__(self, reads: tuple[ReadKey, ...], land: Callable[[Found], None], raw: bool) -> None:
        self.reads = reads
        self.keys = [(pk, sk) for _, pk, sk in reads]
        self.land = land  # gets the items found; may raise (then no data returns)
        self.raw = raw  # land gets DynamoDB's items as they are (attributes no model declares: rate-limit buckets)


class _Riding(threading.local):
    """One request per thread: its riders, read by every DynamoDB call of the request. A tuple, replaced whole by
    each ``carry``: the empty default is the class's, shared by every thread, so it is never appended to."""

    riders: tuple[_Rider, ...] = ()


_riding = _Riding()
_hooked: weakref.WeakSet[Any] = weakref.WeakSet()  # the botocore clients whose every call first lands the riders
_last_hooked: list[Any] = [None]  # the last of them: one identity test per request instead of a weak reference


def carry(reads: Sequence[ReadKey], land: Callable[[Found], None], *, raw: bool = False) -> None:
    """Read ``reads`` with this request's next DynamoDB read and give them to ``land`` before that read returns
    anything: authentication and the rate limit of a cold instance cost no round trip of their own, and nothing the
    request reads reaches its caller before they have landed. Any other DynamoDB call lands them first (alone);
    :func:`land_riders` lands what is still pending before an answer leaves; :func:`drop_riders` ends the request."""
    client = connection().client
    if client is not _last_hooked[0]:
        if client not in _hooked:
            client.meta.events.register("before-call.dynamodb", _land_first)
            _hooked.add(client)
        _last_hooked[0] = client
    _riding.riders = (*_riding.riders, _Rider(tuple(reads), land, raw))


def riders_pending() -> bool:
    return bool(_riding.riders)


def _take_riders() -> tuple[_Rider, ...]:
    riders = _riding.riders
    if riders:
        _riding.riders = ()
    return riders


def land_riders() -> None:
    """Read what is still carried, alone (a request that made no read, or failed before it), and land it."""
    if _riding.riders:
        get_raw_many([])


def drop_riders() -> None:
    _riding.riders = ()


def _land(riders: tuple[_Rider, ...], found: dict[ItemKey, dict[str, Any]]) -> None:
    """Land every rider, in the order carried (authentication first); the first that raises wins."""
    for rider in riders:
        mine = [(model, (pk, sk)) for model, pk, sk in rider.reads if (pk, sk) in found]
        as_read = rider.raw
        rider.land({key: found[key] if as_read or model is None else loaded(model, found[key]) for model, key in mine})


def _land_first(**_: Any) -> None:
    land_riders()


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
    # Every item class loaded so far, and _Item itself: a class whose module loads later (chalicelib.db loads its
    # modules on first use) inherits _Item's table connection, so it shares this client too.
    sharing: tuple[type[_Item], ...] = (_Item, *_Item.__subclasses__())
    for model in sharing:
        model._get_connection().connection = shared


BATCH_KEYS = 100  # DynamoDB's limit of keys per BatchGetItem
BATCH_TRIES = 8  # rounds per chunk while DynamoDB leaves keys unprocessed (throttling, the 16 MB response cap)


def get_raw_many(wanted: Sequence[ItemKey]) -> dict[ItemKey, dict[str, Any]]:
    """Strongly consistent reads of any number of keys, as raw DynamoDB items: {(pk, sk): item}; missing keys are
    absent. 100 keys per BatchGetItem; keys DynamoDB leaves unprocessed are asked again with backoff, and if some are
    still unprocessed the read fails with 503 rather than reporting existing items as missing."""
    riders = _take_riders()
    unique = list(dict.fromkeys([*wanted, *[k for r in riders for k in r.keys]] if riders else wanted))
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
    if not riders:
        return found
    _land(riders, found)
    asked = set(wanted)
    return {k: v for k, v in found.items() if k in asked}


def get_many(wanted: Sequence[ReadKey]) -> Found:
    """Typed :func:`get_raw_many`: {(pk, sk): item of the model asked for it (raw where it was None)}; missing ones
    are absent."""
    model_for = {(pk, sk): model for model, pk, sk in wanted}
    found = get_raw_many(list(model_for))
    return {key: raw if (model := model_for[key]) is None else loaded(model, raw) for key, raw in found.items()}


def _sleep(attempt: int) -> None:
    time.sleep(min(1.0, 0.025 * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto


def get_one(model: type[ItemT], pk: str, sk: str) -> ItemT | None:
    """One strongly consistent GetItem, the item as ``model`` (see :func:`get_one_raw`)."""
    raw = get_one_raw(pk, sk)
    return loaded(model, raw) if raw else None


def get_one_raw(pk: str, sk: str) -> dict[str, Any] | None:
    """One strongly consistent GetItem (botocore's client directly: pynamodb's ``Model.get`` adds its dispatch, a
    consumed-capacity request and its constructor to every read), or a BatchGetItem when riders are carried; the item
    as DynamoDB returned it."""
    if riders_pending():  # one BatchGetItem carries them: still one round trip
        return get_raw_many([(pk, sk)]).get((pk, sk))
    response = connection().client.get_item(
        TableName=_Item.Meta.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    raw: dict[str, Any] | None = response.get("Item")
    return raw or None
