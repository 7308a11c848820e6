"""A partner's CRM connection (Bitrix24, amoCRM): connect, see, disconnect, and the portal's outgoing webhook.

The connection's two secrets (the inbound webhook URL, whose path carries the portal's token, and the outgoing
webhook's ``application_token``) are taken, stored, and never shown again. ``POST
/v1/integrations/bitrix24/events/{partner_id}`` is called by Bitrix24, not by a partner: it carries no API key, and is
answered only when its ``application_token`` is the connected one (compared in constant time, first)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from chalicelib.api.common import AUTH_ERRORS, WRITE_ERRORS
from chalicelib.db import amo as amo_db
from chalicelib.db import crm as crm_db
from chalicelib.errors import BadRequest, NotFound
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import AmoCrmConnection, Bitrix24Ack, Bitrix24Connection, ConnectAmoCrm, ConnectBitrix24

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import amo_sync, crm_sync
else:
    amo_sync = lazy_module("chalicelib.services.amo_sync")
    crm_sync = lazy_module("chalicelib.services.crm_sync")

api = RouteTable(tag="integrations")

MAX_FORM_BYTES = 16 * 1024  # Bitrix24's deal event is a few hundred bytes


@api.route(
    "PUT",
    "/v1/integrations/bitrix24",
    "partner",
    "Connect your Bitrix24 portal (its inbound webhook URL and the outgoing webhook's application_token)",
    body=ConnectBitrix24,
    response=Bitrix24Connection,
    errors=WRITE_ERRORS,
)
def connect_bitrix24(call: Call[ConnectBitrix24, None]) -> Bitrix24Connection:
    body = call.body
    crm_sync.connect(call.partner_id, body.webhook_url, body.application_token, body.won_stage, call.now, body.language)
    conn = crm_db.get(call.partner_id)
    assert conn is not None
    return crm_sync.connection_out(conn)


@api.route(
    "GET",
    "/v1/integrations/bitrix24",
    "partner",
    "Your Bitrix24 connection (its secrets are never shown)",
    response=Bitrix24Connection,
    errors=(*AUTH_ERRORS, 404),
)
def get_bitrix24(call: Call[None, None]) -> Bitrix24Connection:
    conn = crm_db.get(call.partner_id)
    if conn is None:
        raise NotFound("Bitrix24 is not connected.")
    return crm_sync.connection_out(conn)


@api.route("DELETE", "/v1/integrations/bitrix24", "partner", "Disconnect Bitrix24", status=204, errors=AUTH_ERRORS)
def disconnect_bitrix24(call: Call[None, None]) -> None:
    crm_db.disconnect(call.partner_id)


@api.route(
    "POST",
    "/v1/integrations/bitrix24/events/{partner_id}",
    "public",
    "Bitrix24's outgoing webhook (ONCRMDEALUPDATE, form data): a won deal earns, a lost one is refunded",
    response=Bitrix24Ack,
    errors=(400, 401, 413),
)
def bitrix24_event(call: Call[None, None]) -> Bitrix24Ack:
    raw = call.raw_body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) > MAX_FORM_BYTES:
        raise BadRequest("The event is too large.")
    form = dict(parse_qsl(text, keep_blank_values=True))
    return Bitrix24Ack(outcome=crm_sync.deal_event(call.params["partner_id"], form, call.now))


# ---- amoCRM ----


@api.route(
    "PUT",
    "/v1/integrations/amocrm",
    "partner",
    "Connect your amoCRM account (an integration's keys and an authorization code or a refresh token)",
    body=ConnectAmoCrm,
    response=AmoCrmConnection,
    errors=(*WRITE_ERRORS, 503),
    idempotent_post=True,  # the code is usable once: a retry is answered from the request's record
)
def connect_amocrm(call: Call[ConnectAmoCrm, None]) -> Reply:
    body = call.body
    if (body.code is None) == (body.refresh_token is None):
        raise BadRequest("Give either code or refresh_token.")
    grant = ("authorization_code", body.code) if body.code is not None else ("refresh_token", body.refresh_token or "")
    client = (body.client_id, body.client_secret, body.redirect_uri)
    fields = {str(k): v for k, v in body.fields.items()}
    # the webhook URL's secret is shown here, once (and to a replay of this request)
    return amo_sync.connect(
        call.writing, call.partner_id, body.subdomain, client, grant, fields, call.now, body.language
    )


@api.route(
    "GET",
    "/v1/integrations/amocrm",
    "partner",
    "Your amoCRM connection (its secrets are never shown)",
    response=AmoCrmConnection,
    errors=(*AUTH_ERRORS, 404),
)
def get_amocrm(call: Call[None, None]) -> AmoCrmConnection:
    conn = amo_db.get(call.partner_id)
    if conn is None:
        raise NotFound("amoCRM is not connected.")
    return amo_sync.connection_out(conn)


@api.route("DELETE", "/v1/integrations/amocrm", "partner", "Disconnect amoCRM", status=204, errors=AUTH_ERRORS)
def disconnect_amocrm(call: Call[None, None]) -> None:
    amo_db.disconnect(call.partner_id)


@api.route(
    "POST",
    "/v1/integrations/amocrm/events/{partner_id}/{secret}",
    "public",
    "amoCRM's webhook (lead status changed, form data): a realised lead earns, a lost one is refunded",
    response=Bitrix24Ack,
    errors=(400, 401, 413, 503),
)
def amocrm_event(call: Call[None, None]) -> Bitrix24Ack:
    raw = call.raw_body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) > MAX_FORM_BYTES:
        raise BadRequest("The event is too large.")
    form = dict(parse_qsl(text, keep_blank_values=True))
    outcome = amo_sync.lead_event(call.params["partner_id"], call.params["secret"], form, call.now)
    return Bitrix24Ack(outcome=outcome)
