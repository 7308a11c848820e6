"""A load test over HTTP against ``make run``'s server: ``python -m local.run`` in a subprocess on a free loopback
port with a fresh data directory (the embedded DynamoDB included), driven by client threads, each a till of one of
four partners serving its own customer. Per operation (balance, accrual, redemption) and client count (1, 8, 32):
requests per second and latency percentiles, for a bounded time each.

The per-key rate limit is lifted for the run (``LOYALTY_LIMITS``): a till sending back to back would otherwise be
held at 10 requests a second, which measures the limit, not the server. Everything else is as ``make run`` serves.

    python -m bench.load [--seconds 4]     # prints JSON
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.handler_cpu import NO_REFUSAL_LIMITS
from bench.world import TRUSTED, progress, run_main

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = (1, 8, 32)
OPERATIONS = ("balance", "accrual", "redemption")
OPERATOR = "op-load"
PARTNERS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``samples``."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


class Server:
    """``python -m local.run`` on a free port, with its own data directory; stopped with SIGTERM."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL_DYNAMODB" and not k.startswith("LOYALTY_")}
        env |= {
            "PORT": str(self.port),
            "LOYALTY_DATA_DIR": str(work / "data"),
            "FRESH": "1",
            "LOYALTY_DEMO": "0",
            "LOYALTY_OPERATOR_KEY": OPERATOR,
            "LOYALTY_LIMITS": NO_REFUSAL_LIMITS,
            "PYTHONUNBUFFERED": "1",
        }
        self.log = (work / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.run"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 90.0) -> float:
        import requests

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"make run's server exited ({self.process.returncode}); see its log")
            try:
                if requests.get(f"{self.url}/openapi.json", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("make run's server did not answer in time")

    def stop(self) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return time.monotonic() - started


def seed(url: str, clients: int) -> list[tuple[str, str]]:
    """(partner key, customer id) per client: four partners, a funded customer each."""
    import requests

    session = requests.Session()

    def post(path: str, key: str, body: dict[str, Any]) -> Any:
        answer = session.post(f"{url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        if answer.status_code >= 300:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text}")
        return answer.json()

    keys = [post("/v1/admin/partners", OPERATOR, {"name": f"Load {n}", **TRUSTED})["api_key"] for n in range(PARTNERS)]
    out = []
    for n in range(clients):
        key = keys[n % PARTNERS]
        customer = post("/v1/customers", key, {"phone": f"+7916{n:07d}"})["customer_id"]
        post("/v1/accruals", key, {"customer_id": customer, "order_id": f"FUND-{n}", "amount_minor": 100_000_000})
        out.append((key, customer))
    return out


def drive(url: str, tills: list[tuple[str, str]], operation: str, seconds: float) -> dict[str, Any]:
    """``len(tills)`` threads sending ``operation`` back to back for ``seconds``."""
    import requests

    latencies: list[list[float]] = [[] for _ in tills]
    failures = [0] * len(tills)
    start_gate = threading.Barrier(len(tills) + 1)
    deadline: list[float] = []

    def worker(i: int) -> None:
        key, customer = tills[i]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        serial = 0

        def send() -> Any:
            nonlocal serial
            serial += 1
            order = f"{operation[:3].upper()}-{i}-{serial}"
            if operation == "balance":
                return session.get(f"{url}/v1/customers/{customer}/balance", timeout=60)
            if operation == "accrual":
                body: dict[str, Any] = {"customer_id": customer, "order_id": order, "amount_minor": 10_000}
                return session.post(f"{url}/v1/accruals", json=body, timeout=60)
            body = {"customer_id": customer, "order_id": order, "order_amount_minor": 10_000, "points": 1}
            return session.post(f"{url}/v1/redemptions", json=body, timeout=60)

        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            answer = send()
            latencies[i].append(time.perf_counter() - began)
            if answer.status_code >= 300:
                failures[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(tills))]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline.append(began + seconds)
    start_gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    samples = [s for per_client in latencies for s in per_client]
    ms: Callable[[float], float] = lambda v: round(v * 1000, 1)  # noqa: E731
    return {
        "clients": len(tills),
        "requests": len(samples),
        "errors": sum(failures),
        "per_second": round((len(samples) - sum(failures)) / elapsed, 1),
        "p50_ms": ms(statistics.median(samples)),
        "p95_ms": ms(percentile(samples, 0.95)),
        "p99_ms": ms(percentile(samples, 0.99)),
        "max_ms": ms(max(samples)),
    }


def measure_all(seconds: float = 4.0) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds_each": seconds}
    with tempfile.TemporaryDirectory() as work:
        server = Server(Path(work))
        try:
            out["ready_s"] = round(server.wait_ready(), 1)
            progress(f"load: make run's server answers at {server.url} after {out['ready_s']} s")
            tills = seed(server.url, max(CLIENTS))
            for operation in OPERATIONS:
                out[operation] = {}
                for clients in CLIENTS:
                    result = drive(server.url, tills[:clients], operation, seconds)
                    out[operation][str(clients)] = result
                    progress(f"load: {operation} x{clients}: {result}")
        finally:
            out["sigterm_to_exit_s"] = round(server.stop(), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    run_main(lambda: measure_all(args.seconds))


if __name__ == "__main__":
    main()
