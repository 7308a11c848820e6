"""The JSON API's route table (the HTML pages have theirs in chalicelib/web/routes.py; chalicelib/routes.py joins
them into the one list that app.py wires and openapi.py documents)."""

from __future__ import annotations

from typing import Any

from chalicelib import runtime

# The portal and settlement modules are imported by their handlers: a cold start pays only for what it serves.
from chalicelib.errors import Forbidden, NotFound
from chalicelib.http import Call, Route
from chalicelib.schemas import (
    AccrualOut,
    AdjustmentOut,
    Balance,
    BonusOut,
    CampaignList,
    CampaignOut,
    CampaignReport,
    CaptureRedemption,
    CreateAccrual,
    CreateAdjustment,
    CreateBonus,
    CreateCampaign,
    CreatePartner,
    CreateRedemption,
    CreateRefund,
    CustomerEnrolled,
    CustomerLookupQuery,
    CustomerRef,
    Directory,
    EnrollCustomer,
    Health,
    KeyCreated,
    MeOut,
    MeQuery,
    OperatorSettlement,
    PartnerCreated,
    PartnerList,
    PartnerOut,
    ProgramSettings,
    QuoteOut,
    QuoteRequest,
    Reconciliation,
    RedemptionOut,
    RefundOut,
    SettlementOut,
    SettlementQuery,
    TransactionsPage,
    TransactionsQuery,
    UpdatePartner,
    UpdateProgram,
)
from chalicelib.services import (
    accruals,
    auth,
    bonuses,
    campaigns,
    customer_auth,
    customers,
    partners,
    program,
    redemptions,
    refunds,
)
from chalicelib.services import portal_links as portal


def _pepper() -> str:
    return runtime.get().settings.key_pepper


def _w(call: Call) -> Any:
    assert call.write is not None
    return call.write


# --- handlers: each one line of translation between Call and a service ------------------------------------------


def health(call: Call) -> Health:
    return Health(status="ok", time=call.now.isoformat())


def enroll_customer(call: Call) -> Any:
    return customers.enroll(_w(call), call.body, call.partner_id)


def lookup_customer(call: Call) -> Any:
    return customers.lookup(call.query)


def customer_balance(call: Call) -> Any:
    return customers.balance(call.params["customer_id"], call.now)


def customer_transactions(call: Call) -> Any:
    return customers.transactions(call.params["customer_id"], call.query, call.partner_id)


def create_accrual(call: Call) -> Any:
    return accruals.accrue(_w(call), call.body, call.partner_id, call.now)


def quote_redemption(call: Call) -> Any:
    return redemptions.quote(call.body, call.partner_id, call.now)


def create_redemption(call: Call) -> Any:
    return redemptions.redeem(_w(call), call.body, call.partner_id, call.now)


def capture_redemption(call: Call) -> Any:
    return redemptions.capture(_w(call), call.params["redemption_id"], call.body, call.partner_id, call.now)


def void_redemption(call: Call) -> Any:
    return redemptions.void(_w(call), call.params["redemption_id"], call.partner_id, call.now)


def create_bonus(call: Call) -> Any:
    return bonuses.bonus(_w(call), call.body, call.partner_id, call.now)


def admin_customer_transactions(call: Call) -> Any:
    return customers.transactions(call.params["customer_id"], call.query, None)


def admin_create_adjustment(call: Call) -> Any:
    return bonuses.adjust(_w(call), call.body, call.now)


def create_refund(call: Call) -> Any:
    return refunds.refund(_w(call), call.body, call.partner_id, call.now)


def create_campaign(call: Call) -> Any:
    return campaigns.create(_w(call), call.body, call.partner_id, call.now)


def list_campaigns(call: Call) -> Any:
    return campaigns.list_for(call.partner_id, call.now)


def get_campaign(call: Call) -> Any:
    return campaigns.get(call.params["campaign_id"], call.partner_or_operator, call.now)


def accept_campaign(call: Call) -> Any:
    return campaigns.accept(_w(call), call.params["campaign_id"], call.partner_id, call.now)


def activate_campaign(call: Call) -> Any:
    return campaigns.activate(_w(call), call.params["campaign_id"], call.partner_id, call.now)


def pause_campaign(call: Call) -> Any:
    return campaigns.pause(_w(call), call.params["campaign_id"], call.partner_or_operator, call.now)


def end_campaign(call: Call) -> Any:
    return campaigns.end(_w(call), call.params["campaign_id"], call.partner_or_operator, call.now)


def campaign_report(call: Call) -> Any:
    return campaigns.report(call.params["campaign_id"], call.partner_id, call.now)


