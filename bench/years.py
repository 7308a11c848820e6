"""One customer through three simulated years on the injected clock: every month purchases at three partners, a
redemption, a hold captured, a hold voided, a partial refund; the daily expiry job every day. Reported: the customer
item's size and what writing it costs (a transactional write: 2 units per started KB) at month 3, year 1 and year
3, and what a whole accrual costs then; ``flat``: the same write units at all three, ``under_1_kb``: all three
under 1 KB (two units in a transaction).

    python -m bench.years     # prints JSON
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bench import capture, sizing
from bench.world import Client, World, progress, run_main, world

MONTHS = 36
CHECKPOINTS = {3: "month 3", 12: "year 1", 36: "year 3"}
START = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)


def customer_item(customer_id: str) -> dict[str, Any]:
    from chalicelib.db import keys

    pk, sk = keys.customer(customer_id)
    images = capture._peek([(pk, sk)])
    item = images[(pk, sk)]
    assert item is not None
    return dict(item)


def month_of_activity(w: World, tills: list[Client], customer: str, month: int) -> None:
    """A month in the life of a regular customer; the expiry job runs every day."""
    from chalicelib.services import jobs

    cafe, store, salon = tills

    def order(prefix: str) -> str:
        return w.next_id(f"{prefix}{month}")

    def redeem(till: Client, points: int, capture_it: bool = True) -> Any:
        body = {
            "customer_id": customer,
            "order_id": order("R"),
            "order_amount_minor": 200_000,
            "points": points,
            "capture": capture_it,
        }
        return till.ok("POST", "/v1/redemptions", body)

    plan: dict[int, Any] = {
        1: lambda: cafe.ok(
            "POST", "/v1/accruals", {"customer_id": customer, "order_id": order("A"), "amount_minor": 150_000}
        ),
        5: lambda: store.ok(
            "POST", "/v1/accruals", {"customer_id": customer, "order_id": order("B"), "amount_minor": 400_000}
        ),
        9: lambda: salon.ok(
            "POST", "/v1/accruals", {"customer_id": customer, "order_id": order("C"), "amount_minor": 250_000}
        ),
        13: lambda: redeem(store, 20),
        17: lambda: cafe.ok("POST", f"/v1/redemptions/{redeem(cafe, 10, False)['redemption_id']}/capture", {}),
        21: lambda: salon.ok("POST", f"/v1/redemptions/{redeem(salon, 10, False)['redemption_id']}/void", {}),
        25: lambda: _refunded_purchase(store, customer, order("F"), order("RF")),
    }
    for day in range(1, 29):
        w.clock.advance(timedelta(days=1))
        jobs.expire_points(w.clock.now())
        action = plan.get(day)
        if action is not None:
            balance = store.ok("GET", f"/v1/customers/{customer}/balance")
            if day in (13, 17, 21) and balance["available"] < 30:
                continue  # nothing to spend yet (the first weeks, or pending points)
            action()
    # the rest of the month (29th to the month's end), so month n ends n months after the start
    while w.clock.now().month == (START.month + month - 1) % 12 + 1:
        w.clock.advance(timedelta(days=1))
        jobs.expire_points(w.clock.now())


def _refunded_purchase(till: Client, customer: str, order_id: str, refund_id: str) -> None:
    till.ok("POST", "/v1/accruals", {"customer_id": customer, "order_id": order_id, "amount_minor": 100_000})
    till.ok("POST", "/v1/refunds", {"order_id": order_id, "refund_id": refund_id, "amount_minor": 40_000})


def measure_all() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with world("loyalty-years", start=START) as w:
        tills = [w.partner(name) for name in ("Уют", "Стиль", "Сияние")]
        customer = w.customer(tills[0])
        item = customer_item(customer)
        out["start"] = _item_row(item)
        for month in range(1, MONTHS + 1):
            month_of_activity(w, tills, customer, month)
            if month in CHECKPOINTS:
                item = customer_item(customer)
                accrual = capture.measure(
                    lambda: tills[1].ok(
                        "POST",
                        "/v1/accruals",
                        {"customer_id": customer, "order_id": w.next_id("M"), "amount_minor": 10_000},
                    )
                )
                row = _item_row(item)
                row["accrual_total_write_units"] = accrual.as_dict()["total_write_units"]
                out[CHECKPOINTS[month]] = row
                progress(f"three years: {CHECKPOINTS[month]}: {row}")
    first, last = out["month 3"], out["year 3"]
    out["flat"] = len({out[name]["write_units"] for name in CHECKPOINTS.values()}) == 1
    out["under_1_kb"] = max(out[name]["bytes"] for name in CHECKPOINTS.values()) < sizing.KB
    out["ratio_year3_to_month3_bytes"] = round(last["bytes"] / first["bytes"], 2)
    return out


def _item_row(item: dict[str, Any]) -> dict[str, Any]:
    size = sizing.item_size(item)
    maps = {name: len(value["M"]) for name, value in sorted(item.items()) if "M" in value}
    maps |= {name: len(value["L"]) for name, value in sorted(item.items()) if "L" in value}  # the partners list
    return {"bytes": size, "write_units": sizing.write_units(size, transactional=True), "map_entries": maps}


def main() -> None:
    run_main(measure_all)


if __name__ == "__main__":
    main()
