"""``GET /dev/inbox`` (HTML) and ``GET /dev/inbox.json``: the development inbox over HTTP, ``make run`` only.

:func:`register` adds the two routes to the Chalice app only when ``LOYALTY_DEV_INBOX=1`` and not in Lambda; in a
deployed stack they are never registered, so API Gateway has no such path. The handlers check again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalice.app import Chalice, Response

from chalicelib.errors import NotFound
from chalicelib.http import Call, Route, make_view
from chalicelib.notify.inbox import INBOX, dev_inbox_enabled, inbox_rows


def inbox_json(call: Call[None, None]) -> Response:
    _only_locally()
    body = json.dumps([entry.as_json() for entry in INBOX.entries()], ensure_ascii=False)
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json; charset=utf-8"})


def inbox_page(call: Call[None, None]) -> Response:
    _only_locally()
    from chalicelib.web.render import environment, headers, new_nonce  # Jinja2 only for this page

    nonce = new_nonce()
    body = environment().get_template("dev/inbox.html").render(rows=inbox_rows(INBOX.entries()), nonce=nonce)
    return Response(body=body, status_code=200, headers=headers(nonce))


def _only_locally() -> None:
    if not dev_inbox_enabled():
        raise NotFound("No such route.")


DEV_ROUTES = (
    Route("dev_inbox", "GET", "/dev/inbox", inbox_page, "public", "Development inbox (make run only)", tag="dev",
          content="text/html"),
    Route("dev_inbox_json", "GET", "/dev/inbox.json", inbox_json, "public", "Development inbox as JSON (make run only)",
          tag="dev"),
)  # fmt: skip


def register(app: Chalice, env: Mapping[str, str] | None = None) -> bool:
    """Adds the dev inbox routes when enabled (``make run``); returns whether it did."""
    if not dev_inbox_enabled(env):
        return False
    for route in DEV_ROUTES:
        view: Any = make_view(app, route)
        app.route(route.path, methods=[route.method], name=route.name, content_types=["*/*"])(view)
    return True
