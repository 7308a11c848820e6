"""Servers on loopback for ``make run`` and the over-HTTP tests.

The embedded DynamoDB is moto's DynamoDB behind a *single-threaded* WSGI server, every request under one lock: moto is
not thread-safe, and serializing requests also gives DynamoDB's per-request atomicity, so many client threads can race
through it safely (and ``local/saved_tables.py`` saves the tables under the same lock). It serves DynamoDB only, so it
needs moto's core and none of moto[server]'s extras (Flask, cfn-lint, docker...), and its transactions are
``local/embedded_dynamodb.py``'s: their cost does not grow with the table.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Query parameters whose values are credentials: a portal link's token, one-time codes, keys. `make run`'s access
# log shows them as ***, whatever their case or position.
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:token|code|customer_code|otp|api_key|key|secret|password|signature|sig)=)[^&;#\s\"']*"
)


def mask_secrets(text: str) -> str:
    """The text with every credential-bearing query value replaced by ``***``."""
    return _SECRET_QUERY.sub(r"\1***", text)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """moto's per-request lines would drown the API's own access log."""


class _Stoppable(Protocol):
    def shutdown(self) -> None: ...


@dataclass
class Running:
    url: str
    server: _Stoppable
    thread: threading.Thread
    app: DynamoDBApp | None = None

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def fake_aws_credentials() -> None:
    """moto accepts anything; make sure botocore never goes looking for real credentials."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")


# DynamoDB's actions that change nothing: every other request may have written (local/saved_tables.py saves then).
_READS = ("Get", "BatchGet", "TransactGet", "Query", "Scan", "Describe", "List")


class DynamoDBApp:
    """moto's DynamoDB as a WSGI application, one request at a time; counts the requests that may have written."""

    def __init__(self) -> None:
        from local import embedded_dynamodb

        embedded_dynamodb.install()
        self.lock = threading.Lock()
        self.writes = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        from moto.dynamodb.responses import DynamoHandler

        request = Request(environ)
        action = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        with self.lock:
            status, headers, body = DynamoHandler.dispatch(request, request.url, dict(request.headers))
            if not action.startswith(_READS):
                self.writes += 1
        return Response(body, status=status, headers=headers)(environ, start_response)


def start_dynamodb(host: str = "127.0.0.1", port: int = 0) -> Running:
    fake_aws_credentials()
    app = DynamoDBApp()
    server: BaseWSGIServer = make_server(host, port, app, threaded=False, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-dynamodb", daemon=True)
    thread.start()
    return Running(f"http://{host}:{server.server_port}", server, thread, app)


def start_api(host: str = "127.0.0.1", port: int = 0, quiet: bool = False) -> Running:
    """The Chalice app on a real HTTP server (chalice local's threaded server), in this process."""
    from chalice.config import Config
    from chalice.local import (
        ChaliceRequestHandler,
        CustomLocalChalice,
        LocalChalice,
        LocalDevServer,
        ThreadedHTTPServer,
    )

    from app import app

    class Server(ThreadedHTTPServer):
        request_queue_size = 256  # the default backlog of 5 resets connections under a burst of tills
        # A browser keeps its connection open for minutes: a non-daemon thread serving it would hold the process
        # long after SIGTERM, as the interpreter waits for every such thread before it exits.
        daemon_threads = True
        block_on_close = False

        def handle_error(self, request: Any, client_address: Any) -> None:
            """A client that hung up (a browser tab closed, a till stopped mid-request) is not an error."""
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    # What chalice.local.create_local_server does, with a server class that survives concurrent clients.
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice

    class QuietHandler(ChaliceRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Tests and benchmarks: no access log line per request."""

    class MaskingHandler(ChaliceRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """The access log of `make run`, with tokens and codes in query strings masked."""
            super().log_message(mask_secrets(format), *(mask_secrets(a) if isinstance(a, str) else a for a in args))

    config = Config.create(chalice_stage="dev", app_name="coalition-loyalty", lambda_timeout=30)
    handler_cls = QuietHandler if quiet else MaskingHandler
    server = LocalDevServer(app, config, host, port, handler_cls=handler_cls, server_cls=Server)
    actual_port = server.server.server_address[1]
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
    thread.start()
    return Running(f"http://{host}:{actual_port}", server.server, thread)
