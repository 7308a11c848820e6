"""One DynamoDB transaction per state change, with failures mapped back to the items that caused them."""

from __future__ import annotations

import logging
import random
import time
import uuid
import weakref
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action, Update

from chalicelib.db.codec import keyed, serialized
from chalicelib.db.counter_adds import added
from chalicelib.db.expressions import RawUpdate, condition_text
from chalicelib.db.keys import COUNTER_SHARDS
from chalicelib.db.models import CounterItem, _Item
from chalicelib.errors import RequestTooLarge, Unavailable

log = logging.getLogger(__name__)

MAX_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems call
MAX_BYTES = 4_000_000  # DynamoDB's aggregate limit is 4 MB; measured on the request's JSON, which is larger
MAX_TOKEN = 36  # ClientRequestToken length
CONFLICT_RETRIES = 4  # a final transaction cancelled by a conflict is sent again this many times

_RETRYABLE_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
_THROTTLE_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "InternalServerError",
    "ServiceUnavailable",
}


class TxCancelled(Exception):
    """A condition failed. ``failed`` holds the tags of the items whose conditions failed."""

    def __init__(self, failed: set[str], retryable: bool = False) -> None:
        super().__init__(f"transaction cancelled: {sorted(failed)}")
        self.failed = failed
        self.retryable = retryable


# pynamodb sends condition checks, then deletes, then puts, then updates: cancellation reasons come in that order.
_ORDER = {"check": 0, "delete": 1, "put": 2, "update": 3}
_RANK = attrgetter("rank")


class _Op:
    """One operation of a transaction (a plain class: a dataclass's ``__init__`` costs more, for one per item)."""

    __slots__ = ("actions", "condition", "item", "key", "kind", "model", "rank", "raw", "tag")

    def __init__(
        self,
        kind: str,  # "check" | "delete" | "put" | "update"
        tag: str,
        model: Any,
        condition: Condition | None = None,
        actions: list[Action] | None = None,
        key: tuple[str, str] | None = None,
        raw: RawUpdate | None = None,  # an update written directly (``update_raw``) instead of condition/actions
        item: dict[str, Any] | None = None,  # a put's item as sent (``put_raw``), key first; ``model``: its class
    ) -> None:
        self.kind, self.tag, self.model, self.condition = kind, tag, model, condition
        self.actions = actions  # pynamodb's actions of an ``update`` (none: an update written directly)
        self.key, self.raw, self.item = key, raw, item
        self.rank = _ORDER[kind]


