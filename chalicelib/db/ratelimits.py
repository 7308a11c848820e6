"""Token buckets in DynamoDB: one conditional UpdateItem takes a token from every bucket of one subject's item.

Each bucket is written in the mode its caller expects (``chalicelib.domain.ratelimit.is_idle``): an idle bucket
restarts from now (``SET t = :now + :interval`` if it is absent or not ahead of now), a busy one moves on
(``SET t = t + :interval`` if it is ahead of now but within its tolerance). Neither needs the bucket's value, so
concurrent requests commute and no read comes first. When a condition fails, DynamoDB returns the item as it was
(``ReturnValuesOnConditionCheckFailure``) and the caller decides again from the truth: refuse, or write once more
in the right mode. Nothing here is a transaction: one item, one write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.db.models import RateLimitItem, _Item
from chalicelib.db.reads import Found, ReadKey, connection


@dataclass(frozen=True)
class Take:
    """Take one token from the bucket ``t_<name>``, expecting it ``idle`` or busy."""

    name: str
    idle: bool
    interval_ms: int
    ceiling_ms: int  # now + tolerance: the latest a busy bucket may stand at and still admit


_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}


class Hot(Exception):
    """DynamoDB throttled this item's writes: its subject is far over any limit (or the table is overloaded)."""


class Stale(Exception):
    """A bucket was not in the expected mode (or is full): ``tats`` is the item as it was, {name: tat ms}."""

    def __init__(self, tats: dict[str, int]) -> None:
        super().__init__("rate-limit buckets changed")
        self.tats = tats


def _tats(item: dict[str, Any] | None) -> dict[str, int]:
    return {name[2:]: int(value["N"]) for name, value in (item or {}).items() if name.startswith("t_") and "N" in value}


def take(key: tuple[str, str], takes: Sequence[Take], now_ms: int, ttl_s: int) -> dict[str, int]:
    """Take a token from each bucket, all or none; returns {name: tat ms} as written. Raises :class:`Stale`."""
    names: dict[str, str] = {"#ttl": "ttl"}
    values: dict[str, Any] = {":now": {"N": str(now_ms)}, ":ttl": {"N": str(ttl_s)}}
    sets, conditions = ["#ttl = :ttl"], []
    for i, t in enumerate(takes):
        attr = f"#t{i}"
        names[attr] = f"t_{t.name}"
        if t.idle:
            values[f":s{i}"] = {"N": str(now_ms + t.interval_ms)}
            sets.append(f"{attr} = :s{i}")
            conditions.append(f"(attribute_not_exists({attr}) OR {attr} <= :now)")
        else:
            values[f":i{i}"] = {"N": str(t.interval_ms)}
            values[f":c{i}"] = {"N": str(t.ceiling_ms)}
            sets.append(f"{attr} = {attr} + :i{i}")
            conditions.append(f"({attr} > :now AND {attr} <= :c{i})")
    try:
        response = connection().client.update_item(
            TableName=_Item.Meta.table_name,
            Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in _THROTTLED:
            raise Hot(code) from exc
        if code != "ConditionalCheckFailedException":
            raise
        raise Stale(_tats(exc.response.get("Item"))) from exc
    return _tats(response.get("Attributes"))


def read_key(key: tuple[str, str]) -> ReadKey:
    """The subject's item, for a batch read that carries it (``db.carry``)."""
    return (RateLimitItem, *key)


def from_found(found: Found, key: tuple[str, str]) -> dict[str, int]:
    """The buckets of a read carried raw (``db.carry(..., raw=True)``), {name: tat ms}; none stored: {}."""
    return _tats(found.get(key))


def read(key: tuple[str, str]) -> dict[str, int]:
    """The buckets as stored (tests, diagnostics, and a look before judging a typed code: ``wrong_codes_left``)."""
    response = connection().client.get_item(
        TableName=_Item.Meta.table_name, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}}, ConsistentRead=True
    )
    return _tats(response.get("Item"))
