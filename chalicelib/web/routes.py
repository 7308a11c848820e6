"""The HTML pages' route table. Handlers import their page modules when called, so the JSON API never loads
Jinja2 (tests/test_web.py checks it)."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, Route
from chalicelib.web.queries import MePageQuery, PortalQuery


def _me(view: str) -> Any:
    def handler(call: Call) -> Any:
        from chalicelib.web import customer_http

        return customer_http.handle(call, view)

    handler.__name__ = f"me_{view}"
    return handler


def _me_self(view: str) -> Any:
    def handler(call: Call) -> Any:
        from chalicelib.web import customer_self

        return customer_self.handle(call, view)

    handler.__name__ = f"me_{view}"
    return handler


def _portal(view: str) -> Any:
    def handler(call: Call) -> Any:
        from chalicelib.web import portal_http

        return portal_http.handle(call, view)

    handler.__name__ = f"portal_{view}"
    return handler


ROUTES: tuple[Route, ...] = (
    Route(
        "me_page",
        "GET",
        "/me",
        _me("page"),
        "public",
        "The customer's balance page (HTML): signed in, or from a link (?token=)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_sign_in_form",
        "GET",
        "/me/sign-in",
        _me("sign_in_form"),
        "public",
        "Customer sign-in: phone or e-mail",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_send_code",
        "POST",
        "/me/sign-in",
        _me("send_code"),
        "public",
        "Customer sign-in: send a one-time code (form)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_check_code",
        "POST",
        "/me/sign-in/code",
        _me("check_code"),
        "public",
        "Customer sign-in: the code opens a session (form)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_spend_code",
        "POST",
        "/me/spend-code",
        _me("spend_code"),
        "public",
        "A one-time code and its QR to pay with points at any till (form)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_sign_out",
        "POST",
        "/me/sign-out",
        _me("sign_out"),
        "public",
        "End this session (form)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_sign_out_everywhere",
        "POST",
        "/me/sign-out-everywhere",
        _me("sign_out_everywhere"),
        "public",
        "End every session and every link (form)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_settings",
        "POST",
        "/me/settings",
        _me_self("settings"),
        "public",
        "The customer's marketing consent, language and channel (form)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_data_json",
        "GET",
        "/me/data.json",
        _me_self("data_json"),
        "public",
        "Download my data: profile, balance, every entry (JSON)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_data_csv",
        "GET",
        "/me/data.csv",
        _me_self("data_csv"),
        "public",
        "Download my data (CSV)",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_delete_form",
        "GET",
        "/me/delete",
        _me_self("delete_form"),
        "public",
        "Delete my account: what happens to the points, before confirming",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "me_delete",
        "POST",
        "/me/delete",
        _me_self("delete"),
        "public",
        "Delete my account (form): personal data erased, the ledger keeps pseudonymous entries",
        query=MePageQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_dashboard",
        "GET",
        "/portal",
        _portal("dashboard"),
        "public",
        "Partner portal: campaigns, inbox (sign-in page when signed out)",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_login",
        "POST",
        "/portal/login",
        _portal("login"),
        "public",
        "Partner portal: sign in with an API key (form)",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_logout",
        "POST",
        "/portal/logout",
        _portal("logout"),
        "public",
        "Partner portal: sign out",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_new_campaign",
        "GET",
        "/portal/campaigns/new",
        _portal("new"),
        "public",
        "Partner portal: new campaign form",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_preview_campaign",
        "POST",
        "/portal/campaigns/preview",
        _portal("preview"),
        "public",
        "Partner portal: plain-language preview",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_edit_campaign",
        "POST",
        "/portal/campaigns/edit",
        _portal("edit"),
        "public",
        "Partner portal: back to the form",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_create_campaign",
        "POST",
        "/portal/campaigns",
        _portal("create"),
        "public",
        "Partner portal: create the campaign",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_campaign",
        "GET",
        "/portal/campaigns/{campaign_id}",
        _portal("campaign"),
        "public",
        "Partner portal: a campaign and its report",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_campaign_action",
        "POST",
        "/portal/campaigns/{campaign_id}/{action}",
        _portal("act"),
        "public",
        "Partner portal: accept, activate, pause, end",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_settlements",
        "GET",
        "/portal/settlements",
        _portal("settlements"),
        "public",
        "Partner portal: settlements by month",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
    Route(
        "portal_settlement_csv",
        "GET",
        "/portal/settlements/{period}/csv",
        _portal("csv"),
        "public",
        "Partner portal: settlement CSV",
        query=PortalQuery,
        tag="portal",
        content="text/html",
    ),
)
