"""Routes without an API key: the liveness check and the customer's own data (a portal token, checked here)."""

from __future__ import annotations

from chalicelib import runtime
from chalicelib.http import Call, RouteTable
from chalicelib.schemas import Health, MeOut, MeQuery
from chalicelib.services import auth
from chalicelib.services import portal_links as portal

api = RouteTable(tag="public")


@api.route("GET", "/health", "public", "Liveness check", response=Health)
def health(call: Call[None, None]) -> Health:
    return Health(status="ok", time=call.now.isoformat())


@api.route(
    "GET",
    "/v1/me",
    "public",
    "The customer page's data as JSON (Bearer <portal token>)",
    query=MeQuery,
    response=MeOut,
    tag="portal",
    errors=(401, 422),
)
def me(call: Call[None, MeQuery]) -> MeOut:
    access = portal.verify(
        auth.bearer_token(call.header("authorization")), runtime.get().settings.portal_secret, call.now
    )
    return portal.me(access, call.now, call.query.cursor)


@api.route(
    "POST",
    "/v1/me/revoke-links",
    "public",
    "The customer ends every link to their page made so far, this one included (Bearer <portal token>)",
    status=204,
    tag="portal",
    errors=(401,),
)
def me_revoke_links(call: Call[None, None]) -> None:
    access = portal.verify(
        auth.bearer_token(call.header("authorization")), runtime.get().settings.portal_secret, call.now
    )
    portal.revoke_own(access, call.now)
