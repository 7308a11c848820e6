"""Round trips and request units per operation, from the requests actually sent (bench/capture.py) sized by
DynamoDB's rules (bench/sizing.py): cold (a fresh runtime, caches empty) and warm (the same operation just served),
without and with an Idempotency-Key.

    python -m bench.round_trips      # prints JSON
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import capture
from bench.world import Client, World, progress, run_main, world

# The service's goal per operation (docs/BENCHMARKS.md); None: reported, no target.
TARGETS: dict[str, int | None] = {
    "accrual": 2,
    "redemption": 2,
    "hold": 2,
    "capture": 2,
    "balance": 1,
    "refund": None,
}

Operation = Callable[[str | None], Any]  # sends the request, with this Idempotency-Key or none


Steps = tuple[Callable[[], Any], Operation, Callable[[Any], Any]]


def operations(w: World, till: Client, customer: str) -> dict[str, Steps]:
    """Per operation: what must exist first, the request measured, and what to undo after it (not measured)."""
    state: dict[str, str] = {}

    def nothing(*_: Any) -> None:
        return None

    def void(answer: Any) -> None:  # a partner may keep only a few holds open per customer
        till.ok("POST", f"/v1/redemptions/{answer['redemption_id']}/void", {})

    def accrual(key: str | None) -> Any:
        body = {"customer_id": customer, "order_id": w.next_id("A"), "amount_minor": 100_000}
        return till.ok("POST", "/v1/accruals", body, key)

    def redemption(key: str | None) -> Any:
        body = {"customer_id": customer, "order_id": w.next_id("R"), "order_amount_minor": 100_000, "points": 5}
        return till.ok("POST", "/v1/redemptions", body, key)

    def make_hold() -> None:
        body = {
            "customer_id": customer,
            "order_id": w.next_id("H"),
            "order_amount_minor": 100_000,
            "points": 5,
            "capture": False,
        }
        state["hold"] = till.ok("POST", "/v1/redemptions", body)["redemption_id"]

    def hold(key: str | None) -> Any:
        body = {
            "customer_id": customer,
            "order_id": w.next_id("H"),
            "order_amount_minor": 100_000,
            "points": 5,
            "capture": False,
        }
        return till.ok("POST", "/v1/redemptions", body, key)

    def capture_hold(key: str | None) -> Any:
        return till.ok("POST", f"/v1/redemptions/{state['hold']}/capture", {}, key)

    def make_order() -> None:
        state["order"] = w.next_id("F")
        till.ok("POST", "/v1/accruals", {"customer_id": customer, "order_id": state["order"], "amount_minor": 100_000})

    def refund(key: str | None) -> Any:
        body = {"order_id": state["order"], "refund_id": w.next_id("RF"), "amount_minor": 50_000}
        return till.ok("POST", "/v1/refunds", body, key)

    def balance(key: str | None) -> Any:
        return till.ok("GET", f"/v1/customers/{customer}/balance")

    return {
        "accrual": (nothing, accrual, nothing),
        "redemption": (nothing, redemption, nothing),
        "hold": (nothing, hold, void),
        "capture": (make_hold, capture_hold, nothing),
        "balance": (nothing, balance, nothing),
        "refund": (make_order, refund, nothing),
    }


def measure_all() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with world("loyalty-rt") as w:
        till = w.partner("Стиль")
        customer = w.customer(till, funded_minor=100_000_000)
        ops = operations(w, till, customer)
        for name, (prepare, send, undo) in ops.items():
            out[name] = {"target_round_trips": TARGETS[name]}
            for keyed in (False, True):
                for state in ("cold", "warm"):
                    prepare()
                    if state == "cold":
                        w.fresh_instance()
                    else:
                        undo(send(w.next_id("K") if keyed else None))  # the same operation just served
                        prepare()
                    key = w.next_id("idem") if keyed else None
                    answers: list[Any] = []
                    cost = capture.measure(lambda s=send, k=key, a=answers: a.append(s(k)))  # type: ignore[misc]
                    undo(answers[0])
                    label = f"{state}{' with Idempotency-Key' if keyed else ''}"
                    out[name][label] = cost.as_dict()
                    progress(f"round trips: {name}, {label}: {cost.round_trips} {cost.calls}")
    return out


def main() -> None:
    run_main(measure_all)


if __name__ == "__main__":
    main()