def _csv(text: str, filename: str) -> Any:
    from chalice.app import Response

    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def partner_settlement(call: Call) -> Any:
    from chalicelib.services import settlement

    if call.query.partner_id not in (None, call.partner_id):
        raise Forbidden("A partner reads only its own settlement.")
    report = settlement.partner_settlement(call.partner_id, call.params["period"], call.now)
    if call.query.format == "csv":
        return _csv(settlement.partner_csv(report), f"settlement-{report.partner_id}-{report.period}.csv")
    return report


def admin_settlement(call: Call) -> Any:
    from chalicelib.services import settlement

    report = settlement.operator_report(call.params["period"], call.now)
    if call.query.format == "csv":
        return _csv(settlement.operator_csv(report), f"settlement-{report.period}.csv")
    return report


def admin_close_settlement(call: Call) -> Any:
    from chalicelib.services import settlement

    return settlement.close(call.params["period"], call.now)


def admin_reconcile_settlement(call: Call) -> Any:
    from chalicelib.services import settlement

    return settlement.reconcile(call.params["period"])


def me(call: Call) -> Any:
    access = customer_auth.verify_link(auth.bearer_token(call.header("authorization")), call.now)
    return portal.me(access, call.now, call.query.cursor)


def own_partner(call: Call) -> Any:
    return partners.to_out(partners.get(call.partner_id))


def partner_directory(call: Call) -> Any:
    call.partner_id  # noqa: B018 - partners only
    return partners.directory()


def admin_create_partner(call: Call) -> Any:
    return partners.create(_w(call), call.body, _pepper())


def admin_list_partners(call: Call) -> Any:
    return partners.list_partners()


def admin_get_partner(call: Call) -> Any:
    return partners.to_out(partners.get(call.params["partner_id"]))


def admin_update_partner(call: Call) -> Any:
    return partners.update(call.params["partner_id"], call.body, call.now.isoformat())


def admin_create_key(call: Call) -> Any:
    return partners.create_key(_w(call), call.params["partner_id"], _pepper())


def admin_revoke_key(call: Call) -> Any:
    partners.revoke_key(call.params["partner_id"], call.params["key_id"], call.now.isoformat())


def admin_get_program(call: Call) -> Any:
    return program.load().to_schema()


def admin_put_program(call: Call) -> Any:
    return program.update(call.body, call.now.isoformat()).to_schema()


def not_found(call: Call) -> Any:
    raise NotFound("No such route.")


_AUTH = (401, 403)
_WRITE = (400, 401, 403, 409, 413, 415, 422)

