"""Every route of the service in one list: the JSON API (chalicelib/api), the HTML pages (chalicelib/web) and the
OpenAPI document of both. app.py wires this list into Chalice; the authorization matrix test reads it."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.routes import ROUTES as API_ROUTES
from chalicelib.http import Call, Route
from chalicelib.web.routes import ROUTES as PAGE_ROUTES

__all__ = ["ROUTES"]


def openapi_json(call: Call[None, None]) -> Response:
    from chalicelib.api.openapi import document_json

    return Response(body=document_json(ROUTES), status_code=200, headers={"Content-Type": "application/json"})


ROUTES: tuple[Route, ...] = (
    *API_ROUTES[:1],
    Route("openapi", "GET", "/openapi.json", openapi_json, "public", "This API's OpenAPI 3.1 document", tag="public"),
    *API_ROUTES[1:],
    *PAGE_ROUTES,
)
