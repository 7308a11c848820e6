"""``make bench``: what each request costs in DynamoDB round trips and capacity, how close the handler is to the
bare DynamoDB calls, cold start, growth with history, throughput, package size. Writes bench/results.json and
docs/BENCHMARKS.md from one run; every comparison is a ratio taken in that run (these machines are noisy)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

import botocore.client

ROOT = Path(__file__).resolve().parents[1]
RESULTS: dict[str, Any] = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds")}


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- counting DynamoDB calls at the botocore level -------------------------------------------------------------


class Calls:
    def __init__(self) -> None:
        self.log: list[tuple[str, dict[str, Any], float]] = []
        self.active = False

    def install(self) -> None:
        original = botocore.client.BaseClient._make_api_call
        calls = self

        def counted(client: Any, name: str, params: dict[str, Any]) -> Any:
            if calls.active and name in (
                "GetItem",
                "BatchGetItem",
                "Query",
                "TransactWriteItems",
                "PutItem",
                "UpdateItem",
            ):
                params = {**params, "ReturnConsumedCapacity": "TOTAL"}
            response = original(client, name, params)
            if calls.active:
                consumed = response.get("ConsumedCapacity")
                units = (
                    sum(c.get("CapacityUnits", 0) for c in consumed)
                    if isinstance(consumed, list)
                    else (consumed or {}).get("CapacityUnits", 0)
                )
                calls.log.append((name, params, float(units)))
            return response

        botocore.client.BaseClient._make_api_call = counted

    def measure(self, action: Callable[[], Any]) -> dict[str, Any]:
        self.log, self.active = [], True
        try:
            action()
        finally:
            self.active = False
        writes = [p for n, p, _ in self.log if n == "TransactWriteItems"]
        return {
            "round_trips": len(self.log),
            "calls": [n for n, _, _ in self.log],
            "read_capacity_units": round(sum(u for n, _, u in self.log if n != "TransactWriteItems"), 1),
            "items_written": sum(len(p["TransactItems"]) for p in writes),
        }


CALLS = Calls()
CALLS.install()


def median_seconds(action: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# --- the scenario ------------------------------------------------------------------------------------------------


def coalition(api: Any) -> dict[str, Any]:
    cafe = api.post("/v1/admin/partners", {"name": "Уют", "max_redeem_share_bps": 10_000}).json
    store = api.post("/v1/admin/partners", {"name": "Стиль", "max_redeem_share_bps": 10_000}).json
    c, s = api.as_key(cafe["api_key"]), api.as_key(store["api_key"])
    camp = c.post(
        "/v1/campaigns", {"name": "bench", "earn_at": [cafe["partner_id"]], "reward": {"type": "fixed", "points": 10}}
    ).json
    c.post(f"/v1/campaigns/{camp['campaign_id']}/activate", {})
    cid = c.post("/v1/customers", {"phone": "+79160000001"}).json["customer_id"]
    s.post("/v1/accruals", {"customer_id": cid, "order_id": "WARM-0", "amount_minor": 10_000_000})
    return {"cafe": c, "store": s, "cid": cid, "cafe_id": cafe["partner_id"]}


def round_trips(api: Any) -> dict[str, Any]:
    w = coalition(api)
    cafe, store, cid = w["cafe"], w["store"], w["cid"]
    seq = iter(range(1, 1_000_000))

    def accrual() -> None:
        store.post("/v1/accruals", {"customer_id": cid, "order_id": f"S-{next(seq)}", "amount_minor": 100_000})

    def accrual_campaign() -> None:
        r = cafe.post("/v1/accruals", {"customer_id": cid, "order_id": f"C-{next(seq)}", "amount_minor": 100_000})
        assert r.json["bonus_points"] == 10, r.json

    def redemption() -> None:
        store.post(
            "/v1/redemptions",
            {"customer_id": cid, "order_id": f"R-{next(seq)}", "order_amount_minor": 100_000, "points": 5},
        )

    holds: list[str] = []

    def hold() -> None:
        r = store.post(
            "/v1/redemptions",
            {
                "customer_id": cid,
                "order_id": f"H-{next(seq)}",
                "order_amount_minor": 100_000,
                "points": 5,
                "capture": False,
            },
        )
        holds.append(r.json["redemption_id"])

    def capture() -> None:
        store.post(f"/v1/redemptions/{holds[-1]}/capture", {})

    refunds: list[str] = []

    def refund() -> None:
        order_id = f"F-{next(seq)}"
        store.post("/v1/accruals", {"customer_id": cid, "order_id": order_id, "amount_minor": 100_000})
        refunds.append(order_id)

    def do_refund() -> None:
        store.post("/v1/refunds", {"order_id": refunds[-1], "refund_id": f"RF-{next(seq)}", "amount_minor": 50_000})

    link = cafe.post(f"/v1/customers/{cid}/portal-link", {}).json["token"]
    period = datetime.now(UTC).strftime("%Y-%m")
    operations: dict[str, Callable[[], Any]] = {
        "accrual": accrual,
        "accrual with a campaign": accrual_campaign,
        "redemption": redemption,
        "hold": hold,
        "capture": capture,
        "refund": do_refund,
        "balance": lambda: store.get(f"/v1/customers/{cid}/balance"),
        "history page": lambda: store.get(f"/v1/customers/{cid}/transactions"),
        "settlement report (partner)": lambda: store.get(f"/v1/settlements/{period}"),
        "portal page": lambda: api.http.get(f"/me?token={link}"),
    }
    out = {}
    for name, action in operations.items():
        if name == "capture":
            hold()
        if name == "refund":
            refund()
        action()  # warm: caches and code paths
        if name == "capture":
            hold()
        if name == "refund":
            refund()
        out[name] = CALLS.measure(action)
        progress(f"round trips: {name}: {out[name]['round_trips']} {out[name]['calls']}")
    return out


def main() -> None:
    from moto import mock_aws

    from chalicelib import auth, db, runtime
    from chalicelib.config import Settings
    from tests.conftest import Api

    settings = Settings("loyalty-bench", "eu-central-1", None, "bench-pepper", "bench-portal", 65536, None)
    with mock_aws():
        from chalice.test import Client

        from app import app

        runtime.configure(settings)
        db.create_table()
        auth.ensure_operator_key("op", "bench-pepper", datetime.now(UTC).isoformat())
        with Client(app) as client:
            api = Api(client.http, "op")
            progress("1/6 DynamoDB round trips and capacity per operation")
            RESULTS["round_trips"] = round_trips(api)
    write_report()


def write_report() -> None:
    (ROOT / "bench" / "results.json").write_text(json.dumps(RESULTS, indent=2, ensure_ascii=False) + "\n")
    progress("wrote bench/results.json")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
