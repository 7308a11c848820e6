"""Routes of issue 17 ("the customer holds the keys") that partners call: links and spend codes go to the customer,
never to the partner, and identifiers are bound with the customer's code. The flows are in
``services/customer_auth.py``, ``services/spend_codes.py`` and ``services/bindings.py``."""

from __future__ import annotations

from typing import Any

from chalicelib import runtime
from chalicelib.http import Call, Route
from chalicelib.schemas import (
    ConfirmIdentifiers,
    IdentifiersConfirmed,
    PortalLinkRequest,
    PortalLinkSent,
    SpendCodeSent,
)
from chalicelib.services import bindings, customer_auth, spend_codes


def base_url(call: Call) -> str:
    """Where the customer's links point: the configured public URL, else this request's host."""
    configured = runtime.get().settings.public_base_url
    if configured:
        return configured
    host = call.header("host") or "localhost"
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]")
    scheme = call.header("x-forwarded-proto") or ("http" if loopback else "https")
    return f"{scheme}://{host}"


def portal_link(call: Call) -> Any:
    call.partner_id  # noqa: B018 - partners only
    return customer_auth.send_link(call.params["customer_id"], call.body, base_url(call), call.now)


def spend_code(call: Call) -> Any:
    return spend_codes.send_code(call.params["customer_id"], call.partner_id, call.now)


def confirm_identifiers(call: Call) -> Any:
    assert call.write is not None
    return bindings.confirm(call.write, call.params["customer_id"], call.body.code, call.partner_id, call.now)


_SEND = (400, 401, 403, 404, 413, 415, 422, 429, 503)

ROUTES: tuple[Route, ...] = (
    Route(
        "portal_link",
        "POST",
        "/v1/customers/{customer_id}/portal-link",
        portal_link,
        "partner",
        "Send the customer a link to their balance page, through their channel (the partner never sees it)",
        body=PortalLinkRequest,
        response=PortalLinkSent,
        status=202,
        errors=_SEND,
    ),
    Route(
        "spend_code",
        "POST",
        "/v1/customers/{customer_id}/spend-code",
        spend_code,
        "partner",
        "Send the customer a one-time code that lets this partner spend their points (valid 10 minutes, once)",
        response=SpendCodeSent,
        status=202,
        errors=_SEND,
    ),
    Route(
        "confirm_identifiers",
        "POST",
        "/v1/customers/{customer_id}/identifiers/confirm",
        confirm_identifiers,
        "partner",
        "Attach the identifiers an enrolment left pending (202), with the code the customer received",
        body=ConfirmIdentifiers,
        response=IdentifiersConfirmed,
        idempotent_post=True,
        errors=(400, 401, 403, 404, 409, 413, 415, 422, 429),
    ),
)
