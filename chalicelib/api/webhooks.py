"""Partners' webhooks: endpoints that receive the partner's own events, signed (docs/integrations.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import AUTH_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    CreateWebhook,
    DeliveryList,
    DeliveryQuery,
    ResendOut,
    RotateWebhookSecret,
    WebhookCreated,
    WebhookList,
    WebhookSecretRotated,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import webhooks
else:
    webhooks = lazy_module("chalicelib.services.webhooks")

api = RouteTable(tag="webhooks")


@api.route(
    "POST",
    "/v1/webhooks",
    "partner",
    "Register an endpoint for your events; the secret that signs its deliveries is shown once",
    body=CreateWebhook,
    response=WebhookCreated,
    status=201,
    idempotent_post=True,
    errors=WRITE_ERRORS,
)
def create_webhook(call: Call[CreateWebhook, None]) -> Reply:
    return webhooks.create(call.writing, call.body, call.partner_id, call.now)


@api.route("GET", "/v1/webhooks", "partner", "Your webhook endpoints", response=WebhookList, errors=AUTH_ERRORS)
def list_webhooks(call: Call[None, None]) -> WebhookList:
    return webhooks.listing(call.partner_id, call.now)


@api.route(
    "DELETE", "/v1/webhooks/{webhook_id}", "partner", "Remove an endpoint", status=204, errors=(*AUTH_ERRORS, 404)
)
def delete_webhook(call: Call[None, None]) -> None:
    webhooks.remove(call.partner_id, call.params["webhook_id"], call.now)


@api.route(
    "POST",
    "/v1/webhooks/{webhook_id}/rotate-secret",
    "partner",
    "A new signing secret (shown once); the previous one keeps signing deliveries until overlap_hours have passed",
    body=RotateWebhookSecret,
    response=WebhookSecretRotated,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def rotate_webhook_secret(call: Call[RotateWebhookSecret, None]) -> Reply:
    return webhooks.rotate(call.writing, call.partner_id, call.params["webhook_id"], call.body, call.now)


@api.route(
    "GET",
    "/v1/webhooks/{webhook_id}/deliveries",
    "partner",
    "The endpoint's deliveries, newest first: status, response code, latency",
    query=DeliveryQuery,
    response=DeliveryList,
    errors=(*AUTH_ERRORS, 404, 422),
)
def list_deliveries(call: Call[None, DeliveryQuery]) -> DeliveryList:
    return webhooks.deliveries(call.partner_id, call.params["webhook_id"], call.query.limit)


@api.route(
    "POST",
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
    "partner",
    "Send a delivery again at the dispatcher's next pass (409 while the endpoint is switched off)",
    response=ResendOut,
    status=202,
    errors=(*AUTH_ERRORS, 404, 409),
)
def resend_delivery(call: Call[None, None]) -> ResendOut:
    return webhooks.resend(call.partner_id, call.params["webhook_id"], call.params["delivery_id"], call.now)