class Transaction:
    def __init__(self) -> None:
        self._ops: list[_Op] = []
        self._counters: dict[tuple[str, str], dict[str, int]] = {}
        self._marks: set[str] = set()  # tags of the items put by :meth:`mark`
        self._shard: int | None = None

    @property
    def counter_shard(self) -> int:
        """One counter shard per transaction, drawn on first use: every entry it posts for a partner adds to one
        item, not to several. It spreads writes (nothing guesses it to any gain): no system randomness needed."""
        if self._shard is None:
            self._shard = int(random.random() * COUNTER_SHARDS)  # noqa: S311 - spreading load, not a secret
        return self._shard

    def mark(self, item: _Item, *, tag: str) -> None:
        """Put an item whose key is new to this transaction alone (an audit record's fresh id), under
        ``attribute_not_exists``: found there when a send is cancelled, it proves that an earlier send of this very
        transaction committed (botocore resent a call whose answer was lost), so the commit succeeded."""
        self._marks.add(tag)
        self._ops.append(_Op("put", tag, item, type(item).pk.does_not_exist()))

    def __len__(self) -> int:
        return len(self._ops) + len(self._counters)

    def add_to_counter(self, pk: str, sk: str, amounts: dict[str, int]) -> None:
        """Add numbers to a counter item; all additions to one item become one ``ADD`` update at commit."""
        totals = self._counters.setdefault((pk, sk), {})
        for name, amount in amounts.items():
            totals[name] = totals.get(name, 0) + amount

    def put(self, item: _Item, *, condition: Condition | None = None, tag: str = "") -> None:
        self._ops.append(_Op("put", tag or item.pk, item, condition))

    def put_raw(
        self,
        model: type[_Item],
        item: dict[str, Any],
        *,
        condition: Condition | RawUpdate | None = None,
        tag: str = "",
    ) -> None:
        """Put an item given as it is sent (``new_items.wire_item``): the same operation as :meth:`put` of the
        model's item, without building it. ``condition`` may be written directly (a ``RawUpdate`` of guards only)."""
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if isinstance(condition, RawUpdate):
            self._ops.append(_Op("put", tag or pk, model, None, None, (pk, sk), condition, item))
        else:
            self._ops.append(_Op("put", tag or pk, model, condition, None, (pk, sk), None, item))

    def update(
        self, item: _Item, actions: Sequence[Action], *, condition: Condition | None = None, tag: str = ""
    ) -> None:
        self._ops.append(_Op("update", tag or item.pk, item, condition, list(actions)))

    def update_raw(self, item: _Item, update: RawUpdate, *, tag: str = "") -> None:
        """An update whose expressions are written directly (``codec.RawUpdate``): the same request as
        :meth:`update` with pynamodb's actions and condition, without building them."""
        self._ops.append(_Op("update", tag or item.pk, item, None, None, None, update))

    def check(self, model: type[_Item], pk: str, sk: str, condition: Condition | RawUpdate, *, tag: str = "") -> None:
        """A ConditionCheck; ``condition`` may be written directly (a ``RawUpdate`` of guards only)."""
        if isinstance(condition, RawUpdate):
            self._ops.append(_Op("check", tag or pk, model, key=(pk, sk), raw=condition))
        else:
            self._ops.append(_Op("check", tag or pk, model, condition, key=(pk, sk)))

    def delete(self, item: _Item, *, condition: Condition | None = None, tag: str = "") -> None:
        self._ops.append(_Op("delete", tag or item.pk, item, condition))

    def touches(self, pk: str, sk: str) -> bool:
        """DynamoDB refuses two operations on one item in a transaction; callers check before adding."""
        for op in self._ops:
            key = op.key if op.key is not None else (op.model.pk, op.model.sk)
            if key == (pk, sk):
                return True
        return False

    def commit(self, connection: Connection, token: str | None = None) -> None:
        """Send the transaction with ``token`` as its ClientRequestToken: DynamoDB then treats botocore's own
        retries of this call as the same transaction. Over DynamoDB's limits (100 items, 4 MB) it is refused with
        :class:`RequestTooLarge` before anything is sent.

        With a ``token`` the caller decides again after a conflict (``machinery.idempotency``). Without one the
        transaction is final as it stands (a setting or state written whole under its conditions): a
        ``TransactionConflict`` cancellation, which applied nothing, is sent again, each time as a new transaction
        with a new token, up to :data:`CONFLICT_RETRIES` times."""
        ops = [*self._ops, *self._counter_ops()]
        if not ops:
            return
        if token is not None:
            self._commit(connection, ops, token)
            return
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._commit(connection, ops, uuid.uuid4().hex)
                return
            except TxCancelled as cancelled:
                if not cancelled.retryable or attempt == CONFLICT_RETRIES:
                    raise
                pause(attempt)

    def _commit(self, connection: Connection, ops: list[_Op], token: str) -> None:
        token = _checked(len(ops), token)
        ordered = sorted(ops, key=_RANK)
        try:
            _send(connection, ordered, token)
        except TransactWriteError as exc:
            failure = _failure(exc, ordered)
            if failure is None:
                raise
            if isinstance(failure, TxCancelled) and failure.failed & self._marks:
                return  # our own mark is there: an earlier send of this transaction committed it whole
            raise failure from exc

    def _counter_ops(self) -> list[_Op]:
        """One ``ADD`` update per counter item, of everything added to it."""
        ops = []
        for (pk, sk), totals in sorted(self._counters.items()):
            update = added(totals)
            if update:
                ops.append(_Op("update", f"counter:{pk}", keyed(CounterItem, pk, sk), None, None, None, update))
        return ops


