"""An accrual-like TransactWriteItems on the embedded DynamoDB at 1k, 10k and 100k items in the table, with moto as
released ("before") and with local/embedded_dynamodb.py ("after").

    python -m bench.embedded_dynamodb                 # after only, plus before at 1k and 10k (a minute)
    python -m bench.embedded_dynamodb --before-100k   # also moto as released at 100k items (a few minutes more)

The call has the shape of an accrual: a new entry (must not exist), the customer's balance (conditional update), the
order record, the replay record, two counters and a check that the partner exists: 7 items, 3 of them conditional.
The table is filled through moto's own Table.put_item (100k puts through botocore would take minutes)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from typing import Any

TABLE = "bench-embedded"
REGION = "eu-central-1"
SIZES = (1_000, 10_000, 100_000)


def _accrual(n: int, customer: int) -> list[dict[str, Any]]:
    def key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    cust = f"C#{customer:06d}"
    one = {":one": {"N": "1"}, ":pts": {"N": "10"}}
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {**key(cust, f"E#bench-{n:06d}"), "points": {"N": "10"}, "type": {"S": "accrual"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": key(cust, "PROFILE"),
                "UpdateExpression": "SET available = available + :pts, version = version + :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": one,
            }
        },
        {"Put": {"TableName": TABLE, "Item": {**key("O#P1", f"bench-{n:06d}"), "customer": {"S": cust}}}},
        {"Put": {"TableName": TABLE, "Item": {**key("R#P1", f"idem-{n:06d}"), "answer": {"S": "{}"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": key("S#P1#2026-03", f"shard-{n % 8}"),
                "UpdateExpression": "ADD issued :pts",
                "ExpressionAttributeValues": {":pts": {"N": "10"}},
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": key("PROGRAM", "COUNTERS"),
                "UpdateExpression": "ADD accruals :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": key("P#P1", "PARTNER"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]


def _fill(items: int) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE)
    table.put_item({"pk": {"S": "P#P1"}, "sk": {"S": "PARTNER"}})
    customers = max(1, items // 10)  # ten items per customer: a profile and nine entries
    for i in range(items - 1):
        customer = i % customers
        sk = "PROFILE" if i < customers else f"E#{i:07d}"
        attrs = {"pk": {"S": f"C#{customer:06d}"}, "sk": {"S": sk}, "available": {"N": "0"}, "version": {"N": "0"}}
        table.put_item(attrs)


def measure(items: int, released: bool, calls: int) -> dict[str, float]:
    """Milliseconds per accrual-like call (median and max of ``calls``) on a table of ``items`` items."""
    import boto3
    from moto import mock_aws

    from local import embedded_dynamodb

    with embedded_dynamodb.installed(on=not released), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        _fill(items)
        customers = max(1, items // 10)
        client.transact_write_items(TransactItems=_accrual(0, 0))  # warm botocore's caches
        timings = []
        for n in range(1, calls + 1):
            started = time.perf_counter()
            client.transact_write_items(TransactItems=_accrual(n, (n * 7919) % customers))
            timings.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(timings), 2), "max_ms": round(max(timings), 2), "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before-100k", action="store_true", help="also time moto as released at 100k items")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    results: dict[str, Any] = {"after": {}, "before": {}}
    for items in SIZES:
        results["after"][items] = measure(items, released=False, calls=50)
        print(f"after   {items:>7,} items: {results['after'][items]}", flush=True)
    for items in SIZES:
        if items == 100_000 and not args.before_100k:
            continue
        results["before"][items] = measure(items, released=True, calls=3 if items >= 10_000 else 10)
        print(f"before  {items:>7,} items: {results['before'][items]}", flush=True)
    after = results["after"]
    results["after_100k_over_1k"] = round(after[100_000]["median_ms"] / after[1_000]["median_ms"], 2)
    results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
