"""DynamoDB's own sizing rules, applied to the requests the service actually sends (bench/capture.py records them).

Item size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html): the sum
over attributes of the UTF-8 length of the name plus the value's size: a string its UTF-8 bytes, a number 1 byte per
two significant digits plus 1, a binary its raw bytes, a boolean or null 1 byte, a list or map 3 bytes plus its
elements (each element 1 byte more; a map's elements count their names), a set the sum of its elements.

Units (on-demand request units; the same arithmetic as provisioned capacity units):
- a write: 1 per KB of the larger of the item before and after, rounded up per item, at least 1;
- a read: 1 per 4 KB (strongly consistent; eventually consistent halves it), per item for GetItem and BatchGetItem
  (a key that finds nothing still costs the minimum), summed over the returned items for Query, at least 1;
- transactions double both (TransactWriteItems, TransactGetItems). A ConditionCheck is counted as a transactional
  write of the item it checks (the conservative reading; it is reported apart so the choice is visible);
- a global secondary index costs a (standard) write per index the item is, or was, projected into: a put when it
  enters, a delete when it leaves, both when its index key changes, one write when a projected attribute changes.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KB = 1024
READ_UNIT_BYTES = 4 * KB

Item = Mapping[str, Mapping[str, Any]]  # a DynamoDB item in the wire format: {"name": {"S": "..."}}


def number_size(text: str) -> int:
    """Bytes of a number: 1 per two significant digits (leading and trailing zeros trimmed) plus 1."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(max(1, len(digits)) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in the wire format, without its name."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return number_size(str(raw))
    if kind == "B":
        return len(_raw_bytes(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(str(n)) for n in raw)
    if kind == "BS":
        return sum(len(_raw_bytes(b)) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _raw_bytes(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    return base64.b64decode(str(raw))


def item_size(item: Item | None) -> int:
    """Bytes of an item as DynamoDB counts them (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int, transactional: bool = False) -> int:
    """Write units of one item of ``size`` bytes (the larger of before and after)."""
    units = max(1, math.ceil(size / KB))
    return units * 2 if transactional else units


def read_units(size: int, consistent: bool = True, transactional: bool = False) -> float:
    """Read units of ``size`` bytes read in one go (one item, or the sum of a query's items)."""
    units = float(max(1, math.ceil(size / READ_UNIT_BYTES)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes and what it projects (ALL, KEYS_ONLY or INCLUDE)."""

    name: str
    key: tuple[str, ...]
    projection: str = "ALL"
    included: tuple[str, ...] = ()


def projected(item: Item | None, index: Index, table_key: Sequence[str]) -> dict[str, Any] | None:
    """The item as the index stores it, or None when it is not in the index (a key attribute missing)."""
    if not item or any(k not in item for k in index.key):
        return None
    if index.projection == "ALL":
        return dict(item)
    keep = {*index.key, *table_key, *(index.included if index.projection == "INCLUDE" else ())}
    return {k: v for k, v in item.items() if k in keep}


def index_write_units(before: Item | None, after: Item | None, index: Index, table_key: Sequence[str]) -> int:
    """Standard write units the index costs for one item going from ``before`` to ``after``."""
    old, new = projected(before, index, table_key), projected(after, index, table_key)
    if old is None and new is None:
        return 0
    if old is None:
        return write_units(item_size(new))
    if new is None:
        return write_units(item_size(old))
    if any(old[k] != new[k] for k in index.key):
        return write_units(item_size(old)) + write_units(item_size(new))
    if old != new:
        return write_units(max(item_size(old), item_size(new)))
    return 0


@dataclass
class Written:
    """One item a request wrote (or checked): its key, its sizes and what it cost."""

    pk: str
    sk: str
    action: str  # Put | Update | Delete | ConditionCheck
    size_before: int
    size_after: int
    units: int
    index_units: int
    indexes: int = 0  # indexes the item is in after the write (its stored copies besides the table's)

    @property
    def kind(self) -> str:
        """The item's type, from its keys' prefixes (``CUST#...`` / ``PROFILE`` -> ``CUST/PROFILE``); a sort key that
        is an identifier (``EXPIRE#...`` / ``<customer id>``) adds nothing."""
        pk, sk = self.pk.split("#", 1)[0], self.sk.split("#", 1)[0]
        return f"{pk}/{sk}" if sk.isupper() else pk


@dataclass
class Cost:
    """What a series of DynamoDB calls cost, by DynamoDB's rules."""

    calls: list[str] = field(default_factory=list)
    read_units: float = 0.0
    write_units: int = 0  # the table's, transactions doubled
    condition_check_units: int = 0  # included in write_units
    index_write_units: int = 0
    written: list[Written] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        return len(self.calls)

    def as_dict(self) -> dict[str, Any]:
        return {
            "round_trips": self.round_trips,
            "calls": self.calls,
            "read_units": self.read_units,
            "write_units": self.write_units,
            "index_write_units": self.index_write_units,
            "total_write_units": self.write_units + self.index_write_units,
            "condition_check_units": self.condition_check_units,
            "items_written": sum(1 for w in self.written if w.action != "ConditionCheck"),
            "written": [
                {
                    "kind": w.kind,
                    "action": w.action,
                    "new": w.size_before == 0,
                    "bytes": max(w.size_before, w.size_after),
                    "units": w.units,
                    "index_units": w.index_units,
                    "indexes": w.indexes,
                }
                for w in self.written
            ],
        }


Images = Mapping[tuple[str, str], Item | None]  # (pk, sk) -> the item at that key, or None


@dataclass
class Call:
    """One DynamoDB request as sent, its parsed answer, and the items it wrote as they were before and after."""

    operation: str
    params: Mapping[str, Any]
    response: Mapping[str, Any]
    before: Images = field(default_factory=dict)
    after: Images = field(default_factory=dict)


def key_of(key: Item) -> tuple[str, str]:
    """(pk, sk) of a key or item in the wire format (this table's key is two strings)."""
    return str(key["pk"]["S"]), str(key["sk"]["S"])


def written_keys(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(action, pk, sk) of every item a write request names."""
    if operation == "TransactWriteItems":
        out = []
        for entry in params["TransactItems"]:
            ((action, op),) = entry.items()
            out.append((action, *key_of(op["Item"] if action == "Put" else op["Key"])))
        return out
    if operation == "PutItem":
        return [("Put", *key_of(params["Item"]))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(operation.removesuffix("Item"), *key_of(params["Key"]))]
    if operation == "BatchWriteItem":
        out = []
        for requests in params["RequestItems"].values():
            for request in requests:
                if "PutRequest" in request:
                    out.append(("Put", *key_of(request["PutRequest"]["Item"])))
                else:
                    out.append(("Delete", *key_of(request["DeleteRequest"]["Key"])))
        return out
    return []


def cost(calls: Sequence[Call], indexes: Sequence[Index], table_key: Sequence[str] = ("pk", "sk")) -> Cost:
    """The round trips and units of ``calls``, each sized from what it sent, what came back and the item images."""
    total = Cost()
    for call in calls:
        total.calls.append(call.operation)
        total.read_units += _read_units(call)
        transactional = call.operation == "TransactWriteItems"
        for action, pk, sk in written_keys(call.operation, call.params):
            old, new = call.before.get((pk, sk)), call.after.get((pk, sk))
            size_before, size_after = item_size(old), item_size(new)
            units = write_units(max(size_before, size_after), transactional)
            index_units, copies = 0, 0
            if action == "ConditionCheck":
                total.condition_check_units += units
            else:
                index_units = sum(index_write_units(old, new, i, table_key) for i in indexes)
                copies = sum(1 for i in indexes if projected(new, i, table_key) is not None)
            total.write_units += units
            total.index_write_units += index_units
            total.written.append(Written(pk, sk, action, size_before, size_after, units, index_units, copies))
    total.read_units = round(total.read_units, 2)
    return total


def _read_units(call: Call) -> float:
    op, params, response = call.operation, call.params, call.response
    if op == "GetItem":
        return read_units(item_size(response.get("Item")), bool(params.get("ConsistentRead")))
    if op == "BatchGetItem":
        units = 0.0
        for table, request in params["RequestItems"].items():
            found = {key_of(i): i for i in response.get("Responses", {}).get(table, [])}
            for key in request["Keys"]:
                units += read_units(item_size(found.get(key_of(key))), bool(request.get("ConsistentRead")))
        return units
    if op in ("Query", "Scan"):
        size = sum(item_size(i) for i in response.get("Items", []))
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        return read_units(size, consistent)
    if op == "TransactGetItems":
        return sum(read_units(item_size(r.get("Item")), transactional=True) for r in response.get("Responses", []))
    return 0.0
