"""Routes partners call that reach the customer: links and spend codes go to the customer,
never to the partner, and identifiers are bound with the customer's code. The flows are in
``services/customer_auth.py``, ``services/spend_codes.py`` and ``services/bindings.py``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib import runtime
from chalicelib.http import JSON_HEADERS, Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    ConfirmIdentifiers,
    IdentifiersConfirmed,
    PortalLinkRequest,
    PortalLinkSent,
    SpendCodeRequest,
    SpendCodeSent,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import bindings, customer_auth, spend_codes
else:
    bindings = lazy_module("chalicelib.services.bindings")
    customer_auth = lazy_module("chalicelib.services.customer_auth")
    spend_codes = lazy_module("chalicelib.services.spend_codes")

api = RouteTable()

_SEND = (400, 401, 403, 404, 413, 415, 422, 429, 503)


def pending_binding(reply: Reply) -> Reply | Response:
    """An enrolment whose new identifier waits for the customer's code answers 202 (fresh or replayed: the body
    says so); every other enrolment answers as the route table says (201 created, 200 found)."""
    if not bindings.is_pending(reply):
        return reply
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if reply.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=reply.body, status_code=202, headers=headers)


# A host name and port, nothing else (no scheme, path, query or user part): what a link may be built under.
_PLAIN_HOST = re.compile(r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::[0-9]{1,5})?")


def base_url(call: Call[PortalLinkRequest, None]) -> str:
    """Where the customer's links point: the configured public URL; else, behind API Gateway, the address it was
    called at (its domain, and its stage on the default domain), which no header of the caller changes; else
    (chalice local, tests) this request's host if it is a plain host name. The link carries her token: a partner
    choosing ``Host`` or ``X-Forwarded-Proto`` must not get it sent under its own address."""
    configured = runtime.get().settings.public_base_url
    if configured:
        return configured
    domain, stage = call.gateway.get("domainName"), call.gateway.get("stage")
    if domain:
        on_default_domain = str(domain).endswith(".amazonaws.com")
        return f"https://{domain}/{stage}" if on_default_domain and stage else f"https://{domain}"
    host = call.header("host") or "localhost"
    if not _PLAIN_HOST.fullmatch(host):
        host = "localhost"
    return f"{'http' if host.split(':')[0] in ('127.0.0.1', 'localhost') else 'https'}://{host}"


@api.route(
    "POST",
    "/v1/customers/{customer_id}/portal-link",
    "partner",
    "Send the customer a link to their balance page, through their channel (the partner never sees it)",
    body=PortalLinkRequest,
    response=PortalLinkSent,
    status=202,
    errors=_SEND,
)
def portal_link(call: Call[PortalLinkRequest, None]) -> PortalLinkSent:
    return customer_auth.send_link(call.params["customer_id"], call.partner_id, call.body, base_url(call), call.now)


@api.route(
    "POST",
    "/v1/customers/{customer_id}/spend-code",
    "partner",
    "Send the customer a one-time code that lets this partner spend up to `points` of their points (default: what "
    "they have available now; valid 10 minutes, once; a retry with the same Idempotency-Key delivers the same code)",
    body=SpendCodeRequest,
    response=SpendCodeSent,
    status=202,
    idempotent_post=True,
    errors=(*_SEND, 409),
)
def spend_code(call: Call[SpendCodeRequest, None]) -> Reply:
    return spend_codes.send_code(call.writing, call.params["customer_id"], call.partner_id, call.body.points, call.now)


@api.route(
    "POST",
    "/v1/customers/{customer_id}/identifiers/confirm",
    "partner",
    "Attach the identifiers an enrolment left pending (202), with the code the customer received",
    body=ConfirmIdentifiers,
    response=IdentifiersConfirmed,
    idempotent_post=True,
    errors=(400, 401, 403, 404, 409, 413, 415, 422, 429),
)
def confirm_identifiers(call: Call[ConfirmIdentifiers, None]) -> Reply:
    return bindings.confirm(call.writing, call.params["customer_id"], call.body.code, call.partner_id, call.now)
