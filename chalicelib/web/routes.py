"""The HTML pages' route table. Handlers import their page modules when called, so the JSON API never loads
Jinja2 (tests/test_web.py checks it).

The portal's pages (auth ``session``) are served by one router, ``portal_http.handle(call, view)``: it reads the
session cookie and, on forms, the CSRF field, and shows a signed-out browser the sign-in page (a form posted
without a session: a 303 to it). The authorization matrix test walks every one of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from chalicelib.http import Auth, Call, RouteOptions, RouteTable
from chalicelib.web.admin.routes import ROUTES as CONSOLE_ROUTES  # the operator's console
from chalicelib.web.queries import (
    ActQuery,
    CodeForm,
    CustomerForm,
    CustomerSignInForm,
    MePageQuery,
    PortalForm,
    PortalQuery,
    SignInForm,
    SiteQuery,
    StaffCodeForm,
    StaffSignInForm,
    UnsubscribeQuery,
)

pages = RouteTable(tag="portal")
PortalHandler = Callable[[Call[None, PortalQuery]], Any]  # a page, a redirect or a CSV: chalice Responses


MeHandler = Callable[[Call[None, MePageQuery]], Any]


def _me(view: str, module: str = "customer_http") -> MeHandler:
    """The customer's pages: ``customer_http`` (page, sign-in, spend code, sign-out) or
    ``customer_self`` (settings, my data, deletion); both read the customer's own session cookie."""

    def handler(call: Call[None, MePageQuery]) -> Any:
        if module == "customer_self":
            from chalicelib.web import customer_self

            return customer_self.handle(call, view)
        from chalicelib.web import customer_http

        return customer_http.handle(call, view)

    handler.__name__ = f"me_{view}"
    return handler


def _me_page(
    name: str,
    method: str,
    path: str,
    view: str,
    summary: str,
    form: type[BaseModel] | None = None,
    module: str = "customer_http",
    content: tuple[str, ...] = ("text/html",),
    auth: Auth = "customer",
) -> None:
    options: RouteOptions = {"name": name, "content": content}
    if form is not None:
        options["form"] = form
    pages.route(method, path, auth, summary, query=MePageQuery, **options)(_me(view, module))


_me_page(
    "me_page",
    "GET",
    "/me",
    "page",
    "The customer's balance page (HTML): signed in, or from a link (?token=); else a 303 to the sign-in page",
    auth="public",
)
_me_page("me_sign_in_form", "GET", "/me/sign-in", "sign_in_form", "Customer sign-in: phone or e-mail", auth="public")
_me_page(
    "me_send_code",
    "POST",
    "/me/sign-in",
    "send_code",
    "Customer sign-in: send a one-time code",
    CustomerSignInForm,
    auth="public",
)
_me_page(
    "me_check_code",
    "POST",
    "/me/sign-in/code",
    "check_code",
    "Customer sign-in: the code opens a session",
    CodeForm,
    auth="public",
)
_me_page(
    "me_spend_code",
    "POST",
    "/me/spend-code",
    "spend_code",
    "A one-time code and its QR to pay with points at any till",
    CustomerForm,
)
_me_page("me_sign_out", "POST", "/me/sign-out", "sign_out", "End this session", CustomerForm)
_me_page(
    "me_sign_out_everywhere",
    "POST",
    "/me/sign-out-everywhere",
    "sign_out_everywhere",
    "End every session and every link",
    CustomerForm,
)
_me_page(
    "me_confirm",
    "POST",
    "/me/confirm",
    "confirm",
    "Confirm with a code (a page opened from a link is read-only): a code to the customer's own channel; with "
    "`code`, a code sign-in in place of the link's session",
    CustomerForm,
)
_me_page(
    "me_open_link",
    "POST",
    "/me/open-link",
    "open_link",
    "Open another customer's link (`token`) in a browser signed in as someone else, after asking",
    CustomerForm,
)
_me_page(
    "me_settings",
    "POST",
    "/me/settings",
    "settings",
    "The customer's marketing consent, language and channel",
    CustomerForm,
    "customer_self",
)
_me_page(
    "me_data_json",
    "GET",
    "/me/data.json",
    "data_json",
    "Download my data: profile, balance, every entry (signed out: 401 page)",
    module="customer_self",
    content=("application/json", "text/html"),
)
_me_page(
    "me_data_csv",
    "GET",
    "/me/data.csv",
    "data_csv",
    "Download my data as CSV (signed out: 401 page)",
    module="customer_self",
    content=("text/csv", "text/html"),
)
_me_page(
    "me_delete_form",
    "GET",
    "/me/delete",
    "delete_form",
    "Delete my account: what happens to the points, before confirming",
    module="customer_self",
)
_me_page(
    "me_delete",
    "POST",
    "/me/delete",
    "delete",
    "Delete my account: personal data erased, the ledger keeps pseudonymous entries",
    CustomerForm,
    "customer_self",
)
_me_page(
    "me_telegram_connect",
    "POST",
    "/me/telegram/connect",
    "telegram_connect",
    "Connect Telegram: a single-use deep link to the program's bot (15 minutes), and its QR",
    CustomerForm,
    "customer_self",
)
_me_page(
    "me_telegram_disconnect",
    "POST",
    "/me/telegram/disconnect",
    "telegram_disconnect",
    "Disconnect Telegram: the chat is unlinked; a Telegram channel falls back to SMS or e-mail",
    CustomerForm,
    "customer_self",
)
_me_page(
    "me_release_hold",
    "POST",
    "/me/holds/release",
    "release_hold",
    "Release points held at a till (form field hold): the same as the partner's void",
    CustomerForm,
    "customer_self",
)


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


