"""The site around the pages: the landing page at ``/``, the favicon, and the answer to every unknown path.

An unknown path is ``404 not_found``: problem+json for an API client, a page for a browser (its ``Accept`` names
``text/html``). API Gateway answers a path it has no resource for with its own ``403 Missing Authentication Token``
before the function runs, so the app declares a greedy catch-all ``/{proxy+}`` for every method (:func:`register`):
API Gateway prefers any more specific resource, so the catch-all never shadows a real route. ``chalice local`` and
Chalice's test client match only as many segments as a route has; :func:`match_greedy_locally` teaches their route
matcher what API Gateway does with ``{proxy+}`` (only outside Lambda)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from chalice.app import Chalice, Response

from chalicelib.errors import NotFound
from chalicelib.http import Call, problem
from chalicelib.https import with_hsts
from chalicelib.lazy import lazy_module
from chalicelib.web import i18n

if TYPE_CHECKING:  # app.py registers the catch-all at every start: the landing page's needs load with it
    from chalicelib.services import partners
    from chalicelib.web.queries import SiteQuery
else:
    partners = lazy_module("chalicelib.services.partners")

CATCH_ALL = "/{proxy+}"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")  # API Gateway's ANY
# The program's mark (a green square with a white star); the pages link it as their icon.
ICON = Path(__file__).resolve().parent / "static" / "icon.svg"


def landing(call: Call[None, SiteQuery]) -> Response:
    """What the program is and where each of its people goes: the customer's points, the partner portal and the
    partners (where to earn and spend)."""
    from chalicelib.web.render import language_links, render

    lang = i18n.pick(call.query.lang if call.query else None)
    t = i18n.locale(lang)
    places = sorted(partners.directory().items, key=lambda p: p.name)
    page = render("site/landing.html", t, places=places, language_links=language_links(lang, "/?lang="))
    return Response(body=page.body, status_code=200, headers=dict(page.headers))


def favicon(call: Call[None, None]) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400"}
    return Response(body=ICON.read_text(encoding="utf-8"), status_code=200, headers=headers)


def wants_html(accept: str | None) -> bool:
    """A browser asks for ``text/html`` first; an API client (``application/json``, ``*/*``, nothing) does not."""
    return "text/html" in (accept or "").lower()


def not_found(accept: str | None, lang: str | None, request_id: str) -> Response:
    if not wants_html(accept):
        return problem(NotFound("There is nothing at this address."), request_id)
    from chalicelib.web.render import render  # Jinja2 only for a browser's page

    page = render("site/not_found.html", i18n.locale(i18n.pick(lang)), language_links=[])
    return Response(body=page.body, status_code=404, headers={**page.headers, "X-Request-Id": request_id})


def register(app: Chalice) -> None:
    """The catch-all route, every method: an unknown path answers 404, never API Gateway's 403."""

    def unknown_path() -> Response:
        request = app.current_request
        headers = request.headers if request is not None else {}
        context = request.context if request is not None and request.context else {}
        query: Any = (request.query_params or {}) if request is not None else {}
        request_id = str(context.get("requestId") or uuid.uuid4())
        lang = query.get("lang")
        answer = not_found(headers.get("accept"), lang if lang in i18n.languages() else None, request_id)
        return with_hsts(answer, lambda name: headers.get(name))  # type: ignore[no-any-return]

    app.route(CATCH_ALL, methods=list(METHODS), name="not_found", content_types=["*/*"])(unknown_path)


def match_greedy_locally() -> None:
    """``chalice local`` and ``chalice.test.Client``: a path no route matches goes to ``/{proxy+}`` as in API
    Gateway (the root ``/`` excepted, as there). Never called in Lambda, where chalice.local does not exist."""
    from chalice import local

    if getattr(local.RouteMatcher, "greedy", False):
        return

    class GreedyRouteMatcher(local.RouteMatcher):
        greedy = True

        def match_route(self, url: str) -> Any:
            try:
                found = super().match_route(url)
            except ValueError:
                found = None
            if found is not None and found.route != CATCH_ALL:
                return found
            parsed = urlparse(url)
            if CATCH_ALL in self.route_urls and parsed.path not in ("", "/"):
                query = parse_qs(parsed.query, keep_blank_values=True)
                return local.MatchResult(CATCH_ALL, {"proxy": parsed.path.lstrip("/")}, query)
            raise ValueError(f"No matching route found for: {url}")

    local.RouteMatcher = GreedyRouteMatcher  # type: ignore[misc]
