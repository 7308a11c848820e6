"""Routes without an API key: the liveness check and the customer's own data (a portal token, checked here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.schemas import Health, MeOut, MeQuery

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import auth, customer_auth, portal_links
else:
    auth = lazy_module("chalicelib.services.auth")
    customer_auth = lazy_module("chalicelib.services.customer_auth")
    portal_links = lazy_module("chalicelib.services.portal_links")

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
    access = customer_auth.verify_link(auth.bearer_token(call.header("authorization")), call.now)
    return portal_links.me(access, call.now, call.query.cursor)


@api.route(
    "POST",
    "/v1/me/revoke-links",
    "public",
    "The customer ends every link and session of theirs made so far, this link included (Bearer <portal token>)",
    status=204,
    tag="portal",
    errors=(401,),
)
def me_revoke_links(call: Call[None, None]) -> None:
    access = customer_auth.verify_link(auth.bearer_token(call.header("authorization")), call.now)
    customer_auth.revoke_own_links(access, call.now)
