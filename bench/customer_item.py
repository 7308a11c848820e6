"""The customer item's size over three simulated years: one customer who buys every month at four partners (one
with a return window), spends, holds (captured, voided, left to expire), gets bonuses, has purchases refunded, lets
points expire and moves between tiers, all on an injected clock.

Sizes follow DynamoDB's own rules (attribute names plus values; numbers one byte per two significant digits plus
one; maps and lists 3 bytes plus 1 per element), and a write of the item costs ``ceil(size / 1 KB)`` write units,
twice that inside a transaction (every wallet write is one). ``python -m bench.customer_item`` prints the table;
``tests/test_customer_item_size.py`` asserts it stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from bench import sizing
from chalicelib.clock import ManualClock

MONTHS = 36
TRUSTED = {"spend_confirmation": "never", "code_free_hold_minutes": 7 * 24 * 60, "max_redeem_share_bps": 10_000}
# Year one she buys enough for silver, year two for gold, year three little (back to bronze).
MONTHLY_AMOUNT = (250_000, 900_000, 60_000)


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size as DynamoDB counts it: every attribute's name plus its value (``bench.sizing``)."""
    return sizing.item_size(item)


def write_units(size: int, transactional: bool = True) -> int:
    """Every wallet write is one transaction: twice the item's write units."""
    return sizing.write_units(size, transactional=transactional)


class Client(Protocol):
    def post(self, path: str, body: Any = None) -> Any: ...

    def get(self, path: str) -> Any: ...

    def call(self, method: str, path: str, body: Any = None) -> Any: ...

    def as_key(self, key: str) -> Any: ...


@dataclass(frozen=True)
class Sample:
    month: int  # 1-based: the size at the end of that month's activity
    bytes: int
    write_units: int  # of one transactional write of the item at this size
    lots: int
    spend_months: int
    bonus_days: int
    holds: int


def _ok(result: Any, *statuses: int) -> Any:
    if result.status not in statuses:
        raise AssertionError(f"{result.status}: {result.json}")
    return result


