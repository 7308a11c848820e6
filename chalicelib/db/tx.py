"""One DynamoDB transaction per state change, with failures mapped back to the items that caused them."""

from __future__ import annotations

import logging
import random
import time
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action, Update

from chalicelib.db.codec import serialized
from chalicelib.db.counter_adds import added
from chalicelib.db.expressions import RawUpdate, condition_text
from chalicelib.db.keys import COUNTER_SHARDS
from chalicelib.db.models import CounterItem, _Item
from chalicelib.db.new_items import put_item
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


class Transaction:
    """Operations held as they are sent (each one's ``TransactItems`` entry, made when it is added, as pynamodb's
    ``TransactWrite`` makes its own), by kind in the order pynamodb sends them: condition checks, then deletes, then
    puts, then updates (cancellation reasons come in that order). Beside each kind, its operations' tags."""

    def __init__(self) -> None:
        self._checks: list[dict[str, Any]] = []
        self._deletes: list[dict[str, Any]] = []
        self._puts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._check_tags: list[str] = []
        self._delete_tags: list[str] = []
        self._put_tags: list[str] = []
        self._update_tags: list[str] = []
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
        self.put(item, condition=type(item).pk.does_not_exist(), tag=tag)

    def __len__(self) -> int:
        return len(self._checks) + len(self._deletes) + len(self._puts) + len(self._updates) + len(self._counters)

    def add_to_counter(self, pk: str, sk: str, amounts: dict[str, int]) -> None:
        """Add numbers to a counter item; all additions to one item become one ``ADD`` update at commit."""
        totals = self._counters.get((pk, sk))
        if totals is None:  # the usual: one addition per counter item
            self._counters[pk, sk] = dict(amounts)
            return
        for name, amount in amounts.items():
            totals[name] = totals.get(name, 0) + amount

    def put(self, item: _Item, *, condition: Condition | None = None, tag: str = "") -> None:
        attributes = serialized(item)
        put = {"TableName": type(item).Meta.table_name, "Item": put_item(attributes)}
        self._puts.append({"Put": _expressed(put, condition) if condition is not None else put})
        self._put_tags.append(tag or item.pk)

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
        put = {"TableName": model.Meta.table_name, "Item": item}
        if isinstance(condition, RawUpdate):
            condition.write(put)
        elif condition is not None:
            _expressed(put, condition)
        self._puts.append({"Put": put})
        self._put_tags.append(tag or item["pk"]["S"])

    def update(
        self, item: _Item, actions: Sequence[Action], *, condition: Condition | None = None, tag: str = ""
    ) -> None:
        update = _expressed(_keyed(item), condition, actions)
        self._updates.append({"Update": update})
        self._update_tags.append(tag or item.pk)

    def update_raw(self, item: _Item, update: RawUpdate, *, tag: str = "") -> None:
        """An update whose expressions are written directly (``codec.RawUpdate``): the same request as
        :meth:`update` with pynamodb's actions and condition, without building them."""
        self._updates.append({"Update": update.write(_keyed(item))})
        self._update_tags.append(tag or item.pk)

    def check(self, model: type[_Item], pk: str, sk: str, condition: Condition | RawUpdate, *, tag: str = "") -> None:
        """A ConditionCheck; ``condition`` may be written directly (a ``RawUpdate`` of guards only)."""
        check = {"TableName": model.Meta.table_name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}
        if isinstance(condition, RawUpdate):
            condition.write(check)
        elif condition is not None:
            _expressed(check, condition)
        else:
            raise TypeError("`condition` cannot be None")  # as TransactWrite.condition_check
        self._checks.append({"ConditionCheck": check})
        self._check_tags.append(tag or pk)

    def delete(self, item: _Item, *, condition: Condition | None = None, tag: str = "") -> None:
        delete = _keyed(item)
        self._deletes.append({"Delete": _expressed(delete, condition) if condition is not None else delete})
        self._delete_tags.append(tag or item.pk)

    def touches(self, pk: str, sk: str) -> bool:
        """DynamoDB refuses two operations on one item in a transaction; callers check before adding."""
        for kind, ops in (("ConditionCheck", self._checks), ("Delete", self._deletes), ("Update", self._updates)):
            for op in ops:
                key = op[kind]["Key"]
                if key["pk"]["S"] == pk and key["sk"]["S"] == sk:
                    return True
        for op in self._puts:
            item = op["Put"]["Item"]
            if item["pk"]["S"] == pk and item["sk"]["S"] == sk:
                return True
        return False

    def operations(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The ``TransactItems`` to send, in pynamodb's order (the counters' updates last), and their tags."""
        counters, counter_tags = self._counter_ops()
        return (
            [*self._checks, *self._deletes, *self._puts, *self._updates, *counters],
            [*self._check_tags, *self._delete_tags, *self._put_tags, *self._update_tags, *counter_tags],
        )

    def commit(self, connection: Connection, token: str | None = None) -> None:
        """Send the transaction with ``token`` as its ClientRequestToken: DynamoDB then treats botocore's own
        retries of this call as the same transaction. Over DynamoDB's limits (100 items, 4 MB) it is refused with
        :class:`RequestTooLarge` before anything is sent.

        With a ``token`` the caller decides again after a conflict (``machinery.idempotency``). Without one the
        transaction is final as it stands (a setting or state written whole under its conditions): a
        ``TransactionConflict`` cancellation, which applied nothing, is sent again, each time as a new transaction
        with a new token, up to :data:`CONFLICT_RETRIES` times."""
        items, tags = self.operations()
        if not items:
            return
        if token is not None:
            self._commit(connection, items, tags, token)
            return
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._commit(connection, items, tags, uuid.uuid4().hex)
                return
            except TxCancelled as cancelled:
                if not cancelled.retryable or attempt == CONFLICT_RETRIES:
                    raise
                pause(attempt)

    def _commit(self, connection: Connection, items: list[dict[str, Any]], tags: list[str], token: str) -> None:
        token = _checked(len(items), token)
        try:
            _send(connection, items, token)
        except TransactWriteError as exc:
            failure = _failure(exc, tags)
            if failure is None:
                raise
            if isinstance(failure, TxCancelled) and failure.failed & self._marks:
                return  # our own mark is there: an earlier send of this transaction committed it whole
            raise failure from exc

    def _counter_ops(self) -> tuple[list[dict[str, Any]], list[str]]:
        """One ``ADD`` update per counter item, of everything added to it, and their tags."""
        if not self._counters:
            return [], []
        ops, tags = [], []
        table = CounterItem.Meta.table_name
        for (pk, sk), totals in sorted(self._counters.items()):
            update = added(totals, {"TableName": table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}})
            if update is not None:
                ops.append({"Update": update})
                tags.append(f"counter:{pk}")
        return ops, tags


def _keyed(item: _Item) -> dict[str, Any]:
    """An update's, a delete's target: its table and key, as the item's ``pk`` and ``sk`` descriptors read them."""
    values = item.attribute_values
    return {
        "TableName": type(item).Meta.table_name,
        "Key": {"pk": {"S": values.get("pk")}, "sk": {"S": values.get("sk")}},
    }


