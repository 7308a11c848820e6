"""Cross-promo campaigns: a sponsor creates one, the partners it names accept, the sponsor runs and reads it; the
operator may look at, pause and end any campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import AUTH_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import CampaignList, CampaignOut, CampaignReport, CreateCampaign

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import campaigns
else:
    campaigns = lazy_module("chalicelib.services.campaigns")

api = RouteTable(tag="campaigns")
_STATE = (*AUTH_ERRORS, 404, 409)


@api.route(
    "POST",
    "/v1/campaigns",
    "partner",
    "Create a cross-promo campaign; you are its sponsor and fund every point",
    body=CreateCampaign,
    response=CampaignOut,
    status=201,
    idempotent_post=True,
    errors=(*WRITE_ERRORS, 404),
)
def create_campaign(call: Call[CreateCampaign, None]) -> Reply:
    return campaigns.create(call.writing, call.body, call.partner_id, call.now)


@api.route(
    "GET",
    "/v1/campaigns",
    "partner",
    "Campaigns you sponsor or are named in",
    response=CampaignList,
    errors=AUTH_ERRORS,
)
def list_campaigns(call: Call[None, None]) -> CampaignList:
    return campaigns.list_for(call.partner_id, call.now)


@api.route(
    "GET",
    "/v1/campaigns/{campaign_id}",
    "partner_or_operator",
    "One campaign (the operator sees every campaign)",
    response=CampaignOut,
    errors=(*AUTH_ERRORS, 404),
)
def get_campaign(call: Call[None, None]) -> CampaignOut:
    return campaigns.get_visible(call.params["campaign_id"], call.partner_or_operator, call.now)


@api.route(
    "POST",
    "/v1/campaigns/{campaign_id}/accept",
    "partner",
    "Accept a campaign that names you",
    response=CampaignOut,
    idempotent_post=True,
    errors=_STATE,
)
def accept_campaign(call: Call[None, None]) -> Reply:
    return campaigns.accept(call.writing, call.params["campaign_id"], call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/campaigns/{campaign_id}/decline",
    "partner",
    "Decline a campaign that names you (before it first runs); the sponsor cannot activate it then",
    response=CampaignOut,
    idempotent_post=True,
    errors=_STATE,
)
def decline_campaign(call: Call[None, None]) -> Reply:
    return campaigns.decline(call.writing, call.params["campaign_id"], call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/campaigns/{campaign_id}/activate",
    "partner",
    "Start (or resume) awarding; every named partner must have accepted",
    response=CampaignOut,
    idempotent_post=True,
    errors=_STATE,
)
def activate_campaign(call: Call[None, None]) -> Reply:
    return campaigns.activate(call.writing, call.params["campaign_id"], call.partner_id, call.now)


@api.route(
    "POST",
    "/v1/campaigns/{campaign_id}/pause",
    "partner_or_operator",
    "Stop awarding for now (the sponsor, or the operator for any campaign)",
    response=CampaignOut,
    idempotent_post=True,
    errors=_STATE,
)
def pause_campaign(call: Call[None, None]) -> Reply:
    return campaigns.pause(call.writing, call.params["campaign_id"], call.partner_or_operator, call.now)


@api.route(
    "POST",
    "/v1/campaigns/{campaign_id}/end",
    "partner_or_operator",
    "End for good (the sponsor, or the operator for any campaign)",
    response=CampaignOut,
    idempotent_post=True,
    errors=_STATE,
)
def end_campaign(call: Call[None, None]) -> Reply:
    return campaigns.end(call.writing, call.params["campaign_id"], call.partner_or_operator, call.now)


@api.route(
    "GET",
    "/v1/campaigns/{campaign_id}/report",
    "partner",
    "Awards, customers, budget, cost, revenue and their ratio, by day",
    response=CampaignReport,
    errors=(*AUTH_ERRORS, 404),
)
def campaign_report(call: Call[None, None]) -> CampaignReport:
    return campaigns.report(call.params["campaign_id"], call.partner_id, call.now)
