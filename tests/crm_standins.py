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