def _expressed(
    kwargs: dict[str, Any], condition: Condition | None, actions: Sequence[Action] | None = None
) -> dict[str, Any]:
    """``kwargs`` with pynamodb's condition and update actions serialized as ``Connection.get_operation_kwargs``
    serializes them: the condition's names and values first, then the update's (``actions``: an update's)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if condition is not None:
        kwargs["ConditionExpression"] = condition_text(condition, names, values)
    if actions is not None:
        kwargs["UpdateExpression"] = Update(*actions).serialize(names, values)
    if names:
        kwargs["ExpressionAttributeNames"] = {v: k for k, v in names.items()}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return kwargs


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


def _send(connection: Connection, items: list[dict[str, Any]], token: str) -> None:
    """The transaction as pynamodb's ``TransactWrite`` would send it (the same operations, keys, expressions and
    items, made as they were added), and the parameters its ``Connection.transact_write_items`` makes of them (then
    ``dispatch`` adds ``ReturnConsumedCapacity``), sent through the connection's ``_make_api_call``: the same
    request and the same ``TransactWriteError``s, without dispatch's per-call uuid, signals and log records.
    Refused before sending if it is over 4 MB."""
    _measured(connection.client)
    parameters = {"ClientRequestToken": token, "TransactItems": items, "ReturnConsumedCapacity": "TOTAL"}
    try:
        connection._make_api_call("TransactWriteItems", parameters)
    except (BotoCoreError, ClientError) as exc:  # pynamodb's BOTOCORE_EXCEPTIONS, wrapped as it wraps them
        raise TransactWriteError("Failed to write transaction items", exc) from exc


def _failure(exc: TransactWriteError, tags: list[str]) -> Exception | None:
    """What a failed transaction means to the caller: conditions that failed (by the tags of their items, ``tags``
    in the order they were sent) or a conflict worth retrying, the database being busy; None for anything else
    (raised as it is)."""
    code, reasons = error_code(exc), exc.cancellation_reasons
    if code is None:
        return None  # no answer came back (a timeout, a closed connection): see ``outcome_unknown``
    if code == "TransactionCanceledException" and reasons:
        failed = {tag for tag, r in zip(tags, reasons, strict=False) if r and r.code == "ConditionalCheckFailed"}
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
    # The JSON as serialized (bytes): ``request.body`` would prepare a whole request (URL, headers) to read it.
    data = request.data
    _check_size(len(data) if isinstance(data, bytes) else len(request.body or b""))


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