_portal_page("portal_audit", "GET", "/portal/audit", "audit", "the partner's audit log: who changed what, when")


def _till(view: str) -> PortalHandler:
    def handler(call: Call[None, PortalQuery]) -> Any:
        from chalicelib.web.till import http

        return http.handle(call, view)

    handler.__name__ = f"till_{view}"
    return handler


def _till_page(name: str, method: str, path: str, view: str, summary: str) -> None:
    options: RouteOptions = {"name": name, "content": ("text/html",)}
    if method == "POST":  # a signed-in form with its CSRF token and its nonce (one press, one write)
        options["form"] = PortalForm
    pages.route(method, path, "staff", f"Till: {summary}", query=PortalQuery, **options)(_till(view))


_till_page("till_home", "GET", "/till", "home", "find a customer, refund a receipt, this shift's receipts")
_till_page("till_find", "POST", "/till/find", "find", "a customer by phone or card: balance, tier, offers here")
_till_page("till_receipt", "POST", "/till/receipt", "receipt", "the receipt total: earn on it, or pay with points")
_till_page("till_send_code", "POST", "/till/send-code", "send_code", "send the customer a code for the points")
_till_page("till_charge", "POST", "/till/charge", "charge", "spend with the customer's code, earn on the rest")
_till_page("till_refund", "POST", "/till/refund", "refund", "refund a receipt by its number, whole or in part")


StaffHandler = Callable[[Call[None, PortalQuery]], Any]


def _staff(area: str, view: str) -> StaffHandler:
    def handler(call: Call[None, PortalQuery]) -> Any:
        from chalicelib.web import staff_http

        return staff_http.handle(call, area, view)

    handler.__name__ = f"{area}_{view}"
    return handler


# Staff sign-in, one mechanism for the till, the portal and the operator's console (web/staff_http.py)
for _area in ("till", "portal", "admin"):
    _where = {"till": "the till", "portal": "the partner portal", "admin": "the operator's console"}[_area]
    for _method, _path, _view, _summary, _form in (
        ("GET", "login", "sign_in", "staff sign-in: phone or e-mail", None),
        ("POST", "login/code", "sign_in_code", "staff sign-in: send a one-time code", StaffSignInForm),
        ("POST", "login/session", "sign_in_session", "staff sign-in: the code opens a session", StaffCodeForm),
        ("POST", "sign-out", "sign_out", "staff sign-out: the session ends", PortalForm),
    ):
        _options: RouteOptions = {"name": f"staff_{_area}_{_view}", "content": ("text/html",)}
        if _form is not None:
            _options["form"] = _form
        pages.route(_method, f"/{_area}/{_path}", "public", f"{_where.capitalize()}, {_summary}", query=PortalQuery,
                    **_options)(_staff(_area, _view))  # fmt: skip


