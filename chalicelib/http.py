"""Chalice glue: turns a :class:`Route` into a view that authenticates, parses, calls the service and renders
the result or an RFC 9457 problem. Nothing below this module knows about HTTP."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypedDict, TypeVar, Unpack, overload

from chalice.app import CaseInsensitiveMapping, Chalice, Request, Response
from pydantic import BaseModel

from chalicelib import db, runtime
from chalicelib.db import is_unavailable
from chalicelib.domain.audit import Stamp, actor_of
from chalicelib.domain.periods import iso_instant
from chalicelib.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    RecordedProblem,
    Unavailable,
    UnsupportedMediaType,
    problem_json,
)
from chalicelib.https import HSTS, over_https
from chalicelib.lazy import lazy_module
from chalicelib.machinery import key_rate
from chalicelib.machinery.built import json_of
from chalicelib.request_body import media_type, parse_json, validate
from chalicelib.services import auth

if TYPE_CHECKING:  # the writes' machinery loads with the first write (or replayed answer), not with a read
    from chalicelib.machinery import idempotency
else:
    idempotency = lazy_module("chalicelib.machinery.idempotency")

log = logging.getLogger("loyalty")

# public: anyone; partner / operator / partner_or_operator: an API key (Bearer), checked here before the handler;
# session: the partner portal's signed cookie (lp_session) and, on forms, its CSRF field: the portal's router
# (web/portal_http.py) reads them and shows the sign-in page to whoever has none.
# customer: the customer's own session cookie (lc_session) and, on forms, its CSRF field: the customer
# pages' router (web/customer_http.py) checks them; without a session: a 401 page.
# staff: a staff member's session cookie (ls_session, web/staff_session.py) and, on forms, its CSRF field: the
# area's router checks them and the member's role; without a session: the area's sign-in page.
Auth = Literal["public", "partner", "operator", "partner_or_operator", "session", "customer", "staff"]
MAX_IDEMPOTENCY_KEY = 255
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # fullmatch: "$" would let a trailing newline in
LOOKUP_ROUTES = frozenset({"lookup_customer"})  # each request is also a phone or card look-up (enumeration limit)
JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

BodyT = TypeVar("BodyT", bound=BaseModel | None)
QueryT = TypeVar("QueryT", bound=BaseModel | None)


@dataclass
class Call(Generic[BodyT, QueryT]):
    """Everything a route handler gets: the caller, the validated inputs and the request's write identity.

    ``Call[CreateAccrual, None]`` is a call whose body is a ``CreateAccrual`` and which takes no query: the route
    table (:meth:`RouteTable.route`) only accepts a handler whose ``Call`` matches the route's ``body=`` and
    ``query=`` models, so mypy sees that what the route parses is what the handler's service takes."""

    principal: auth.Principal | None
    body: BodyT
    query: QueryT
    params: dict[str, str]
    now: datetime
    write: idempotency.WriteRequest | None
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | str | None = None
    source_ip: str | None = None  # API Gateway's view of the client (requestContext.identity.sourceIp)
    request_id: str = ""  # API Gateway's request id (or one made here): in every answer and the audit log
    gateway: Mapping[str, Any] = field(default_factory=dict)  # API Gateway's requestContext (empty: chalice local)

    @property
    def stamp(self) -> Stamp:
        """Who, in which request, when: what the audit log records of a change this call makes."""
        return Stamp(actor_of(self.principal), self.request_id, self.now)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def partner_id(self) -> str:
        assert self.principal is not None
        return self.principal.require_partner()

    @property
    def partner_or_operator(self) -> str | None:
        """The calling partner, or ``None`` for the operator (routes with auth ``partner_or_operator``)."""
        assert self.principal is not None
        return None if self.principal.operator else self.principal.require_partner()

    @property
    def writing(self) -> idempotency.WriteRequest:
        """The request's write identity (routes with ``idempotent_post=True``)."""
        assert self.write is not None
        return self.write


# What a handler may return: a recorded write, a model (its JSON, the route's status), a response, nothing (204).
Answer: TypeAlias = "idempotency.Reply | BaseModel | Response | None"
AnswerT = TypeVar("AnswerT", bound=Answer)
Body = TypeVar("Body", bound=BaseModel)
Query = TypeVar("Query", bound=BaseModel)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    handler: Callable[[Call[Any, Any]], Answer]
    auth: Auth
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # The answer's model, or its name in chalicelib.schemas (the balance renders its JSON itself): for OpenAPI only.
    response: type[BaseModel] | str | None = None
    status: int = 200  # the success status; a Reply with created=False answers 200 (an enrolled customer found)
    tag: str = "partner"
    idempotent_post: bool = False
    errors: tuple[int, ...] = ()
    form: type[BaseModel] | None = None  # a page's form (urlencoded): documented only, the page's code reads it
    # The success media type, or several: ("application/json", "text/csv") for ?format=csv, ("text/csv",
    # "text/html") for a portal download that shows the sign-in page to a signed-out browser.
    content: str | tuple[str, ...] = "application/json"
    also: tuple[int, ...] = ()  # other success statuses answered with ``response`` (documented in OpenAPI)
    # A public route's own credential (a webhook's secret header), checked with a header reader before the body is
    # parsed: a caller without it learns nothing of what the body should be, not even a validation error.
    guard: Callable[[Callable[[str], str | None]], None] | None = None

    @property
    def media(self) -> tuple[str, ...]:
        return (self.content,) if isinstance(self.content, str) else self.content

    @property
    def page(self) -> bool:
        """The route answers a browser: its errors are HTML pages, not problem+json (a route for an API key answers
        its errors as problem+json, whatever its success is: the operator's printable act)."""
        return "text/html" in self.media and self.auth not in ("partner", "operator", "partner_or_operator")


