"""A local Bitrix24 portal: the REST methods the connector uses, behind an inbound webhook URL, as Bitrix24 documents
them (PHP-style form fields in, ``{"result": ...}`` or ``{"error", "error_description"}`` out), with ``batch`` (up to 50
commands, ``halt=0``), its leaky bucket (2 requests a second after a burst; over it HTTP 503 ``QUERY_LIMIT_EXCEEDED``)
and a portal that stalls (a timeout)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

TOKEN = "standin0token42"
_KEY = re.compile(r"([^\[]+)((?:\[[^\]]*\])*)")


def parse_php(text: str) -> dict[str, Any]:
    """``a[b][0]=x`` -> {"a": {"b": {"0": "x"}}}, as PHP (and so Bitrix24) reads a form."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        m = _KEY.fullmatch(key)
        if m is None:
            continue
        path = [m.group(1), *re.findall(r"\[([^\]]*)\]", m.group(2))]
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _list(value: Any) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else list(value or [])


@dataclass
class Portal:
    url: str = ""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # the methods called over HTTP, batch included
    throttle_next: int = 0  # answer this many next requests with QUERY_LIMIT_EXCEEDED
    stall_next: int = 0  # leave this many next requests without an answer for ``stall_seconds``
    stall_seconds: float = 1.0
    burst: int = 50  # the leaky bucket: this many at once, then 2 a second
    lock: threading.Lock = field(default_factory=threading.Lock)
    _level: float = 0.0
    _at: float = field(default_factory=time.monotonic)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/rest/1/{TOKEN}/"

    def contact_by_phone(self, phone: str) -> dict[str, Any] | None:
        return next((c for c in self.contacts.values() if any(p["VALUE"] == phone for p in c["PHONE"])), None)

    def add_deal(self, stage: str, opportunity: str, phone: str) -> str:
        contact = self.contact_by_phone(phone) or self._add_contact({"PHONE": {"0": {"VALUE": phone}}})
        deal_id = str(len(self.deals) + 101)
        self.deals[deal_id] = {
            "ID": deal_id,
            "STAGE_ID": stage,
            "OPPORTUNITY": opportunity,
            "CONTACT_ID": contact["ID"],
        }
        return deal_id

    def _bucket_full(self) -> bool:
        now = time.monotonic()
        self._level = max(0.0, self._level - 2 * (now - self._at))
        self._at = now
        if self._level + 1 > self.burst:
            return True
        self._level += 1
        return False

    def _add_contact(self, fields: dict[str, Any]) -> dict[str, Any]:
        contact_id = str(len(self.contacts) + 1)
        phones = [
            {"VALUE": p.get("VALUE", ""), "VALUE_TYPE": p.get("VALUE_TYPE", "WORK")} for p in _list(fields.get("PHONE"))
        ]
        contact = {k: v for k, v in fields.items() if k != "PHONE"} | {"ID": contact_id, "PHONE": phones}
        self.contacts[contact_id] = contact
        return contact

    def run(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        def error(code: str, text: str, status: int = 400) -> tuple[int, dict[str, Any]]:
            return status, {"error": code, "error_description": text}

        if method == "batch":
            results: dict[str, Any] = {}
            errors: dict[str, Any] = {}
            commands = params.get("cmd") or {}
            if len(commands) > 50:
                return error("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
            for name, command in commands.items():
                inner, _, query = command.partition("?")
                _status, answer = self.run(inner, parse_php(query))
                if "error" in answer:
                    errors[name] = answer
                else:
                    results[name] = answer["result"]
            return 200, {"result": {"result": results, "result_error": errors}}
        if method == "crm.contact.list":
            phone = (params.get("filter") or {}).get("PHONE", "")
            found = self.contact_by_phone(phone)
            return 200, {"result": [{"ID": found["ID"]}] if found else [], "total": 1 if found else 0}
        if method == "crm.contact.add":
            return 200, {"result": int(self._add_contact(params.get("fields") or {})["ID"])}
        if method in ("crm.contact.update", "crm.contact.get", "crm.deal.get"):
            table = self.deals if method == "crm.deal.get" else self.contacts
            record = table.get(str(params.get("id", "")))
            if record is None:
                return error("NOT_FOUND", "Not found", 400)
            if method == "crm.contact.update":
                record.update(params.get("fields") or {})
                return 200, {"result": True}
            return 200, {"result": record}
        if method == "crm.timeline.comment.add":
            fields = params.get("fields") or {}
            self.comments.append(fields)
            return 200, {"result": len(self.comments)}
        return error("ERROR_METHOD_NOT_FOUND", "Method not found!")


def serve() -> tuple[Portal, ThreadingHTTPServer]:
    """A portal on a local port, answering until its server is shut down."""
    portal = Portal()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            m = re.fullmatch(r"/rest/1/([^/]+)/([a-z.]+)\.json", self.path)
            with portal.lock:
                if m is None or m.group(1) != TOKEN:
                    status, answer = 401, {"error": "INVALID_CREDENTIALS", "error_description": "Invalid token"}
                elif portal.stall_next:
                    portal.stall_next -= 1
                    status, answer = -1, {}
                elif portal.throttle_next or portal._bucket_full():
                    portal.throttle_next = max(0, portal.throttle_next - 1)
                    status, answer = 503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
                else:
                    portal.requests.append(m.group(2))
                    status, answer = portal.run(m.group(2), parse_php(body))
            if status == -1:
                time.sleep(portal.stall_seconds)  # longer than the client waits: it gives up first
                status, answer = 200, {"result": True}
            raw = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:
                pass  # the client gave up (a timeout)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    portal.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return portal, server


@pytest.fixture
def bitrix24() -> Iterator[Portal]:
    portal, server = serve()
    yield portal
    server.shutdown()
    server.server_close()


# ---- amoCRM ----

AMO_CLIENT_ID = "amo-client-0001"
AMO_CLIENT_SECRET = "amo-client-secret-0001"
AMO_REDIRECT = "https://shop.example/amo/callback"


@dataclass
class AmoAccount:
    """A local amoCRM account as its API v4 and OAuth 2 behave: JSON, ``Bearer`` tokens that expire (401), refresh
    tokens rotated on each refresh (the old one is refused), and 7 requests a second (over it 429)."""

    url: str = ""
    codes: set[str] = field(default_factory=lambda: {"auth-code-0001"})
    access: dict[str, float] = field(default_factory=dict)  # live access token -> expiry (``clock`` seconds)
    refresh: set[str] = field(default_factory=set)  # the live refresh tokens
    expires_in: int = 86_400
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # "GET /api/v4/..." answered with data (not 401/429)
    oauth: list[str] = field(default_factory=list)  # the grant types exchanged
    hits: int = 0  # every request that reached the account, whatever its answer
    throttle_next: int = 0
    per_second: int = 7
    clock: Any = time.monotonic  # tests give the injected clock's seconds: the window moves only when it does
    lock: threading.Lock = field(default_factory=threading.Lock)
    _recent: list[float] = field(default_factory=list)
    _issued: int = 0
    _contact_ids: int = 0

    def expire_access(self) -> None:
        self.access.clear()

    def issue_refresh(self) -> str:
        self._issued += 1
        token = f"refresh-{self._issued:04d}"
        self.refresh.add(token)
        return token

    def phone_of(self, contact: dict[str, Any]) -> str | None:
        for f in contact.get("custom_fields_values") or []:
            if f.get("field_code") == "PHONE":
                return str(f["values"][0]["value"])
        return None

    def contact_by_phone(self, phone: str) -> dict[str, Any] | None:
        return next((c for c in self.contacts.values() if self.phone_of(c) == phone), None)

    def field(self, contact: dict[str, Any], code: str) -> object:
        for f in contact.get("custom_fields_values") or []:
            if f.get("field_code") == code or f.get("field_id") == code:
                return f["values"][0]["value"]
        return None

    def _add_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        self._contact_ids += 1  # never reused, as amoCRM's: a deleted contact's id names nobody after it
        contact_id = self._contact_ids + 5000
        self.contacts[contact_id] = {"id": contact_id, "custom_fields_values": body.get("custom_fields_values") or []}
        return self.contacts[contact_id]

    def add_lead(self, status_id: int, price: int, phone: str) -> int:
        contact = self.contact_by_phone(phone) or self._add_contact(
            {"custom_fields_values": [{"field_code": "PHONE", "values": [{"value": phone}]}]}
        )
        lead_id = len(self.leads) + 9001
        self.leads[lead_id] = {
            "id": lead_id,
            "price": price,
            "status_id": status_id,
            "pipeline_id": 1,
            "_embedded": {"contacts": [{"id": contact["id"], "is_main": True}]},
        }
        return lead_id

    def _token(self, grant: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (grant.get("client_id"), grant.get("client_secret")) != (AMO_CLIENT_ID, AMO_CLIENT_SECRET):
            return 401, {"hint": "Client authentication failed"}
        kind = grant.get("grant_type")
        if kind == "authorization_code" and grant.get("code") in self.codes:
            self.codes.discard(grant["code"])  # a code is good once
        elif kind == "refresh_token" and grant.get("refresh_token") in self.refresh:
            self.refresh.discard(grant["refresh_token"])  # rotated: the old one is dead
        else:
            return 400, {"hint": "Authorization code or refresh token is invalid"}
        self.oauth.append(str(kind))
        access = f"access-{len(self.oauth):04d}"
        self.access[access] = self.clock() + self.expires_in
        refresh = self.issue_refresh()
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "access_token": access,
            "refresh_token": refresh,
        }

    def run(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        route, _, query = path.partition("?")
        if method == "GET" and route == "/api/v4/contacts":
            phone = dict(parse_qsl(query)).get("query", "")
            found = self.contact_by_phone(phone)
            return (200, {"_embedded": {"contacts": [found]}}) if found else (204, None)
        if method == "POST" and route == "/api/v4/contacts":
            added = [self._add_contact(c) for c in body]
            return 200, {"_embedded": {"contacts": [{"id": c["id"]} for c in added]}}
        if method == "PATCH" and route == "/api/v4/contacts":
            if len(body) > 50:
                return 400, {"title": "Bad Request", "detail": "too many"}
            if any(int(u["id"]) not in self.contacts for u in body):  # one unknown contact fails the whole request
                return 400, {"title": "Bad Request", "validation-errors": []}
            for update in body:
                contact = self.contacts[int(update["id"])]
                values = {f.get("field_code") or f.get("field_id"): f for f in contact["custom_fields_values"]}
                values |= {f.get("field_code") or f.get("field_id"): f for f in update["custom_fields_values"]}
                contact["custom_fields_values"] = list(values.values())
            return 200, {"_embedded": {"contacts": [{"id": u["id"]} for u in body]}}
        if method == "POST" and route == "/api/v4/contacts/notes":
            self.notes += body
            return 200, {"_embedded": {"notes": [{"id": n} for n in range(len(body))]}}
        m = re.fullmatch(r"/api/v4/(contacts|leads)/(\d+)", route)
        if method == "GET" and m:
            table = self.contacts if m.group(1) == "contacts" else self.leads
            record = table.get(int(m.group(2)))
            return (200, record) if record is not None else (204, None)
        return 404, {"title": "Not Found"}


def serve_amo() -> tuple[AmoAccount, ThreadingHTTPServer]:
    account = AmoAccount()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw) if raw else None
            with account.lock:
                account.hits += 1
                if self.path == "/oauth2/access_token" and self.command == "POST":
                    status, answer = account._token(body or {})
                else:
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    now = account.clock()
                    account._recent = [t for t in account._recent if t > now - 1.0]
                    if account.access.get(token, -1.0) <= now:
                        status, answer = 401, {"title": "Unauthorized", "status": 401}
                    elif account.throttle_next or len(account._recent) >= account.per_second:
                        account.throttle_next = max(0, account.throttle_next - 1)
                        status, answer = 429, {"title": "Too Many Requests", "status": 429}
                    else:
                        account._recent.append(now)
                        account.requests.append(f"{self.command} {self.path}")
                        status, answer = account.run(self.command, self.path, body)
            out = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/hal+json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PATCH = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    account.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return account, server


@pytest.fixture
def amocrm(clock: Any) -> Iterator[AmoAccount]:
    from chalicelib.integrations import amocrm as amo_client
    from chalicelib.services import amo_sync

    account, server = serve_amo()
    account.clock = lambda: clock.now().timestamp()
    amo_sync.set_transport(amo_client.http_transport, lambda _sub: account.url)
    yield account
    amo_sync.set_transport(amo_client.http_transport)
    server.shutdown()
    server.server_close()