# the owner's people and keys (web/portal_people.py)
_portal_page("portal_staff", "GET", "/portal/staff", "staff", "the staff: list, invite, remove (owner)")
_portal_page("portal_invite_staff", "POST", "/portal/staff", "invite", "invite a person by phone or e-mail (owner)")
_portal_page("portal_remove_staff", "POST", "/portal/staff/{staff_id}/remove", "remove_staff", "remove a person")
_portal_page("portal_change_staff_role", "POST", "/portal/staff/{staff_id}/role", "change_role", "change a role")
_portal_page("portal_keys", "GET", "/portal/keys", "keys", "the API keys: labels, states (owner)")
_portal_page("portal_create_key", "POST", "/portal/keys", "create_key", "a new API key with a label, shown once")
_portal_page("portal_rotate_key", "POST", "/portal/keys/{key_id}/rotate", "rotate_key", "a new key, the old revoked")
_portal_page("portal_revoke_key", "POST", "/portal/keys/{key_id}/revoke", "revoke_key", "revoke an API key at once")
# the owner's webhook endpoints and their deliveries (web/portal_webhooks.py)
_portal_page("portal_webhooks", "GET", "/portal/webhooks", "webhooks", "webhook endpoints: list, register (owner)")
_portal_page("portal_create_webhook", "POST", "/portal/webhooks", "create_webhook", "register one, secret shown once")
_portal_page("portal_webhook", "GET", "/portal/webhooks/{webhook_id}", "webhook", "an endpoint and its deliveries")
_portal_page("portal_rotate_webhook", "POST", "/portal/webhooks/{webhook_id}/rotate", "rotate_webhook", "new secret")
_portal_page("portal_delete_webhook", "POST", "/portal/webhooks/{webhook_id}/delete", "delete_webhook", "delete one")
_portal_page("portal_resend_delivery", "POST", "/portal/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
             "resend_delivery", "send a delivery again at the dispatcher's next pass")  # fmt: skip
# the owner's CRM connections (web/portal_integrations.py)
_portal_page("portal_integrations", "GET", "/portal/integrations", "integrations", "CRM connections: state (owner)")
_portal_page("portal_connect_bitrix24", "POST", "/portal/integrations/bitrix24", "connect_bitrix24", "connect Bitrix24")
_portal_page("portal_connect_amocrm", "POST", "/portal/integrations/amocrm", "connect_amocrm", "connect amoCRM")
_portal_page("portal_disconnect_crm", "POST", "/portal/integrations/{crm}/disconnect", "disconnect_crm", "disconnect")
_portal_page(
    "portal_settlement_act",
    "GET",
    "/portal/settlements/{period}/act",
    "reconciliation_act",
    "the month's reconciliation act, printable (signed out: the sign-in page)",
    content=("text/html",),
)


@pages.route("GET", "/v1/admin/settlements/{period}/act", "operator", "A partner's reconciliation act for a month: "
             "the printable page (HTML, ru or en) the operator's console links", query=ActQuery,
             name="admin_settlement_act", content=("text/html",), tag="operator")  # fmt: skip
def admin_settlement_act(call: Call[None, ActQuery]) -> Any:
    from chalicelib.web import settlement_act

    return settlement_act.for_operator(call)


@pages.route("GET", "/", "public", "The program's landing page: what it is, sign in to my points, the partner portal, "
             "the partners", query=SiteQuery, name="landing", content=("text/html",))  # fmt: skip
def landing(call: Call[None, SiteQuery]) -> Any:
    from chalicelib.web import site

    return site.landing(call)


@pages.route("GET", "/me/unsubscribe", "public", "A marketing message's unsubscribe link: a page with one button",
             query=UnsubscribeQuery, name="me_unsubscribe_page", content=("text/html",))  # fmt: skip
def unsubscribe_page(call: Call[None, UnsubscribeQuery]) -> Any:
    from chalicelib.web import unsubscribe

    return unsubscribe.page(call)


@pages.route("POST", "/me/unsubscribe", "public", "No more marketing messages (form: c, t from the link)",
             query=UnsubscribeQuery, form=UnsubscribeQuery, name="me_unsubscribe", content=("text/html",))  # fmt: skip
def unsubscribe(call: Call[None, UnsubscribeQuery]) -> Any:
    from chalicelib.web import unsubscribe

    return unsubscribe.confirm(call)


@pages.route("GET", "/favicon.ico", "public", "The program's icon (SVG)", name="favicon", content=("image/svg+xml",))
def favicon(call: Call[None, None]) -> Any:
    from chalicelib.web import site

    return site.favicon(call)


ROUTES = (*pages.routes, *CONSOLE_ROUTES)