class RouteOptions(TypedDict, total=False):
    """What a route declares besides its method, path, auth, summary and input models."""

    name: str  # default: the handler's name
    response: type[BaseModel] | str
    status: int
    tag: str  # default: the table's
    idempotent_post: bool
    errors: tuple[int, ...]
    form: type[BaseModel]
    content: str | tuple[str, ...]
    also: tuple[int, ...]
    guard: Callable[[Callable[[str], str | None]], None]


class RouteTable:
    """One resource's routes, each declared on its handler::

        customers = RouteTable()

        @customers.route("POST", "/v1/customers", "partner", "Enrol a customer", body=EnrollCustomer, status=201)
        def enroll_customer(call: Call[EnrollCustomer, None]) -> Reply: ...

    A handler whose ``Call`` does not match ``body=`` and ``query=`` is a mypy error."""

    def __init__(self, tag: str = "partner") -> None:
        self.tag = tag
        self.routes: list[Route] = []

    @overload
    def route(
        self,
        method: str,
        path: str,
        auth: Auth,
        summary: str,
        *,
        body: None = None,
        query: None = None,
        **options: Unpack[RouteOptions],
    ) -> Callable[[Callable[[Call[None, None]], AnswerT]], Callable[[Call[None, None]], AnswerT]]: ...

    @overload
    def route(
        self,
        method: str,
        path: str,
        auth: Auth,
        summary: str,
        *,
        body: type[Body],
        query: None = None,
        **options: Unpack[RouteOptions],
    ) -> Callable[[Callable[[Call[Body, None]], AnswerT]], Callable[[Call[Body, None]], AnswerT]]: ...

    @overload
    def route(
        self,
        method: str,
        path: str,
        auth: Auth,
        summary: str,
        *,
        body: None = None,
        query: type[Query],
        **options: Unpack[RouteOptions],
    ) -> Callable[[Callable[[Call[None, Query]], AnswerT]], Callable[[Call[None, Query]], AnswerT]]: ...

    @overload
    def route(
        self,
        method: str,
        path: str,
        auth: Auth,
        summary: str,
        *,
        body: type[Body],
        query: type[Query],
        **options: Unpack[RouteOptions],
    ) -> Callable[[Callable[[Call[Body, Query]], AnswerT]], Callable[[Call[Body, Query]], AnswerT]]: ...

    def route(
        self,
        method: str,
        path: str,
        auth: Auth,
        summary: str,
        *,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        **options: Unpack[RouteOptions],
    ) -> Callable[[Callable[[Call[Any, Any]], Any]], Callable[[Call[Any, Any]], Any]]:
        def declare(handler: Callable[[Call[Any, Any]], Any]) -> Callable[[Call[Any, Any]], Any]:
            declared = Route(
                handler.__name__, method, path, handler, auth, summary, body=body, query=query, tag=self.tag
            )
            self.routes.append(replace(declared, **options))
            return handler

        return declare


def problem(error: ApiError, request_id: str) -> Response:
    headers: dict[str, str | list[str]] = {
        **JSON_HEADERS,
        "Content-Type": "application/problem+json",
        "X-Request-Id": request_id,
        **error.headers,
    }
    if isinstance(error, RecordedProblem):  # the first execution's answer, byte for byte
        if error.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(body=error.body, status_code=error.status, headers=headers)
    return Response(body=problem_json(error, request_id), status_code=error.status, headers=headers)


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    return value if value is None or type(value) is str else str(value)


def _lowered(headers: Any) -> dict[str, Any]:
    """``dict(headers)``, copied once for every ``_header`` of the request (Chalice's: by lower-case name)."""
    return dict(headers._dict if isinstance(headers, CaseInsensitiveMapping) else headers or {})


def _authenticate(route: Route, headers: Any) -> auth.Principal | None:
    if route.auth in ("public", "session", "customer", "staff"):  # a session: the page's router reads it (see Auth)
        return None
    principal = auth.authenticate(_header(headers, "authorization"), runtime.get().settings.key_pepper)
    if route.auth == "operator" and not principal.operator:
        raise Forbidden("This route needs the operator key.")
    if route.auth == "partner" and principal.operator:
        raise Forbidden("This route needs a partner key.")
    return principal


