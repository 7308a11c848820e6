"""Shared fixtures. moto is activated before any pynamodb connection exists; the clock is a ManualClock."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

from moto import mock_aws

from chalicelib import db, runtime
from chalicelib.clock import ManualClock
from chalicelib.config import Settings
from chalicelib.services import auth

# The local Bitrix24 portal and amoCRM account (their fixtures), registered here so pytest rewrites their asserts.
pytest_plugins = ("tests.crm_standins",)

OPERATOR_KEY = "test-operator-key"
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
# The per-key request rate (20 at once, 10/s) would stop any test that sends more than 20 requests with one key on
# its frozen clock: off here, on in tests/test_limits.py. Every other limit keeps its default.
TEST_LIMITS = '{"api_key": null}'


def make_settings(table: str = "loyalty-test", endpoint: str | None = None, limits: str = TEST_LIMITS) -> Settings:
    return Settings(
        table_name=table,
        region="eu-central-1",
        dynamodb_endpoint=endpoint,
        key_pepper="test-pepper",
        portal_secret="test-portal-secret",
        max_body_bytes=65536,
        public_base_url=None,
        limits=limits,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def inbox(purpose: str | None = None, to: str | None = None) -> list[Any]:
    """Messages the system sent (no channel is configured in tests: they land in the development inbox), newest
    first, optionally only those for ``purpose`` (sign_in, spend_code, bind_code, portal_link) or to ``to``."""
    from chalicelib.notify.inbox import INBOX

    return [m for m in INBOX.entries() if purpose in (None, m.purpose) and to in (None, m.to)]


def last_code(purpose: str, to: str | None = None) -> str:
    """The code of the newest message for ``purpose``: what the customer reads on their phone."""
    found = inbox(purpose, to)
    assert found, f"no {purpose} message was sent"
    assert found[0].code is not None
    return str(found[0].code)


def last_link(to: str | None = None) -> str:
    """The newest link to a balance page, as the customer receives it."""
    import re

    found = inbox("portal_link", to)
    assert found, "no portal link was sent"
    match = re.search(r"https?://\S+", found[0].text)
    assert match is not None
    return match.group()


@pytest.fixture(autouse=True)
def _empty_inbox() -> Iterator[None]:
    from chalicelib.notify.inbox import INBOX

    INBOX.clear()
    yield


@pytest.fixture
def dynamo(clock: ManualClock) -> Iterator[None]:
    with mock_aws():
        runtime.configure(make_settings(), clock)
        db.create_table()
        auth.ensure_operator_key(OPERATOR_KEY, "test-pepper", clock.now().isoformat())
        yield


@dataclass
class Api:
    """A thin JSON client over Chalice's in-process test client."""

    http: Any
    key: str = OPERATOR_KEY
    headers: dict[str, str] = field(default_factory=dict)

    def as_key(self, key: str) -> Api:
        return Api(self.http, key)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Any:
        all_headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json", **(headers or {})}
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.http, method.lower())(path, headers=all_headers, body=payload)
        return Result(response.status_code, response.body, dict(response.headers))

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)


@dataclass
class Result:
    status: int
    raw: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def __getitem__(self, key: str) -> Any:
        return self.json[key]


@pytest.fixture
def api(dynamo: None) -> Iterator[Api]:
    from chalice.test import Client

    from app import app as chalice_app

    with Client(chalice_app) as client:
        yield Api(client.http)


@dataclass
class Coalition:
    operator: Api
    cafe: Api
    store: Api
    salon: Api
    ids: dict[str, str]


# By default a partner spends points only with the customer's code. Tests about the ledger's arithmetic
# run the way an operator sets up a partner it trusts (card scanners at the till): spend_confirmation "never", and
# holds without the customer's code as long as a hold may last. Tests about confirmation create partners without it
# (tests/test_customer_reach.py, tests/test_spend_policy.py).
TRUSTED = {"spend_confirmation": "never", "code_free_hold_minutes": 7 * 24 * 60}


@pytest.fixture
def coalition(api: Api) -> Coalition:
    ids: dict[str, str] = {}
    clients = {}
    for name, rate in (("cafe", 500), ("store", 300), ("salon", 1000)):
        body = {"name": name.title(), "category": name, "earn_rate_bps": rate, **TRUSTED}
        r = api.post("/v1/admin/partners", body)
        assert r.status == 201, r.json
        ids[name] = r["partner_id"]
        clients[name] = api.as_key(r["api_key"])
    return Coalition(api, clients["cafe"], clients["store"], clients["salon"], ids)


@dataclass
class Live:
    """The API on a real HTTP port in front of a single-threaded moto DynamoDB server."""

    url: str
    dynamodb_url: str
    operator_key: str = OPERATOR_KEY

    def request(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        import requests

        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return requests.request(method, self.url + path, data=data, headers=all_headers, timeout=60)


@pytest.fixture(scope="session")
def live_servers() -> Iterator[tuple[str, str]]:
    from local import servers

    dynamo = servers.start_dynamodb()
    api_server = servers.start_api(quiet=True)
    yield api_server.url, dynamo.url
    api_server.stop()
    dynamo.stop()


_live_table_counter = iter(range(1_000_000))


@pytest.fixture
def live(live_servers: tuple[str, str], clock: ManualClock) -> Live:
    """A fresh table per test on the shared servers, with the test's clock injected."""
    api_url, dynamo_url = live_servers
    runtime.configure(make_settings(f"loyalty-live-{next(_live_table_counter)}", dynamo_url), clock)
    db.create_table()
    auth.ensure_operator_key(OPERATOR_KEY, "test-pepper", clock.now().isoformat())
    return Live(api_url, dynamo_url)


def table_snapshot() -> list[dict[str, Any]]:
    """Every raw item of the bound table, sorted: for 'nothing was written' assertions. Rate-limit buckets
    (``RATE#...``) are left out: they count requests, whatever their answer, like an access log (docs/security.md)."""
    from chalicelib.db.models import _Item

    client = db.connection().client
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": _Item.Meta.table_name}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items = [i for i in items if not i["pk"]["S"].startswith("RATE#")]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