def pause(attempt: int) -> None:
    """A short, jittered wait before sending again a transaction a conflict cancelled."""
    time.sleep(min(0.1, 0.005 * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto


def _checked(items: int, token: str) -> str:
    """The token to send, once the transaction is known to be within DynamoDB's item limit."""
    if items > MAX_ITEMS:
        raise RequestTooLarge(
            f"This request would change {items} items in one transaction; DynamoDB allows {MAX_ITEMS}. "
            "Nothing was written.",
            items=items,
            max_items=MAX_ITEMS,
        )
    if len(token) > MAX_TOKEN:
        raise ValueError(f"a ClientRequestToken has at most {MAX_TOKEN} characters")
    return token


_WRAPPER = {"check": "ConditionCheck", "delete": "Delete", "put": "Put", "update": "Update"}


def _send(connection: Connection, ordered: Sequence[_Op], token: str) -> None:
    """The transaction as pynamodb's ``TransactWrite`` would send it (the same operations, keys, expressions and
    items), built without its per-item detours (``db.codec.serialized`` for the items), and the parameters its
    ``Connection.transact_write_items`` makes of them (then ``dispatch`` adds ``ReturnConsumedCapacity``), sent
    through the connection's ``_make_api_call``: the same request and the same ``TransactWriteError``s, without
    dispatch's per-call uuid, signals and log records. Refused before sending if it is over 4 MB."""
    _measured(connection.client)
    parameters = {
        "ClientRequestToken": token,
        "TransactItems": [{_WRAPPER[op.kind]: _operation(op)} for op in ordered],  # ordered: checks, deletes, ...
        "ReturnConsumedCapacity": "TOTAL",
    }
    try:
        connection._make_api_call("TransactWriteItems", parameters)
    except (BotoCoreError, ClientError) as exc:  # pynamodb's BOTOCORE_EXCEPTIONS, wrapped as it wraps them
        raise TransactWriteError("Failed to write transaction items", exc) from exc


def _operation(op: _Op) -> dict[str, Any]:
    """One operation's parameters, as ``Connection.get_operation_kwargs`` makes them: the condition's names and
    values first, then the update's."""
    kind, raw = op.kind, op.raw
    if op.item is not None:  # ``model`` is the item's class
        kwargs: dict[str, Any] = {"TableName": op.model.Meta.table_name, "Item": op.item}
    elif kind == "check":  # ``model`` is the item's class
        if op.condition is None and raw is None:
            raise TypeError("`condition` cannot be None")  # as TransactWrite.condition_check
        pk, sk = op.key if op.key is not None else (op.model.pk, op.model.sk)
        kwargs = {"TableName": op.model.Meta.table_name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}
    elif kind == "put":
        attributes = serialized(op.model)
        kwargs = {"TableName": type(op.model).Meta.table_name, "Item": attributes}
        kwargs["Item"] = {"pk": attributes.pop("pk"), "sk": attributes.pop("sk"), **attributes}
    else:  # the item's own values, as its ``pk`` and ``sk`` descriptors read them
        item = op.model.attribute_values
        pk, sk = op.key if op.key is not None else (item.get("pk"), item.get("sk"))
        kwargs = {"TableName": type(op.model).Meta.table_name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}
    if raw is not None:
        kwargs.update(raw.parameters())
        return kwargs
    if op.condition is None and kind != "update":  # nothing to express (a put of a new item's own key)
        return kwargs
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if op.condition is not None:
        kwargs["ConditionExpression"] = condition_text(op.condition, names, values)
    if op.kind == "update":
        kwargs["UpdateExpression"] = Update(*(op.actions or ())).serialize(names, values)
    if names:
        kwargs["ExpressionAttributeNames"] = {v: k for k, v in names.items()}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return kwargs


def _failure(exc: TransactWriteError, ordered: Sequence[_Op]) -> Exception | None:
    """What a failed transaction means to the caller: conditions that failed (by the tags of their items) or a
    conflict worth retrying, the database being busy; None for anything else (raised as it is)."""
    code, reasons = error_code(exc), exc.cancellation_reasons
    if code is None:
        return None  # no answer came back (a timeout, a closed connection): see ``outcome_unknown``
    if code == "TransactionCanceledException" and reasons:
        failed = {op.tag for op, r in zip(ordered, reasons, strict=False) if r and r.code == "ConditionalCheckFailed"}
        retryable = any(r and r.code in _RETRYABLE_REASONS for r in reasons)
        if failed or retryable:
            return TxCancelled(failed, retryable=retryable and not failed)
    if code in _THROTTLE_CODES or code == "TransactionCanceledException":
        return Unavailable("The database is busy; nothing was written. Retry shortly.")
    return None


_sized: weakref.WeakSet[Any] = weakref.WeakSet()  # the botocore clients whose transactions are measured
_last_sized: list[Any] = [None]  # the last of them: one identity test per transaction instead of a weak reference


def _measured(client: Any) -> None:
    """Measure every transaction ``client`` sends on the body it serialized (once, as it sends it: no second JSON
    encoding of our own), before it is signed or sent."""
    if client is _last_sized[0]:
        return
    if client not in _sized:
        client.meta.events.register("request-created.dynamodb.TransactWriteItems", _check_body)
        _sized.add(client)
    _last_sized[0] = client


def _check_body(request: Any, **_: Any) -> None:
    _check_size(len(request.body or b""))


def _check_size(size: int) -> None:
    """``size``: a conservative estimate of the transaction's size, the JSON of the whole request as sent (typed
    attribute values, expressions, names, the token), which is larger than the items DynamoDB counts. Raised before
    anything is sent: nothing was written."""
    if size > MAX_BYTES:
        raise RequestTooLarge(
            f"This request would write about {size:,} bytes in one transaction; DynamoDB allows 4 MB. "
            "Nothing was written.",
            bytes=size,
            max_bytes=MAX_BYTES,
        )


def error_code(exc: BaseException) -> str | None:
    """DynamoDB's error code (``ThrottlingException``, ``TransactionCanceledException``...), or None when no answer
    came back. Not pynamodb's ``cause_response_code``: botocore's HTTP errors (``ReadTimeoutError``,
    ``ConnectionClosedError``) carry ``response=None``, on which it fails with an AttributeError."""
    cause = exc.cause if isinstance(exc, PynamoDBException) and exc.cause is not None else exc
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return code if isinstance(code, str) else None


def is_unavailable(exc: BaseException) -> bool:
    """True for storage errors that mean 'busy or unreachable, retry later' rather than a bug."""
    if error_code(exc) in _THROTTLE_CODES:
        return True
    cause = exc.cause if isinstance(exc, PynamoDBException) and exc.cause is not None else exc
    return isinstance(cause, BotoCoreError)


def outcome_unknown(exc: BaseException) -> bool:
    """The request may have been applied: it was sent, and the connection broke or timed out before its answer.
    (A connection never made, ``ConnectTimeoutError`` / ``EndpointConnectionError``, sent nothing.)"""
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    return isinstance(cause, ReadTimeoutError | ConnectionClosedError)
