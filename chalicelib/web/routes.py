"""The HTML pages' route table. Handlers import their page modules when called, so the JSON API never loads
Jinja2 (tests/test_web.py checks it).

The portal's pages (auth ``session``) are served by one router, ``portal_http.handle(call, view)``: it reads the
session cookie and, on forms, the CSRF field, and shows a signed-out browser the sign-in page (a form posted
without a session: a 303 to it). The authorization matrix test walks every one of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.http import Auth, Call, RouteOptions, RouteTable
from chalicelib.web.queries import MePageQuery, PortalForm, PortalQuery, SignInForm

pages = RouteTable(tag="portal")
PortalHandler = Callable[[Call[None, PortalQuery]], Any]  # a page, a redirect or a CSV: chalice Responses


@pages.route(
    "GET",
    "/me",
    "public",
    "The customer's balance page (HTML, from a portal link)",
    query=MePageQuery,
    content="text/html",
)
def me_page(call: Call[None, MePageQuery]) -> Any:
    from chalicelib.web import customer_page

    return customer_page.handle(call)


def _portal(view: str) -> PortalHandler:
    def handler(call: Call[None, PortalQuery]) -> Any:
        from chalicelib.web import portal_http

        return portal_http.handle(call, view)

    handler.__name__ = f"portal_{view}"
    return handler


def _portal_page(
    name: str,
    method: str,
    path: str,
    view: str,
    summary: str,
    auth: Auth = "session",
    content: tuple[str, ...] = ("text/html",),
) -> None:
    options: RouteOptions = {"name": name, "content": content}
    if method == "POST":  # the sign-in form, or a signed-in form with its CSRF token
        options["form"] = SignInForm if auth == "public" else PortalForm
    pages.route(method, path, auth, f"Partner portal: {summary}", query=PortalQuery, **options)(_portal(view))


_portal_page("portal_dashboard", "GET", "/portal", "dashboard", "campaigns, inbox (sign-in page when signed out)")
_portal_page("portal_login", "POST", "/portal/login", "login", "sign in with an API key (form)", auth="public")
_portal_page("portal_logout", "POST", "/portal/logout", "logout", "sign out")
_portal_page("portal_new_campaign", "GET", "/portal/campaigns/new", "new", "new campaign form")
_portal_page("portal_preview_campaign", "POST", "/portal/campaigns/preview", "preview", "plain-language preview")
_portal_page("portal_edit_campaign", "POST", "/portal/campaigns/edit", "edit", "back to the form")
_portal_page("portal_create_campaign", "POST", "/portal/campaigns", "create", "create the campaign")
_portal_page("portal_campaign", "GET", "/portal/campaigns/{campaign_id}", "campaign", "a campaign and its report")
_portal_page(
    "portal_campaign_action",
    "POST",
    "/portal/campaigns/{campaign_id}/{action}",
    "act",
    "accept, activate, pause, end",
)
_portal_page("portal_settlements", "GET", "/portal/settlements", "settlements", "settlements by month")
_portal_page(
    "portal_settlement_csv",
    "GET",
    "/portal/settlements/{period}/csv",
    "csv",
    "settlement CSV (signed out: the sign-in page)",
    content=("text/csv", "text/html"),
)

ROUTES = tuple(pages.routes)