def _write_request(
    route: Route, principal: auth.Principal | None, headers: Any, path: str, body: Any, now: datetime, request_id: str
) -> idempotency.WriteRequest | None:
    if not route.idempotent_post or principal is None:
        return None
    key = _header(headers, "idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces.")
    return idempotency.WriteRequest.of(  # with its nonce: once per HTTP request, for its implicit record and tokens
        principal.key_id,
        key,
        idempotency.fingerprints(route.method, path, body),
        iso_instant(now),  # ``now.isoformat()``, written once for the request and the service it calls
        request_id,
        actor_of(principal),
    )


def _render(route: Route, result: Answer, request_id: str) -> Response:
    if isinstance(result, Response):
        result.headers = {"X-Request-Id": request_id, "X-Content-Type-Options": "nosniff", **(result.headers or {})}
        result.headers.setdefault("Cache-Control", "no-store")
        return result
    if result is None:
        return Response(body="", status_code=204, headers={"X-Request-Id": request_id, "Cache-Control": "no-store"})
    headers: dict[str, str | list[str]] = {**JSON_HEADERS, "X-Request-Id": request_id}
    if isinstance(result, BaseModel):
        return Response(body=json_of(result), status_code=route.status, headers=headers)
    if isinstance(result, idempotency.Reply):  # a write's: its machinery is loaded already
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        # The one place a write's outcome becomes a status: created -> the route's (201), else 200 (an enrolled
        # customer found again, a hold captured). Replay records store that number; idempotency maps it back.
        status = route.status if result.created else 200
        return Response(body=result.body, status_code=status, headers=headers)
    raise TypeError(f"handler returned {type(result).__name__}")


def _checked(error: ApiError) -> ApiError:
    """The answer to a request that failed before its carried authentication landed (a body that does not
    validate, read nothing): an unknown key still gets 401 first, as if it had been read before anything else."""
    try:
        db.land_riders()
    except ApiError as refused:
        return refused
    return error


def make_view(app: Chalice, route: Route) -> Callable[..., Response]:
    lookup, templated = route.name in LOOKUP_ROUTES, "{" in route.path  # once per route (no "{": its own format())

    def view(**uri_params: str) -> Response:
        request = app.current_request
        headers = _lowered(request.headers if request is not None else None)
        response = answer(request, headers, uri_params)
        if over_https(headers):  # ``https.with_hsts``, in place: every answer below has a headers dict of its own
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    def answer(request: Request | None, headers: dict[str, Any], uri_params: dict[str, str]) -> Response:
        context = request.context if request is not None and request.context else {}
        request_id = str(context.get("requestId") or uuid.uuid4())
        db.drop_riders()  # nothing carried over from a request this thread served before
        try:
            assert request is not None
            rt = runtime.get()
            principal = _authenticate(route, headers)
            if route.guard is not None:
                route.guard(lambda name: _header(request.headers, name))
            # Per API key, before anything is decided: a 429 leaves an Idempotency-Key free. On a cold instance both
            # the key and its bucket ride with the request's first read (auth.authenticate, key_rate.per_request).
            now = rt.clock.now()  # one reading of the clock: the request's instant, its rate tokens' too
            if principal is not None:
                key_rate.per_request(principal.key_id, lookup=lookup, now=now)
            raw_body = request.raw_body
            if route.body is not None:
                media = media_type(_header(headers, "content-type"))
                if raw_body and media != "application/json" and not media.endswith("+json"):
                    raise UnsupportedMediaType(f"Content-Type {media!r} is not supported; send application/json.")
                data = parse_json(raw_body, rt.settings.max_body_bytes)
                body = validate(route.body, data, "body")
            else:
                if raw_body and len(raw_body) > rt.settings.max_body_bytes:
                    raise PayloadTooLarge()
                data, body = None, None
            query = validate(route.query, dict(request.query_params or {}), "query") if route.query else None
            path = route.path.format(**uri_params) if templated else route.path
            write = _write_request(route, principal, headers, path, data, now, request_id)
            ip = str((context.get("identity") or {}).get("sourceIp") or "") or None
            # Positional, in field order; ``headers``: the request's own copy (``_lowered``), which nothing writes to.
            raw = raw_body if route.body is None else None
            call: Call[Any, Any] = Call(
                principal, body, query, uri_params, now, write, headers, raw, ip, request_id, context
            )
            result = route.handler(call)
            db.land_riders()  # the caller was checked before anything it asked for leaves
            return _render(route, result, request_id)
        except ApiError as error:
            return problem(_checked(error), request_id)
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("storage unavailable request_id=%s: %s", request_id, exc)
                return problem(Unavailable(), request_id)
            log.exception("unhandled error request_id=%s", request_id)
            return problem(ApiError("Something went wrong on our side; it has been logged."), request_id)
        finally:
            db.drop_riders()

    view.__name__ = route.name
    return view