ROUTES: tuple[Route, ...] = (
    Route("health", "GET", "/health", health, "public", "Liveness check", response=Health, tag="public"),
    # customers
    Route(
        "enroll_customer",
        "POST",
        "/v1/customers",
        enroll_customer,
        "partner",
        "Enrol a customer by phone, card and/or e-mail (200 if already known; 202 if a new identifier of a known "
        "customer waits for the customer's code, see /v1/customers/{customer_id}/identifiers/confirm)",
        body=EnrollCustomer,
        response=CustomerEnrolled,
        status=201,
        also=(200, 202),
        idempotent_post=True,
        errors=(*_WRITE, 429, 503),
    ),
    Route(
        "lookup_customer",
        "GET",
        "/v1/customers/lookup",
        lookup_customer,
        "partner",
        "Find a customer by phone or card",
        query=CustomerLookupQuery,
        response=CustomerRef,
        errors=(*_AUTH, 404, 422),
    ),
    Route(
        "customer_balance",
        "GET",
        "/v1/customers/{customer_id}/balance",
        customer_balance,
        "partner",
        "Balance, expiring points and tier (one read)",
        response=Balance,
        errors=(*_AUTH, 404),
    ),
    Route(
        "customer_transactions",
        "GET",
        "/v1/customers/{customer_id}/transactions",
        customer_transactions,
        "partner",
        "The customer's entries made at the calling partner, newest first",
        query=TransactionsQuery,
        response=TransactionsPage,
        errors=(*_AUTH, 404, 422),
    ),
    Route(
        "me",
        "GET",
        "/v1/me",
        me,
        "public",
        "The customer page's data as JSON (Bearer <portal token>)",
        query=MeQuery,
        response=MeOut,
        tag="portal",
        errors=(401, 422),
    ),
    # ledger
    Route(
        "create_accrual",
        "POST",
        "/v1/accruals",
        create_accrual,
        "partner",
        "Earn points for a purchase",
        body=CreateAccrual,
        response=AccrualOut,
        status=201,
        idempotent_post=True,
        errors=(*_WRITE, 404),
    ),
    Route(
        "quote_redemption",
        "POST",
        "/v1/redemptions/quote",
        quote_redemption,
        "partner",
        "How many points may pay for an order",
        body=QuoteRequest,
        response=QuoteOut,
        errors=(400, 401, 403, 404, 413, 415, 422),
    ),
    Route(
        "create_redemption",
        "POST",
        "/v1/redemptions",
        create_redemption,
        "partner",
        "Spend points on an order (capture: false holds them). Where the partner's spend_confirmation asks for it, "
        "customer_code carries the customer's one-time code: missing, 403 customer_confirmation_required; wrong, "
        "403 customer_code_invalid (attempts_left); after five wrong tries, 429 customer_code_locked",
        body=CreateRedemption,
        response=RedemptionOut,
        status=201,
        idempotent_post=True,
        errors=(*_WRITE, 404, 429),
    ),
    Route(
        "capture_redemption",
        "POST",
        "/v1/redemptions/{redemption_id}/capture",
        capture_redemption,
        "partner",
        "Capture a hold, all of it or part (the rest is released)",
        body=CaptureRedemption,
        response=RedemptionOut,
        idempotent_post=True,
        errors=(*_WRITE, 404),
    ),
    Route(
        "void_redemption",
        "POST",
        "/v1/redemptions/{redemption_id}/void",
        void_redemption,
        "partner",
        "Release a hold",
        response=RedemptionOut,
        idempotent_post=True,
        errors=(400, 401, 403, 404, 409),
    ),
    Route(
        "create_bonus",
        "POST",
        "/v1/bonuses",
        create_bonus,
        "partner",
        "Points for an action (review, survey...), capped per customer, reason and day",
        body=CreateBonus,
        response=BonusOut,
        status=201,
        idempotent_post=True,
        errors=(*_WRITE, 404),
    ),
    Route(
        "create_refund",
        "POST",
        "/v1/refunds",
        create_refund,
        "partner",
        "Refund (part of) an order: reverse earned points, return spent points, pro rata",
        body=CreateRefund,
        response=RefundOut,
        status=201,
        idempotent_post=True,
        errors=(*_WRITE, 404),
    ),
    # partner self-service
    Route(
        "own_partner",
        "GET",
        "/v1/partner",
        own_partner,
        "partner",
        "Your own settings",
        response=PartnerOut,
        errors=_AUTH,
    ),
    Route(
        "partner_directory",
        "GET",
        "/v1/partners",
        partner_directory,
        "partner",
        "Active partners of the coalition",
        response=Directory,
        errors=_AUTH,
    ),
    # campaigns
    Route(
        "create_campaign",
        "POST",
        "/v1/campaigns",
        create_campaign,
        "partner",
        "Create a cross-promo campaign; you are its sponsor and fund every point",
        body=CreateCampaign,
        response=CampaignOut,
        status=201,
        idempotent_post=True,
        tag="campaigns",
        errors=(*_WRITE, 404),
    ),
    Route(
        "list_campaigns",
        "GET",
        "/v1/campaigns",
        list_campaigns,
        "partner",
        "Campaigns you sponsor or are named in",
        response=CampaignList,
        tag="campaigns",
        errors=_AUTH,
    ),
    Route(
        "get_campaign",
        "GET",
        "/v1/campaigns/{campaign_id}",
        get_campaign,
        "partner_or_operator",
        "One campaign (the operator sees every campaign)",
        response=CampaignOut,
        tag="campaigns",
        errors=(*_AUTH, 404),
    ),
    Route(
        "accept_campaign",
        "POST",
        "/v1/campaigns/{campaign_id}/accept",
        accept_campaign,
        "partner",
        "Accept a campaign that names you",
        response=CampaignOut,
        idempotent_post=True,
        tag="campaigns",
        errors=(*_AUTH, 404, 409),
    ),
    Route(
        "activate_campaign",
        "POST",
        "/v1/campaigns/{campaign_id}/activate",
        activate_campaign,
        "partner",
        "Start (or resume) awarding; every named partner must have accepted",
        response=CampaignOut,
        idempotent_post=True,
        tag="campaigns",
        errors=(*_AUTH, 404, 409),
    ),
    Route(
        "pause_campaign",
        "POST",
        "/v1/campaigns/{campaign_id}/pause",
        pause_campaign,
        "partner_or_operator",
        "Stop awarding for now (the sponsor, or the operator for any campaign)",
        response=CampaignOut,
        idempotent_post=True,
        tag="campaigns",
        errors=(*_AUTH, 404, 409),
    ),
    Route(
        "end_campaign",
        "POST",
        "/v1/campaigns/{campaign_id}/end",
        end_campaign,
        "partner_or_operator",
        "End for good (the sponsor, or the operator for any campaign)",
        response=CampaignOut,
        idempotent_post=True,
        tag="campaigns",
        errors=(*_AUTH, 404, 409),
    ),
    Route(
        "campaign_report",
        "GET",
        "/v1/campaigns/{campaign_id}/report",
        campaign_report,
        "partner",
        "Awards, customers, budget, cost, revenue and their ratio, by day",
        response=CampaignReport,
        tag="campaigns",
        errors=(*_AUTH, 404),
    ),
    # settlements
    Route(
        "partner_settlement",
        "GET",
        "/v1/settlements/{period}",
        partner_settlement,
        "partner",
        "Your settlement for a month (YYYY-MM); ?format=csv for accountants",
        query=SettlementQuery,
        response=SettlementOut,
        tag="settlements",
        errors=(*_AUTH, 404, 422),
    ),
    # operator
    Route(
        "admin_create_partner",
        "POST",
        "/v1/admin/partners",
        admin_create_partner,
        "operator",
        "Create a partner and its first API key (shown once)",
        body=CreatePartner,
        response=PartnerCreated,
        status=201,
        idempotent_post=True,
        tag="operator",
        errors=_WRITE,
    ),
    Route(
        "admin_list_partners",
        "GET",
        "/v1/admin/partners",
        admin_list_partners,
        "operator",
        "Every partner",
        response=PartnerList,
        tag="operator",
        errors=_AUTH,
    ),
    Route(
        "admin_get_partner",
        "GET",
        "/v1/admin/partners/{partner_id}",
        admin_get_partner,
        "operator",
        "One partner",
        response=PartnerOut,
        tag="operator",
        errors=(*_AUTH, 404),
    ),
    Route(
        "admin_update_partner",
        "PATCH",
        "/v1/admin/partners/{partner_id}",
        admin_update_partner,
        "operator",
        "Change rates, spend_confirmation (always, above N points, never), or suspend / reactivate a partner",
        body=UpdatePartner,
        response=PartnerOut,
        tag="operator",
        errors=(400, 401, 403, 404, 413, 415, 422),
    ),
    Route(
        "admin_create_key",
        "POST",
        "/v1/admin/partners/{partner_id}/keys",
        admin_create_key,
        "operator",
        "Issue another API key for a partner (rotation)",
        response=KeyCreated,
        status=201,
        idempotent_post=True,
        tag="operator",
        errors=(400, 401, 403, 404, 409),
    ),
    Route(
        "admin_revoke_key",
        "DELETE",
        "/v1/admin/partners/{partner_id}/keys/{key_id}",
        admin_revoke_key,
        "operator",
        "Revoke an API key at once",
        status=204,
        tag="operator",
        errors=(*_AUTH, 404),
    ),
    Route(
        "admin_customer_transactions",
        "GET",
        "/v1/admin/customers/{customer_id}/transactions",
        admin_customer_transactions,
        "operator",
        "Every entry of a customer, at every partner, newest first",
        query=TransactionsQuery,
        response=TransactionsPage,
        tag="operator",
        errors=(*_AUTH, 404, 422),
    ),
    Route(
        "admin_create_adjustment",
        "POST",
        "/v1/admin/adjustments",
        admin_create_adjustment,
        "operator",
        "Credit or debit a customer with a reason",
        body=CreateAdjustment,
        response=AdjustmentOut,
        status=201,
        idempotent_post=True,
        tag="operator",
        errors=(*_WRITE, 404),
    ),
    Route(
        "admin_settlement",
        "GET",
        "/v1/admin/settlements/{period}",
        admin_settlement,
        "operator",
        "Every partner, totals, the issuer x acceptor matrix and the reconciliation identity; ?format=csv",
        query=SettlementQuery,
        response=OperatorSettlement,
        tag="operator",
        errors=(*_AUTH, 422),
    ),
    Route(
        "admin_close_settlement",
        "POST",
        "/v1/admin/settlements/{period}/close",
        admin_close_settlement,
        "operator",
        "Freeze an ended month: every later read returns this snapshot",
        response=OperatorSettlement,
        tag="operator",
        errors=(*_AUTH, 409, 422),
    ),
    Route(
        "admin_reconcile_settlement",
        "GET",
        "/v1/admin/settlements/{period}/reconciliation",
        admin_reconcile_settlement,
        "operator",
        "Recompute the month from the ledger entries and compare",
        response=Reconciliation,
        tag="operator",
        errors=(*_AUTH, 422),
    ),
    Route(
        "admin_get_program",
        "GET",
        "/v1/admin/program",
        admin_get_program,
        "operator",
        "Program settings",
        response=ProgramSettings,
        tag="operator",
        errors=_AUTH,
    ),
    Route(
        "admin_put_program",
        "PUT",
        "/v1/admin/program",
        admin_put_program,
        "operator",
        "Change program settings (any subset)",
        body=UpdateProgram,
        response=ProgramSettings,
        tag="operator",
        errors=(400, 401, 403, 413, 415, 422),
    ),
)
