"""The embedded DynamoDB of ``make run`` (local/embedded_dynamodb.py): a TransactWriteItems that rolls back only the
items it touched, all or nothing, and honours ClientRequestToken as DynamoDB documents it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from local import embedded_dynamodb

TABLE = "embedded"
REGION = "eu-central-1"


def create_table(c: Any, name: str, **extra: Any) -> None:
    """A table keyed like the app's (``pk``, ``sk``) with an index ``by_g`` on ``g``."""
    c.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


@pytest.fixture
def client() -> Iterator[Any]:
    with embedded_dynamodb.installed(), mock_aws():
        c = boto3.client("dynamodb", region_name=REGION)
        create_table(c, TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        for sk, balance in (("balance", 100), ("lot-1", 60), ("lot-2", 40)):
            c.put_item(
                TableName=TABLE,
                Item={"pk": {"S": "C#1"}, "sk": {"S": sk}, "n": {"N": str(balance)}, "g": {"S": "customer-1"}},
            )
        yield c


def _key(sk: str, pk: str = "C#1") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _everything(c: Any) -> tuple[list[Any], list[Any], int]:
    """The table, its index and its stream: what a cancelled transaction must leave exactly as they were."""
    items = sorted(c.scan(TableName=TABLE)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    indexed = sorted(
        c.query(
            TableName=TABLE,
            IndexName="by_g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "customer-1"}},
        )["Items"],
        key=lambda i: i["sk"]["S"],
    )
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE).stream_shard
    return items, indexed, len(shard.items)


def _spend(points: int) -> list[dict[str, Any]]:
    """An accrual-like write: a new entry, the balance, a spent lot, a removed lot, an overwritten lot."""
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {**_key("E#1"), "points": {"N": str(points)}, "g": {"S": "customer-1"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": _key("balance"),
                "UpdateExpression": "SET n = n - :p",
                "ConditionExpression": "n >= :p",
                "ExpressionAttributeValues": {":p": {"N": str(points)}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": _key("lot-1")}},
        {"Put": {"TableName": TABLE, "Item": {**_key("lot-2"), "n": {"N": "0"}, "g": {"S": "customer-1"}}}},
    ]


def _cancel_reasons(err: ClientError) -> list[str]:
    return [r["Code"] for r in err.response["CancellationReasons"]]


def test_a_transaction_whose_last_condition_fails_leaves_no_partial_write(client: Any) -> None:
    before = _everything(client)
    closed = {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": _key("PARTNER", pk="P#1"),
            "ConditionExpression": "attribute_exists(pk)",  # the partner is gone: the whole spend must not happen
        }
    }
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[*_spend(30), closed])
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _cancel_reasons(raised.value) == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert _everything(client) == before  # items, index and stream as they were


def test_an_invalid_operation_after_writes_leaves_no_partial_write(client: Any) -> None:
    before = _everything(client)
    twice = {"ConditionCheck": {"TableName": TABLE, "Key": _key("balance"), "ConditionExpression": "n > :z"}}
    twice["ConditionCheck"]["ExpressionAttributeValues"] = {":z": {"N": "0"}}
    with pytest.raises(ClientError) as raised:  # the balance twice in one call: a ValidationException
        client.transact_write_items(TransactItems=[*_spend(30), twice])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _everything(client) == before


def test_a_transaction_that_holds_applies_every_item(client: Any) -> None:
    client.transact_write_items(TransactItems=_spend(30))
    items = {i["sk"]["S"]: i for i in _everything(client)[0]}
    assert sorted(items) == ["E#1", "balance", "lot-2"]
    assert (items["balance"]["n"]["N"], items["lot-2"]["n"]["N"]) == ("70", "0")


def test_a_transaction_never_copies_a_table(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto as released deep-copies every table once per item of the call: its cost grows with the table."""

    def refuse(self: Table, memo: Any) -> Table:
        raise AssertionError("a transaction copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[*_spend(30), *_spend(1)[1:2]])
    client.transact_write_items(TransactItems=_spend(30))


def test_the_same_call_with_the_same_token_succeeds_without_applying_again(client: Any) -> None:
    client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-1")
    after_first = _everything(client)
    # botocore resends the very same call after a lost answer: its conditions would now fail, yet it succeeds
    client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-1")
    assert _everything(client) == after_first


def test_the_same_token_with_another_call_is_refused_and_changes_nothing(client: Any) -> None:
    client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-1")
    after_first = _everything(client)
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=_spend(31), ClientRequestToken="till-7-receipt-1")
    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert _everything(client) == after_first


def test_a_token_is_new_again_after_ten_minutes(client: Any) -> None:
    now = [1000.0]
    ledger = embedded_dynamodb.token_ledger(dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION])
    ledger.clock = lambda: now[0]
    client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-1")
    now[0] += embedded_dynamodb.TOKEN_WINDOW_SECONDS - 1
    client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-1")
    now[0] += 2
    with pytest.raises(ClientError) as raised:  # applied again: the entry exists, so its condition fails
        client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-1")
    assert _cancel_reasons(raised.value)[0] == "ConditionalCheckFailed"
    client.transact_write_items(TransactItems=_spend(1)[1:2], ClientRequestToken="till-7-receipt-1")  # no mismatch
    assert ledger.tokens.keys() == {"till-7-receipt-1"}  # expired tokens leave: memory stays bounded


def test_a_cancelled_call_leaves_its_token_unused(client: Any) -> None:
    too_much = _spend(500)
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=too_much, ClientRequestToken="till-7-receipt-2")
    client.transact_write_items(TransactItems=_spend(30), ClientRequestToken="till-7-receipt-2")
    assert {i["sk"]["S"] for i in _everything(client)[0]} == {"E#1", "balance", "lot-2"}


def test_a_transaction_over_4_mb_is_refused_as_dynamodb_does(client: Any) -> None:
    """DynamoDB: "the aggregate size of the items in the transaction cannot exceed 4 MB". Each item here is under the
    400 KB item limit, twelve of them about 4.7 MB: refused whole, nothing written (moto applied it)."""
    big = {"sk": {"S": "x"}, "v": {"S": "x" * 390_000}}
    items = [{"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"big-{i}"}, **big}}} for i in range(12)]
    before = _everything(client)
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=items)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _everything(client) == before
