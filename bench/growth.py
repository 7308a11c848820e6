"""Growth: what an accrual costs as the table grows (1k -> 10k -> 100k items, time on the embedded DynamoDB of
``make run``), and what a customer's requests cost as their history grows (10 -> 10k entries: history page, balance
and accrual round trips, units and time).

Filler items are copies of items the service wrote (an entry, with new keys), put straight into moto's table: 100k
puts through the API would take many minutes, and what is measured is the requests made afterwards.

    python -m bench.growth [--repeat 30]     # prints JSON
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import capture
from bench.world import Client, World, progress, run_main, world

TABLE = "loyalty-growth"
TABLE_SIZES = (1_000, 10_000, 100_000)
HISTORY_SIZES = (10, 1_000, 10_000)  # a history page is bounded by its limit: compared from 1k (a full page) on


def _table(w: World) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][w.settings.region].get_table(w.settings.table_name)


def item_count(table: Any) -> int:
    return sum(len(by_range) for by_range in table.items.values())


def raw_entries(table: Any, customer_id: str) -> list[dict[str, Any]]:
    """The customer's ledger entries as stored (DynamoDB JSON)."""
    from chalicelib.db import keys

    pk, _ = keys.customer(customer_id)
    return [
        item.to_json()["Attributes"]
        for sk, item in table.items[_hash(table, pk)].items()
        if str(item.attrs["sk"].value).startswith("ENTRY#") or "entry_id" in item.attrs
    ]


def _hash(table: Any, pk: str) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType({"S": pk})


def put_copies(table: Any, model: dict[str, Any], count: int, owner: Callable[[int], tuple[str, str]]) -> None:
    """``count`` copies of the entry ``model``; ``owner(n)`` gives copy n's customer id and entry id."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from chalicelib.db import keys

    partner_id, period = str(model["partner_id"]["S"]), str(model["period"]["S"])
    template = Item(DynamoType(model["pk"]), DynamoType(model["sk"]), model)
    for n in range(count):
        customer_id, entry_id = owner(n)
        pk, sk = keys.entry(customer_id, entry_id)
        changed = {
            "pk": pk,
            "sk": sk,
            "entry_id": entry_id,
            "customer_id": customer_id,
            "gsi1pk": keys.customer_at_partner(partner_id, customer_id),
            "gsi2pk": keys.partner_period(partner_id, period, entry_id),
            "gsi1sk": sk,
            "gsi2sk": sk,
        }
        # Straight into the table, sharing the unchanged attribute values (moto's put_item validates, checks
        # conditions and converts every nested value again: minutes for 100k items)
        item = copy.copy(template)
        item.attrs = dict(template.attrs)  # type: ignore[assignment]  # a plain dict: moto's LimitedSizeDict sizes the whole item on every set
        for name, value in changed.items():
            item.attrs[name] = DynamoType({"S": value})
        item.hash_key, item.range_key = item.attrs["pk"], item.attrs["sk"]
        table.items[item.hash_key][item.range_key] = item


def timed(action: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 2)


def table_growth(w: World, till: Client, repeat: int) -> dict[str, Any]:
    table = _table(w)
    customers = [w.customer(till, funded_minor=1_000_000) for _ in range(10)]
    model = raw_entries(table, customers[0])[0]
    turn = iter(range(10**9))

    def accrual() -> None:
        customer = customers[next(turn) % len(customers)]
        till.ok("POST", "/v1/accruals", {"customer_id": customer, "order_id": w.next_id("G"), "amount_minor": 10_000})

    out: dict[str, Any] = {}
    for size in TABLE_SIZES:
        missing = size - item_count(table)
        if missing > 0:
            progress(f"growth: filling the table to {size:,} items")
            base = item_count(table)

            def filler(n: int, b: int = base) -> tuple[str, str]:
                return f"cus_filler{(b + n) // 10:08d}", f"ent_f{b + n:012d}"

            put_copies(table, model, missing, filler)
        accrual()
        cost = capture.measure(accrual)
        history = timed(lambda: till.ok("GET", f"/v1/customers/{customers[0]}/transactions"), max(3, repeat // 6))
        out[f"{size}"] = {
            "items": item_count(table),
            "accrual_ms": timed(accrual, repeat),
            "history_page_ms": history,
            **_brief(cost),
        }
        progress(f"growth: accrual at {size:,} items: {out[str(size)]['accrual_ms']} ms")
    first, last = out[str(TABLE_SIZES[0])], out[str(TABLE_SIZES[-1])]
    out["ratio_100k_to_1k"] = round(last["accrual_ms"] / first["accrual_ms"], 2)
    out["target_ratio"] = 1.5
    return out


def history_growth(w: World, till: Client, repeat: int) -> dict[str, Any]:
    table = _table(w)
    out: dict[str, Any] = {}
    for size in HISTORY_SIZES:
        customer = w.customer(till)
        for _ in range(min(size, 10)):
            till.ok(
                "POST", "/v1/accruals", {"customer_id": customer, "order_id": w.next_id("E"), "amount_minor": 10_000}
            )
        if size > 10:
            model = raw_entries(table, customer)[0]
            put_copies(table, model, size - 10, lambda n: (customer, f"ent_h{n:012d}"))  # noqa: B023 - used at once
        requests: dict[str, Callable[[], Any]] = {
            "history page": partial(till.ok, "GET", f"/v1/customers/{customer}/transactions"),
            "balance": partial(till.ok, "GET", f"/v1/customers/{customer}/balance"),
            "accrual": partial(accrual, till, w, customer),
        }
        for name, send in requests.items():
            send()
            cost = capture.measure(send)
            out.setdefault(name, {})[str(size)] = {"ms": timed(send, repeat), **_brief(cost)}
        progress(f"growth: {size:,} entries: {[(n, out[n][str(size)]) for n in requests]}")
    for name in list(out):
        a, b = out[name][str(HISTORY_SIZES[1])], out[name][str(HISTORY_SIZES[-1])]
        out[name]["unchanged"] = all(a[k] == b[k] for k in ("round_trips", "read_units", "total_write_units"))
        out[name]["ratio_time"] = round(b["ms"] / a["ms"], 2)
    return out


def accrual(till: Client, w: World, customer: str) -> Any:
    return till.ok(
        "POST", "/v1/accruals", {"customer_id": customer, "order_id": w.next_id("E"), "amount_minor": 10_000}
    )


def _brief(cost: Any) -> dict[str, Any]:
    d = cost.as_dict()
    return {k: d[k] for k in ("round_trips", "calls", "read_units", "total_write_units")}


def measure_all(repeat: int = 30) -> dict[str, Any]:
    # Two tables: the history's entries must not count towards the table's 1k, and moto answers some queries by
    # reading the whole table (see "table"), which must not count towards the history's growth.
    with world(f"{TABLE}-history") as w:
        history = history_growth(w, w.partner("История"), max(5, repeat // 2))
    with world(TABLE) as w:
        table = table_growth(w, w.partner("Рост"), repeat)
    return {"history": history, "table": table}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    run_main(lambda: measure_all(args.repeat))


if __name__ == "__main__":
    main()
