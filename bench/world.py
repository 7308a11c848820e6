"""The in-process world the measurements of DynamoDB's usage share: the app behind Chalice's test client, moto's
DynamoDB in this process with make run's transactions (local/embedded_dynamodb.py), an injected clock, and a
coalition seeded over the API. Production's rate limits stay on (the default settings): every number includes
whatever the limiter costs; the clock moves a few seconds before each request so no bucket runs dry (no sleeping).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

from chalicelib.clock import ManualClock
from chalicelib.config import Settings

OPERATOR = "op-bench"
PEPPER = "bench-pepper"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# Trusted tills (no customer code): the benchmarks measure the ledger; the code's own cost is a separate route.
TRUSTED = {"spend_confirmation": "never", "code_free_hold_minutes": 7 * 24 * 60, "max_redeem_share_bps": 10_000}
STEP = timedelta(seconds=5)  # between requests: every bucket of the default limits has refilled


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_main(measure: Callable[[], Any]) -> None:
    """A module's entry point: measure with the development inbox's lines (messages to customers) kept off stdout,
    then print the result as JSON, the only thing on stdout (the driver reads it)."""
    with contextlib.redirect_stdout(io.StringIO()):
        result = measure()
    print(json.dumps(result, indent=2, ensure_ascii=False), flush=True)


def settings(table: str = "loyalty-bench", limits: str = "", endpoint: str | None = None) -> Settings:
    """The runtime settings of a measurement: its own table, the bench pepper, ``endpoint`` a DynamoDB server (None:
    the in-process moto)."""
    return Settings(table, "eu-central-1", endpoint, PEPPER, "bench-portal", 65536, None, limits)


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Client:
    """One API key's JSON client; every request moves the clock on by STEP first."""

    http: Any
    clock: ManualClock
    key: str

    def call(self, method: str, path: str, body: Any = None, idempotency_key: str | None = None) -> Reply:
        self.clock.advance(STEP)
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        payload = json.dumps(body) if body is not None else None
        response = getattr(self.http, method.lower())(path, headers=headers, body=payload)
        parsed = json.loads(response.body) if response.body else None
        return Reply(response.status_code, parsed)

    def ok(self, method: str, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
        reply = self.call(method, path, body, idempotency_key)
        if reply.status >= 300:
            raise RuntimeError(f"{method} {path}: {reply.status} {reply.body}")
        return reply.body


@dataclass
class World:
    operator: Client
    clock: ManualClock
    settings: Settings
    partners: dict[str, Client] = field(default_factory=dict)
    partner_ids: dict[str, str] = field(default_factory=dict)
    serial: int = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def partner(self, name: str, **extra: Any) -> Client:
        body = {"name": name, **TRUSTED, **extra}
        created = self.operator.ok("POST", "/v1/admin/partners", body)
        client = Client(self.operator.http, self.clock, created["api_key"])
        self.partners[name] = client
        self.partner_ids[name] = created["partner_id"]
        return client

    def customer(self, till: Client, funded_minor: int = 0) -> str:
        self.serial += 1
        customer_id: str = till.ok("POST", "/v1/customers", {"phone": f"+7916{self.serial:07d}"})["customer_id"]
        if funded_minor:
            body = {"customer_id": customer_id, "order_id": self.next_id("FUND"), "amount_minor": funded_minor}
            till.ok("POST", "/v1/accruals", body)
        return customer_id

    def fresh_instance(self) -> None:
        """A cold Lambda instance: a new runtime (new connection and client), every cache empty."""
        from chalicelib import runtime

        runtime.configure(self.settings, self.clock)


@contextmanager
def world(table: str = "loyalty-bench", start: datetime = START, limits: str = "") -> Iterator[World]:
    """moto in this process, with make run's transactions; the app configured on a ManualClock."""
    from chalice.test import Client as ChaliceClient
    from moto import mock_aws

    from bench import capture
    from local import embedded_dynamodb

    capture.install()
    with embedded_dynamodb.installed(on=True), mock_aws():
        from app import app
        from chalicelib import db, runtime
        from chalicelib.services import auth

        clock = ManualClock(start)
        chosen = settings(table, limits)
        runtime.configure(chosen, clock)
        db.create_table()
        auth.ensure_operator_key(OPERATOR, PEPPER, clock.now().isoformat())
        capture.reset_peek_client()
        with ChaliceClient(app) as client:
            yield World(Client(client.http, clock, OPERATOR), clock, chosen)