def three_years(
    operator: Client,
    clock: ManualClock,
    raw_item: Callable[[str], Mapping[str, Mapping[str, Any]]],
    expire_job: Callable[[datetime], object],
    months: int = MONTHS,
) -> tuple[str, list[Sample]]:
    """Drive one customer through ``months`` months and sample her item at the end of each; returns her id and
    the samples."""
    _ok(operator.call("PUT", "/v1/admin/program", {"expiry_months": 1}), 200)
    tills: dict[str, Any] = {}
    for name, extra in (
        ("cafe", {"earn_rate_bps": 500}),
        ("store", {"earn_rate_bps": 300}),
        ("salon", {"earn_rate_bps": 1000}),
        ("market", {"earn_rate_bps": 400, "pending_days": 14}),
    ):
        made = _ok(operator.post("/v1/admin/partners", {"name": name.title(), **TRUSTED, **extra}), 201)
        tills[name] = operator.as_key(made["api_key"])
    cafe, store, salon, market = tills["cafe"], tills["store"], tills["salon"], tills["market"]
    cid = _ok(cafe.post("/v1/customers", {"phone": "+79161230000", "name": "Анна"}), 201)["customer_id"]
    start = clock.now()
    samples: list[Sample] = []
    for m in range(months):
        year, month = divmod(start.month - 1 + m, 12)

        def at(day: int, hour: int = 9, _y: int = start.year + year, _m: int = month + 1) -> None:
            clock.set(datetime(_y, _m, day, hour, tzinfo=UTC))

        amount = MONTHLY_AMOUNT[min(m // 12, 2)]
        at(1, 22)
        expire_job(clock.now())  # the nightly job, on the 2nd in Moscow
        at(3)
        for name, till in tills.items():
            _ok(till.post("/v1/accruals", {"customer_id": cid, "order_id": f"{name}-{m}", "amount_minor": amount}), 201)
        at(5)
        for reason in ("review", "social_share") if m % 2 else ("survey",):
            bonus = {"customer_id": cid, "bonus_id": f"{reason}-{m}", "reason": reason, "points": 20}
            _ok(cafe.post("/v1/bonuses", bonus), 201)
        at(8)
        holds = {}
        for name, minutes in (("store", 60), ("salon", 60), ("cafe", 30)):
            body = {
                "customer_id": cid,
                "order_id": f"h-{name}-{m}",
                "order_amount_minor": 100_000,
                "points": 10,
                "capture": False,
                "hold_minutes": minutes,
            }
            holds[name] = _ok(tills[name].post("/v1/redemptions", body), 201)["redemption_id"]
        _ok(store.post(f"/v1/redemptions/{holds['store']}/capture", {"points": 6}), 200)
        _ok(salon.post(f"/v1/redemptions/{holds['salon']}/void"), 200)
        # the café's hold is left to expire; the next write releases it
        at(12)
        if m % 4 == 1:
            refund = {"order_id": f"store-{m}", "refund_id": f"r-{m}", "amount_minor": amount // 2}
            _ok(store.post("/v1/refunds", refund), 201)
        at(20)
        # Every third month she spends almost everything; points earned in the month between expire unspent (they
        # last one month after the month they were earned in). Months 3, 12 and 36 are the same point of the cycle.
        if m % 3 == 0:
            available = _ok(store.get(f"/v1/customers/{cid}/balance"), 200)["available"]
            spend = {"customer_id": cid, "order_id": f"s-{m}", "order_amount_minor": 10**9, "points": available - 3}
            if available > 3:
                _ok(store.post("/v1/redemptions", spend), 201)
        at(26)
        _ok(market.post("/v1/accruals", {"customer_id": cid, "order_id": f"late-{m}", "amount_minor": 10_000}), 201)
        samples.append(_sample(m + 1, raw_item(cid)))
    return cid, samples


def _sample(month: int, item: Mapping[str, Mapping[str, Any]]) -> Sample:
    size = item_bytes(item)

    def count(name: str) -> int:
        return len(item.get(name, {}).get("M", {}))

    return Sample(month, size, write_units(size), count("lots"), count("spend"), count("bonus_days"), count("holds"))


def report(samples: list[Sample]) -> dict[str, Any]:
    """Month 3, year 1 and year 3 side by side, and the largest item seen in year 3."""
    picked = {"month 3": samples[2], "year 1": samples[11], "year 3": samples[-1]}
    out: dict[str, Any] = {k: s.__dict__ for k, s in picked.items()}
    out["max bytes"] = max(s.bytes for s in samples)
    return out


def measure() -> dict[str, Any]:
    """Run the three years on a fresh table of the embedded DynamoDB (its writes cost the same at any table size)
    in a mocked AWS of its own (call it outside any other ``mock_aws``) and report the sizes."""
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    from chalice.test import Client as ChaliceClient
    from moto import mock_aws

    from chalicelib import db, runtime
    from chalicelib.services import auth, jobs
    from local import embedded_dynamodb
    from tests.conftest import Api, make_settings

    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    with embedded_dynamodb.installed(), mock_aws():
        from app import app

        runtime.configure(make_settings("loyalty-item-size"), clock)
        db.create_table()
        auth.ensure_operator_key("op", "test-pepper", clock.now().isoformat())
        with ChaliceClient(app) as client:
            _, samples = three_years(Api(client.http, "op"), clock, raw_customer_item, jobs.expire_points)
    return report(samples)


def main() -> None:
    import json

    print(json.dumps(measure(), indent=2, default=lambda d: int(d) if isinstance(d, Decimal) else str(d)))


def raw_customer_item(customer_id: str) -> Mapping[str, Mapping[str, Any]]:
    """The stored customer item in DynamoDB's low-level form (a strongly consistent GetItem)."""
    from chalicelib import db
    from chalicelib.db import keys
    from chalicelib.db.models import CustomerItem

    pk, sk = keys.customer(customer_id)
    got = db.connection().client.get_item(
        TableName=CustomerItem.Meta.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    item: Mapping[str, Mapping[str, Any]] = got["Item"]
    return item


if __name__ == "__main__":
    main()
