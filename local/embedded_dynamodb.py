"""The embedded DynamoDB of ``make run`` (and, optionally, of the tests): moto, with two changes to TransactWriteItems.

1. **Write cost flat in the table's size.** moto backs up the *whole table* (``copy.deepcopy``) once per item of every
   transaction before applying it, so an accrual costs O(items in the table x items in the transaction) and the
   process's memory churns accordingly. Here a transaction keeps an undo log of the items it touches (a copy of each
   one before its first write) and, when cancelled, puts back exactly those: the same all-or-nothing result for
   O(items in the transaction).
2. **ClientRequestToken as DynamoDB documents it.** moto ignores the token. DynamoDB: a successful call repeated with
   the same token and the same parameters within 10 minutes succeeds again without applying anything; the same token
   with different parameters is refused with IdempotentParameterMismatchException; after 10 minutes the token is new.
   botocore fills the token in and sends the very same call when it retries after a lost answer, so this is what makes
   such a retry harmless in AWS. A cancelled call leaves no token behind (nothing was applied): its retry runs again.

Never deployed (``local/`` is not packaged). :func:`install` patches moto's classes in this process; it must run
before moto serves its first request (``local.servers.start_dynamodb`` and ``tests/conftest.py`` call it).
The change is offered upstream in docs/moto-transactions-patch.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    ConditionalCheckFailed,
    DynamodbException,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

TOKEN_WINDOW_SECONDS = 600.0  # DynamoDB: "a client request token is valid for 10 minutes"
MAX_TRANSACTION_ITEMS = 100
# DynamoDB: "the aggregate size of the items in the transaction cannot exceed 4 MB"
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024


class IdempotentParameterMismatch(DynamodbException):
    """DynamoDB's answer to a token reused with different parameters."""

    error_type = ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            IdempotentParameterMismatch.error_type,
            "The request uses the same client token as a previous, but non-identical request.",
        )


