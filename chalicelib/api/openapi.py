"""OpenAPI 3.1, generated from the route table and the pydantic models (built on first request, then cached)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib import schemas
from chalicelib.http import Route
from chalicelib.schemas import Problem

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted: sent to the customer (or waiting for the customer's code)",
    204: "No content",
    400: "Bad request or invalid JSON",
    401: "Unauthorized",
    403: "Forbidden or partner suspended",
    404: "Not found",
    409: "Conflict (replay mismatch, duplicate id, state)",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation or business rule failed",
    429: "Too many requests, attempts or messages; retry after Retry-After seconds (docs/security.md)",
    500: "Internal error (no details leak)",
    503: "Temporarily unavailable; retry after Retry-After",
}
_REF = "#/components/schemas/{model}"
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "API key"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "lp_session",
        "description": "The partner portal's session: POST /portal/login exchanges an API key for this signed cookie "
        "(HttpOnly, SameSite=Strict, one hour). Every form also sends its `csrf` field, bound to the session: a form "
        "without it is a 403. Without a session a page answers with the sign-in page, a form with a 303 to it.",
    },
    "staff_session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "ls_session",
        "description": "A staff member's session: /till/login (or /portal/login, /admin/login) with a one-time code "
        "sets this cookie (HttpOnly, SameSite=Strict). The area's pages open to the roles it serves (the till: "
        "cashier, owner); every form also sends its `csrf` field, bound to the session: without it a 403. Without a "
        "session a page answers with the area's sign-in page, a form with a 303 to it.",
    },
    "customer_session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "lc_session",
        "description": "The customer's session: /me/sign-in with a one-time code, or a link, sets this "
        "HttpOnly, SameSite=Strict cookie (Path=/me), kept server-side; sign-out ends it. Every form also sends its "
        "`csrf` field, bound to the session: without it a 403. Without a session: a 401 page.",
    },
}
_SCHEME_OF = {
    "partner": "bearer",
    "operator": "bearer",
    "partner_or_operator": "bearer",
    "session": "session",
    "customer": "customer_session",
    "staff": "staff_session",
}
_PAGE_STATUSES = {
    "GET": (200, 303, 401, 403, 404, 422, 500),
    "POST": (200, 303, 400, 401, 403, 404, 409, 422, 429, 500),  # 429: a customer's sign-in code locked
}


Mode = Literal["validation", "serialization"]


def _models(routes: Sequence[Route]) -> list[tuple[type[BaseModel], Mode]]:
    pairs: list[tuple[type[BaseModel], Mode]] = [(Problem, "serialization")]
    for route in routes:
        if route.body is not None:
            pairs.append((route.body, "validation"))
        if route.form is not None:
            pairs.append((route.form, "validation"))
        if (response := _response(route)) is not None:
            pairs.append((response, "serialization"))
    return list(dict.fromkeys(pairs))


def _response(route: Route) -> type[BaseModel] | None:
    """The route's answer model; a route that renders its JSON itself names it (chalicelib.http.Route)."""
    named = route.response
    if isinstance(named, str):
        model: type[BaseModel] = getattr(schemas, named)
        return model
    return named


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    return [
        {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _error_statuses(route: Route) -> set[int]:
    """What a route can answer besides success, derived from what it takes, plus what its handler declares."""
    statuses = {*route.errors, 500, 503}
    if route.auth != "public":
        statuses |= {401, 403}
    if route.auth not in ("public", "session", "staff"):
        statuses |= {429}  # the per-key request rate (chalicelib/http.py)
    if route.idempotent_post or route.body is not None:
        statuses |= {400, 413}
    if route.body is not None:
        statuses |= {415, 422}
    if route.query is not None or "{" in route.path:
        statuses |= {422}
    if "{" in route.path:
        statuses |= {404}
    return statuses


def _page_responses(route: Route) -> dict[str, Any]:
    """A page answers every outcome with a page (a 303 to the sign-in page for a form posted signed out); a download
    answers its success with the file, or with the sign-in page when signed out."""
    page = {"text/html": {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {}
    for status in _PAGE_STATUSES.get(route.method, _PAGE_STATUSES["GET"]):
        content = {media: {"schema": {"type": "string"}} for media in route.media} if status == 200 else page
        responses[str(status)] = {"description": _STATUS_TEXT.get(status, "See Other"), "content": content}
    return responses


def _success_responses(route: Route, keyed: dict[Any, Any]) -> dict[str, Any]:
    """The route's success answers: its status, and any other it declares (``also``), with its response model."""
    response = _response(route)
    if response is None:
        if route.name == "openapi":
            return {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
        if "application/json" not in route.media:  # a document (the operator's act): text, not a model
            text = {media: {"schema": {"type": "string"}} for media in route.media}
            return {str(route.status): {"description": _STATUS_TEXT[route.status], "content": text}}
        return {str(route.status): {"description": _STATUS_TEXT[route.status]}}
    content: dict[str, Any] = {
        media: {"schema": keyed[(response, "serialization")]}
        if media == "application/json"
        else {"schema": {"type": "string"}}
        for media in route.media
    }
    return {
        str(status): {"description": _STATUS_TEXT[status], "content": content} for status in (route.status, *route.also)
    }


def build(routes: Sequence[Route]) -> dict[str, Any]:
    keyed, definitions = models_json_schema(_models(routes), ref_template=_REF)
    schemas = definitions.get("$defs", {})
    problem_ref = {"$ref": _REF.format(model="Problem")}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {"operationId": route.name, "summary": route.summary, "tags": [route.tag]}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        if route.query is not None:
            params += _query_parameters(route.query)
        if route.idempotent_post:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": "Repeat with the same body to get the same response; never executed twice.",
                }
            )
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keyed[(route.body, "validation")]}},
            }
        if route.form is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": keyed[(route.form, "validation")]}},
            }
        if route.auth in _SCHEME_OF:
            op["security"] = [{_SCHEME_OF[route.auth]: []}]
        if route.page:
            op["responses"] = _page_responses(route)
            paths.setdefault(route.path, {})[route.method.lower()] = op
            continue
        responses = _success_responses(route, keyed)
        for status in sorted(_error_statuses(route)):
            responses[str(status)] = {
                "description": _STATUS_TEXT[status],
                "content": {"application/problem+json": {"schema": problem_ref}},
            }
        op["responses"] = responses
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Coalition loyalty network API",
            "version": "1.0.0",
            "description": "One bonus currency shared by independent partners. Money is integer minor units, "
            "points are integers, rates are basis points. Errors are RFC 9457 problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


@lru_cache(maxsize=1)
def document_json(routes: tuple[Route, ...]) -> str:
    return json.dumps(build(routes), ensure_ascii=False)
