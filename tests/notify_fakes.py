"""Local servers speaking the documented protocols of SMSC's send.php and Telegram's sendMessage, for the adapters'
tests: real HTTP on 127.0.0.1 (port 0, a thread each), recording every request they were sent."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The form fields, each sent exactly once."""
        parsed = parse_qs(self.body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        assert all(len(v) == 1 for v in parsed.values()), parsed
        return {k: v[0] for k, v in parsed.items()}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Forced:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class _Server:
    """The plumbing: a threaded HTTP server whose handler asks ``answer(recorded)`` for (status, body, headers)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.forced: Forced | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                recorded = Recorded("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
                outer.requests.append(recorded)
                if outer.forced is not None:
                    status, body, headers = outer.forced.status, outer.forced.body, outer.forced.headers
                else:
                    status, payload, headers = outer.answer(recorded)
                    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                    headers = {"Content-Type": "application/json", **headers}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def answer(self, request: Recorded) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


class FakeSmsc(_Server):
    """SMSC's ``/sys/send.php`` with ``fmt=3``: ``{"id", "cnt"}`` or ``{"error", "error_code"[, "id"]}``, HTTP 200.

    Implements the codes the adapter must understand: 1 (parameters), 2 (key), 3 (balance), 7 (number format),
    8 (undeliverable), 9 (the same message again within a minute).
    """

    def __init__(self, api_key: str = "smsc-test-key") -> None:
        self.api_key = api_key
        self.balance_rub = 100
        self.undeliverable: set[str] = set()
        self._sent: set[tuple[str, str]] = set()
        self._next_id = 1000
        super().__init__()

    def answer(self, request: Recorded) -> tuple[int, Any, dict[str, str]]:
        if urlsplit(request.path).path != "/sys/send.php":
            return 404, {"error": "not found"}, {}
        form = request.form()
        if form.get("apikey") != self.api_key:
            return 200, {"error": "authorise error", "error_code": 2}, {}
        if not form.get("phones") or not form.get("mes") or form.get("fmt") != "3":
            return 200, {"error": "parameters error", "error_code": 1}, {}
        self._next_id += 1
        if self.balance_rub <= 0:
            return 200, {"error": "no money", "error_code": 3, "id": self._next_id}, {}
        phone = form["phones"]
        digits = phone.removeprefix("+")
        if not re.fullmatch(r"[0-9]{10,15}", digits) or (digits.startswith("7") and len(digits) != 11):
            return 200, {"error": "invalid number", "error_code": 7, "id": self._next_id}, {}
        if phone in self.undeliverable:
            return 200, {"error": "cannot deliver", "error_code": 8, "id": self._next_id}, {}
        if (phone, form["mes"]) in self._sent:
            return 200, {"error": "duplicate request, wait a minute", "error_code": 9}, {}
        self._sent.add((phone, form["mes"]))
        parts = 1 + len(form["mes"]) // 70
        return 200, {"id": self._next_id, "cnt": parts}, {}


class FakeTelegram(_Server):
    """The Bot API's ``/bot<token>/sendMessage``: known chats, blocked chats, flood control, bad tokens."""

    def __init__(self, token: str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11") -> None:
        self.token = token
        self.chats: set[int] = set()
        self.blocked: set[int] = set()
        self.flood_retry_after: int | None = None
        self._next_id = 40
        super().__init__()

    def answer(self, request: Recorded) -> tuple[int, Any, dict[str, str]]:
        match = re.fullmatch(r"/bot([^/]+)/sendMessage", urlsplit(request.path).path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, {}
        if match.group(1) != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}
        if self.flood_retry_after is not None:
            seconds = self.flood_retry_after
            return (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {seconds}",
                    "parameters": {"retry_after": seconds},
                },
                {"Retry-After": str(seconds)},
            )
        body = request.json()
        chat_id = body.get("chat_id")
        if chat_id not in self.chats:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, {}
        if chat_id in self.blocked:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, {}
        if not body.get("text"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}, {}
        self._next_id += 1
        result = {
            "message_id": self._next_id,
            "from": {"id": 123456, "is_bot": True, "first_name": "Loyalty", "username": "loyalty_test_bot"},
            "chat": {"id": chat_id, "type": "private"},
            "date": 1_796_000_000,
            "text": body["text"],
        }
        return 200, {"ok": True, "result": result}, {}