@dataclass
class _UndoLog:
    """The items a transaction is about to write, as they were before its first write to each."""

    before: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(default_factory=list)
    stream_lengths: dict[int, tuple[Table, int]] = field(default_factory=dict)

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        # Updates change an Item in place: keep a copy of this one item, never of the table.
        self.before.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        if table.stream_shard is not None and id(table) not in self.stream_lengths:
            self.stream_lengths[id(table)] = (table, len(table.stream_shard.items))

    def rollback(self) -> None:
        for table, hash_key, range_key, item in reversed(self.before):
            if table.range_key_attr is not None:
                bucket = table.items[hash_key]
                if item is None:
                    bucket.pop(range_key, None)
                else:
                    bucket[range_key] = item
            elif item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item  # type: ignore[assignment]  # moto's own put_item does the same
        # A cancelled transaction never happened: no stream records for it either (moto's whole-table restore
        # dropped them too).
        for table, length in self.stream_lengths.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]
        self.before.clear()


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` with an undo log of the touched items instead of a copy of
    every table per item. Same checks, same order, same errors and cancellation reasons."""
    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    if _request_size(transact_items) > MAX_TRANSACTION_BYTES:
        raise MockValidationException("Transaction request cannot be larger than 4 MB")
    undo = _UndoLog()
    try:
        errors = _apply(self, transact_items, undo)
    except BaseException:
        # moto restored its backups only for some errors; any error leaves nothing half-written here.
        undo.rollback()
        raise
    if any(code is not None for code, _, _ in errors):
        undo.rollback()
        raise TransactionCanceledException(errors)


def _request_size(transact_items: list[dict[str, Any]]) -> int:
    """A lower bound of what DynamoDB counts against the 4 MB: the items put, the keys and the values sent (never
    more than AWS counts, so nothing AWS accepts is refused here)."""
    from moto.dynamodb.models.utilities import bytesize

    total = 0
    for item in transact_items:
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for attrs in (op.get("Item"), op.get("Key"), op.get("ExpressionAttributeValues")):
                if isinstance(attrs, dict):
                    total += sum(bytesize(str(k)) + DynamoType(v).size() for k, v in attrs.items())
    return total


_Reason = tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]


def _apply(backend: DynamoDBBackend, transact_items: list[dict[str, Any]], undo: _UndoLog) -> list[_Reason]:
    target_items: set[tuple[str, str]] = set()
    errors: list[_Reason] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = backend.get_table(table_name)
            key = _key_of(table, op_type, op)
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in target_items:
                raise MultipleTransactionsException()
            target_items.add(unique)
            current = backend.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if condition is not None and not _holds(condition, names, values, current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                undo.remember(table, *backend.get_keys_value(table, key))
            _write(backend, op_type, op, key)
            errors.append((None, None, None))
        except MockValidationException:  # MultipleTransactionsException included: the whole call is invalid
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 - moto reports any other failure as this item's cancellation reason
            errors.append((type(e).__name__, str(e), original_item))
    return errors


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _holds(condition: str, names: dict[str, str] | None, values: dict[str, Any] | None, current: Item | None) -> bool:
    from moto.dynamodb.comparisons import get_filter_expression

    return bool(get_filter_expression(condition, names, values).expr(current))


def _write(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    table_name = op["TableName"]
    condition = op.get("ConditionExpression")
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(
            table_name,
            op["Item"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Delete":
        backend.delete_item(
            table_name,
            key,
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Update":
        backend.update_item(
            table_name,
            key,
            update_expression=op["UpdateExpression"],
            condition_expression=condition,
            expression_attribute_names=names or {},
            expression_attribute_values=values or {},
        )


# --- ClientRequestToken -------------------------------------------------------------------------------------------


@dataclass
class TokenLedger:
    """Tokens of successful TransactWriteItems calls for 10 minutes: token -> (the call's parameters, expiry).
    Insertion order is expiry order, so expired tokens leave from the front and memory stays bounded by the
    calls of the last 10 minutes."""

    clock: Callable[[], float] = time.monotonic
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def _forget_expired(self, now: float) -> None:
        while self.tokens:
            first = next(iter(self.tokens))
            if self.tokens[first][1] > now:
                return
            del self.tokens[first]

    def seen(self, token: str, parameters: str) -> bool:
        """True when this call already succeeded (do not apply it again); raises on a token reused differently."""
        self._forget_expired(self.clock())
        known = self.tokens.get(token)
        if known is None:
            return False
        if known[0] != parameters:
            raise IdempotentParameterMismatch()
        return True

    def record(self, token: str, parameters: str) -> None:
        self.tokens[token] = (parameters, self.clock() + TOKEN_WINDOW_SECONDS)


_ledger_lock = threading.Lock()


def token_ledger(backend: DynamoDBBackend) -> TokenLedger:
    """The ledger of one account and region (moto's backend); a reset backend starts a new one."""
    with _ledger_lock:
        ledger = backend.__dict__.get("_client_request_tokens")
        if not isinstance(ledger, TokenLedger):
            ledger = TokenLedger()
            backend.__dict__["_client_request_tokens"] = ledger
        return ledger


def _parameters(body: dict[str, Any]) -> str:
    """A digest of the call's parameters but its token: 10 minutes of calls under a load test stay a few MB."""
    canonical = json.dumps({k: v for k, v in body.items() if k != "ClientRequestToken"}, sort_keys=True, default=repr)
    return hashlib.sha256(canonical.encode()).hexdigest()


_moto_transact_write_items = DynamoDBBackend.transact_write_items
_moto_handler_transact_write_items = DynamoHandler.transact_write_items


def _handler_transact_write_items(handler: DynamoHandler) -> ActionResult:
    token = handler.body.get("ClientRequestToken")
    if not token:
        return _moto_handler_transact_write_items(handler)
    ledger = token_ledger(handler.dynamodb_backend)
    parameters = _parameters(handler.body)
    if ledger.seen(token, parameters):
        return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
    result = _moto_handler_transact_write_items(handler)  # raises when cancelled: the token stays unknown
    ledger.record(token, parameters)
    return result


def install() -> None:
    """Use the flat-cost transactions and honour ClientRequestToken in this process's moto. Idempotent."""
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _handler_transact_write_items  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """moto as released (the benchmark compares both)."""
    DynamoDBBackend.transact_write_items = _moto_transact_write_items  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _moto_handler_transact_write_items  # type: ignore[method-assign]


@contextmanager
def installed(on: bool = True) -> Iterator[None]:
    """This module's TransactWriteItems (``on``) or moto's own (the benchmark's "before") for the duration; the
    previous state afterwards."""
    previous = (DynamoDBBackend.transact_write_items, DynamoHandler.transact_write_items)
    install() if on else uninstall()
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items, DynamoHandler.transact_write_items = previous  # type: ignore[method-assign]
