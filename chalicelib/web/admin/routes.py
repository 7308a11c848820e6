"""The console's routes (``/admin``): one handler per page, each loading ``admin.http`` when called (the JSON API
never loads Jinja2). Every route answers a browser without a session with the sign-in page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from chalicelib.http import Call, RouteOptions, RouteTable
from chalicelib.web.queries import Lang, PortalForm

console = RouteTable(tag="operator console")
Short = Annotated[str, StringConstraints(max_length=100)]


class AdminQuery(BaseModel):
    """Query of the console's pages: the language, and each page's own filters."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    lang: Lang | None = None
    period: Annotated[str, StringConstraints(max_length=7)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    check: Annotated[str, StringConstraints(max_length=1)] | None = None
    saved: Annotated[str, StringConstraints(max_length=1)] | None = None
    # the audit log's filters and page (checked by the audit log's own query model)
    partner_id: Short | None = None
    action: Short | None = None
    actor: Short | None = None
    cursor: Annotated[str, StringConstraints(max_length=600)] | None = None


def _handler(view: str) -> Callable[[Call[None, AdminQuery]], Any]:
    def handler(call: Call[None, AdminQuery]) -> Any:
        from chalicelib.web.admin import http

        return http.handle(call, view)

    handler.__name__ = f"console_{view}"
    return handler


def _page(name: str, method: str, path: str, view: str, summary: str) -> None:
    options: RouteOptions = {"name": name, "content": ("text/html",)}
    if method == "POST":
        options["form"] = PortalForm
    console.route(method, path, "session", f"Operator console: {summary}", query=AdminQuery, **options)(_handler(view))


_page("console_home", "GET", "/admin", "home", "partners, and a new partner")
_page("console_create_partner", "POST", "/admin/partners", "create_partner", "create a partner (its key shown once)")
_page("console_partner", "GET", "/admin/partners/{partner_id}", "partner", "a partner's settings, status and keys")
_page(
    "console_partner_action",
    "POST",
    "/admin/partners/{partner_id}/{action}",
    "partner_act",
    "settings (rates from a date), suspend, resume (confirmed), keys (issue), revoke",
)
_page("console_program", "GET", "/admin/program", "program", "program settings and their scheduled changes")
_page("console_program_save", "POST", "/admin/program", "program_save", "change program settings")
_page("console_customers", "GET", "/admin/customers", "customers", "find a customer by phone")
_page("console_adjust", "POST", "/admin/customers/{customer_id}/adjust", "adjust", "adjust points with a reason")
_page("console_campaigns", "GET", "/admin/campaigns", "campaigns", "every partner's campaigns")
_page("console_campaign_action", "POST", "/admin/campaigns/{campaign_id}/{action}", "campaign_act", "pause, end")
_page("console_settlements", "GET", "/admin/settlements", "settlements", "every partner's month, matrix, identity")
_page("console_audit", "GET", "/admin/audit", "audit", "the audit log: filters, old and new values")
_page("console_staff", "GET", "/admin/staff", "staff", "the operator's staff: who signs in, with which role")
_page(
    "console_invite", "POST", "/admin/staff", "invite", "invite a colleague (operator or read-only) by phone or e-mail"
)
_page("console_remove_staff", "POST", "/admin/staff/{staff_id}/remove", "remove_staff", "remove a colleague")
_page(
    "console_settlement_action",
    "POST",
    "/admin/settlements/{period}/{action}",
    "settlement_act",
    "close the month (confirmed), record a payment, reconcile",
)

ROUTES = tuple(console.routes)
