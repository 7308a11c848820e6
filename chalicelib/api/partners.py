"""Partners: a partner's own settings and the coalition's directory; the operator's partners and their API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import AUTH_ERRORS, BODY_ERRORS, WRITE_ERRORS, pepper
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    CreatePartner,
    Directory,
    KeyCreated,
    PartnerCreated,
    PartnerList,
    PartnerOut,
    UpdatePartner,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import partners
else:
    partners = lazy_module("chalicelib.services.partners")

api = RouteTable()


@api.route("GET", "/v1/partner", "partner", "Your own settings", response=PartnerOut, errors=AUTH_ERRORS)
def own_partner(call: Call[None, None]) -> PartnerOut:
    return partners.to_out(partners.load(call.partner_id))


@api.route("GET", "/v1/partners", "partner", "Active partners of the coalition", response=Directory, errors=AUTH_ERRORS)
def partner_directory(call: Call[None, None]) -> Directory:
    call.partner_id  # noqa: B018 - partners only
    return partners.directory()


# --- the operator ---------------------------------------------------------------------------------------------------

operator = RouteTable(tag="operator")


@operator.route(
    "POST",
    "/v1/admin/partners",
    "operator",
    "Create a partner, its first API key (shown once) and, with `owner`, its first owner (signs in with a code)",
    body=CreatePartner,
    response=PartnerCreated,
    status=201,
    idempotent_post=True,
    errors=WRITE_ERRORS,
)
def admin_create_partner(call: Call[CreatePartner, None]) -> Reply:
    assert call.principal is not None
    return partners.create(call.writing, call.body, pepper(), call.principal.actor)


@operator.route("GET", "/v1/admin/partners", "operator", "Every partner", response=PartnerList, errors=AUTH_ERRORS)
def admin_list_partners(call: Call[None, None]) -> PartnerList:
    return partners.list_partners()


@operator.route(
    "GET", "/v1/admin/partners/{partner_id}", "operator", "One partner", response=PartnerOut, errors=(*AUTH_ERRORS, 404)
)
def admin_get_partner(call: Call[None, None]) -> PartnerOut:
    return partners.to_out(partners.load(call.params["partner_id"]))


@operator.route(
    "PATCH",
    "/v1/admin/partners/{partner_id}",
    "operator",
    "Change rates, spend_confirmation (always, above N points, never), or suspend / reactivate a partner",
    body=UpdatePartner,
    response=PartnerOut,
    errors=BODY_ERRORS,
)
def admin_update_partner(call: Call[UpdatePartner, None]) -> PartnerOut:
    return partners.update(call.params["partner_id"], call.body, call.now.isoformat(), call.stamp)


@operator.route(
    "POST",
    "/v1/admin/partners/{partner_id}/keys",
    "operator",
    "Issue another API key for a partner (rotation)",
    response=KeyCreated,
    status=201,
    idempotent_post=True,
    errors=(400, 401, 403, 404, 409),
)
def admin_create_key(call: Call[None, None]) -> Reply:
    return partners.create_key(call.writing, call.params["partner_id"], pepper())


@operator.route(
    "DELETE",
    "/v1/admin/partners/{partner_id}/keys/{key_id}",
    "operator",
    "Revoke an API key at once",
    status=204,
    errors=(*AUTH_ERRORS, 404),
)
def admin_revoke_key(call: Call[None, None]) -> None:
    partners.revoke_key(call.params["partner_id"], call.params["key_id"], call.now.isoformat(), call.stamp)
