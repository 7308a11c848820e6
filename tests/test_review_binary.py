"""Hostile tests of make run's local stack (local/): each one reproduces a defect found in review."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import boto3

from local.saved_tables import SavedTables

REGION = "eu-central-1"


class _App:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0


def _fresh_backend() -> None:
    from moto.dynamodb.models import dynamodb_backends

    for regions in dynamodb_backends.values():
        for backend in regions.values():
            backend.tables.clear()


def _make_table(c: Any) -> None:
    c.create_table(
        TableName="rt",
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
    )


def test_every_attribute_type_survives_save_and_restore(tmp_path: Path) -> None:
    from local import servers

    _fresh_backend()
    dynamo = servers.start_dynamodb()
    assert dynamo.app is not None
    try:
        c = boto3.client("dynamodb", region_name=REGION, endpoint_url=dynamo.url)
        _make_table(c)
        item = {
            "pk": {"S": "C#1"},
            "sk": {"S": "x"},
            "g": {"S": "grp"},
            "b": {"B": b"\x00\xffbin"},
            "bs": {"BS": [b"\x01", b"\x02"]},
            "n": {"N": "12345678901234567890.5"},
            "ns": {"NS": ["1", "2"]},
            "ss": {"SS": ["a", "b"]},
            "m": {"M": {"k": {"L": [{"NULL": True}, {"BOOL": False}]}}},
            "u": {"S": "Анна"},
            "ttl": {"N": "1700000000"},
        }
        c.put_item(TableName="rt", Item=item)
        before = c.get_item(TableName="rt", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
        saver = SavedTables(tmp_path / "dynamodb.json", dynamo.app)
        assert saver.save()
        _fresh_backend()
        _make_table(c)
        assert SavedTables(tmp_path / "dynamodb.json", dynamo.app).restore() == 1
        after = c.get_item(TableName="rt", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
        assert after == before
        by_g = c.query(
            TableName="rt",
            IndexName="by_g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "grp"}},
        )["Items"]
        assert by_g == [before]
    finally:
        dynamo.stop()
        _fresh_backend()
