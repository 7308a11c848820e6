"""Hostile tests of make run's local stack (local/): each one reproduces a defect found in review."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import embedded_dynamodb

REGION = "eu-central-1"


class _App:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0


def test_a_transaction_over_4_mb_is_refused_as_dynamodb_does() -> None:
    with embedded_dynamodb.installed(), mock_aws():
        c = boto3.client("dynamodb", region_name=REGION)
        c.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        big = "x" * 390_000  # each item under the 400 KB item limit; 12 of them: about 4.7 MB
        items = [{"Put": {"TableName": "t", "Item": {"pk": {"S": f"k{i}"}, "v": {"S": big}}}} for i in range(12)]
        with pytest.raises(ClientError) as raised:
            c.transact_write_items(TransactItems=items)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert c.scan(TableName="t", Select="COUNT")["Count"] == 0
