"""Where each route is declared, so that app.py registers the whole table without importing what declares it.

A cold instance serves one route first: a balance need not load the campaigns', settlements' or pages' modules, nor
build their request and response models. Chalice needs only each route's name, method and path to route a request;
the route itself (chalicelib.http.Route: its handler, auth and models) is read from the module named here when the
route is first called (chalicelib/lazy.py).

:data:`INDEX` is generated from chalicelib.routes.ROUTES (``python -m chalicelib.route_index`` rewrites it);
tests/test_route_table.py checks that it is that table, route for route, and that each entry names a module that
declares it: a typo cannot become a 500 on some instance's first request."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from chalicelib.lazy import lazy_function

if TYPE_CHECKING:
    from chalice.app import Chalice, Response

    from chalicelib.http import Route

__all__ = ["INDEX", "declared", "register"]

# (name, method, path, module that declares it), in chalicelib.routes.ROUTES' order.
INDEX: tuple[tuple[str, str, str, str], ...] = (
    # generated: begin
    ("health", "GET", "/health", "chalicelib.api.public"),
    ("openapi", "GET", "/openapi.json", "chalicelib.routes"),
    ("me", "GET", "/v1/me", "chalicelib.api.public"),
    ("me_revoke_links", "POST", "/v1/me/revoke-links", "chalicelib.api.public"),
    ("enroll_customer", "POST", "/v1/customers", "chalicelib.api.customers"),
    ("lookup_customer", "GET", "/v1/customers/lookup", "chalicelib.api.customers"),
    ("customer_transactions", "GET", "/v1/customers/{customer_id}/transactions", "chalicelib.api.customers"),
    ("customer_balance", "GET", "/v1/customers/{customer_id}/balance", "chalicelib.api.balances"),
    ("portal_link", "POST", "/v1/customers/{customer_id}/portal-link", "chalicelib.api.customer_reach"),
    ("spend_code", "POST", "/v1/customers/{customer_id}/spend-code", "chalicelib.api.customer_reach"),
    ("confirm_identifiers", "POST", "/v1/customers/{customer_id}/identifiers/confirm", "chalicelib.api.customer_reach"),
    ("create_accrual", "POST", "/v1/accruals", "chalicelib.api.ledger"),
    ("quote_redemption", "POST", "/v1/redemptions/quote", "chalicelib.api.ledger"),
    ("create_redemption", "POST", "/v1/redemptions", "chalicelib.api.ledger"),
    ("capture_redemption", "POST", "/v1/redemptions/{redemption_id}/capture", "chalicelib.api.ledger"),
    ("void_redemption", "POST", "/v1/redemptions/{redemption_id}/void", "chalicelib.api.ledger"),
    ("create_bonus", "POST", "/v1/bonuses", "chalicelib.api.ledger"),
    ("create_refund", "POST", "/v1/refunds", "chalicelib.api.ledger"),
    ("own_partner", "GET", "/v1/partner", "chalicelib.api.partners"),
    ("partner_directory", "GET", "/v1/partners", "chalicelib.api.partners"),
    ("create_campaign", "POST", "/v1/campaigns", "chalicelib.api.campaigns"),
    ("list_campaigns", "GET", "/v1/campaigns", "chalicelib.api.campaigns"),
    ("get_campaign", "GET", "/v1/campaigns/{campaign_id}", "chalicelib.api.campaigns"),
    ("accept_campaign", "POST", "/v1/campaigns/{campaign_id}/accept", "chalicelib.api.campaigns"),
    ("decline_campaign", "POST", "/v1/campaigns/{campaign_id}/decline", "chalicelib.api.campaigns"),
    ("activate_campaign", "POST", "/v1/campaigns/{campaign_id}/activate", "chalicelib.api.campaigns"),
    ("pause_campaign", "POST", "/v1/campaigns/{campaign_id}/pause", "chalicelib.api.campaigns"),
    ("end_campaign", "POST", "/v1/campaigns/{campaign_id}/end", "chalicelib.api.campaigns"),
    ("campaign_report", "GET", "/v1/campaigns/{campaign_id}/report", "chalicelib.api.campaigns"),
    ("partner_settlement", "GET", "/v1/settlements/{period}", "chalicelib.api.settlements"),
    ("partner_payments", "GET", "/v1/settlements/{period}/payments", "chalicelib.api.settlements"),
    ("invite_staff", "POST", "/v1/staff", "chalicelib.api.staff"),
    ("list_staff", "GET", "/v1/staff", "chalicelib.api.staff"),
    ("remove_staff", "DELETE", "/v1/staff/{staff_id}", "chalicelib.api.staff"),
    ("change_staff_role", "PATCH", "/v1/staff/{staff_id}", "chalicelib.api.staff"),
    ("admin_create_partner", "POST", "/v1/admin/partners", "chalicelib.api.partners"),
    ("admin_list_partners", "GET", "/v1/admin/partners", "chalicelib.api.partners"),
    ("admin_get_partner", "GET", "/v1/admin/partners/{partner_id}", "chalicelib.api.partners"),
    ("admin_update_partner", "PATCH", "/v1/admin/partners/{partner_id}", "chalicelib.api.partners"),
    ("admin_create_key", "POST", "/v1/admin/partners/{partner_id}/keys", "chalicelib.api.partners"),
    ("admin_revoke_key", "DELETE", "/v1/admin/partners/{partner_id}/keys/{key_id}", "chalicelib.api.partners"),
    ("admin_customer_transactions", "GET", "/v1/admin/customers/{customer_id}/transactions", "chalicelib.api.admin"),
    ("admin_revoke_links", "POST", "/v1/admin/customers/{customer_id}/revoke-links", "chalicelib.api.admin"),
    ("admin_end_customer_links", "POST", "/v1/admin/customer-links/revoke", "chalicelib.api.admin"),
    ("admin_attach_identifiers", "POST", "/v1/admin/customers/{customer_id}/identifiers", "chalicelib.api.admin"),
    ("admin_create_adjustment", "POST", "/v1/admin/adjustments", "chalicelib.api.admin"),
    ("admin_get_program", "GET", "/v1/admin/program", "chalicelib.api.admin"),
    ("admin_put_program", "PUT", "/v1/admin/program", "chalicelib.api.admin"),
    ("admin_settlement", "GET", "/v1/admin/settlements/{period}", "chalicelib.api.settlements"),
    ("admin_close_settlement", "POST", "/v1/admin/settlements/{period}/close", "chalicelib.api.settlements"),
    (
        "admin_reconcile_settlement",
        "GET",
        "/v1/admin/settlements/{period}/reconciliation",
        "chalicelib.api.settlements",
    ),
    (
        "admin_start_reconciliation",
        "POST",
        "/v1/admin/settlements/{period}/reconciliation",
        "chalicelib.api.settlements",
    ),
    ("admin_record_payment", "POST", "/v1/admin/settlements/{period}/payments", "chalicelib.api.settlements"),
    ("admin_payments", "GET", "/v1/admin/settlements/{period}/payments", "chalicelib.api.settlements"),
    ("admin_invite_staff", "POST", "/v1/admin/staff", "chalicelib.api.staff"),
    ("admin_list_staff", "GET", "/v1/admin/staff", "chalicelib.api.staff"),
    ("admin_remove_staff", "DELETE", "/v1/admin/staff/{staff_id}", "chalicelib.api.staff"),
    ("admin_change_staff_role", "PATCH", "/v1/admin/staff/{staff_id}", "chalicelib.api.staff"),
    ("partner_audit", "GET", "/v1/audit", "chalicelib.api.audit"),
    ("admin_audit", "GET", "/v1/admin/audit", "chalicelib.api.audit"),
    ("telegram_webhook", "POST", "/telegram/webhook", "chalicelib.api.telegram"),
    ("create_webhook", "POST", "/v1/webhooks", "chalicelib.api.webhooks"),
    ("list_webhooks", "GET", "/v1/webhooks", "chalicelib.api.webhooks"),
    ("delete_webhook", "DELETE", "/v1/webhooks/{webhook_id}", "chalicelib.api.webhooks"),
    ("rotate_webhook_secret", "POST", "/v1/webhooks/{webhook_id}/rotate-secret", "chalicelib.api.webhooks"),
    ("list_deliveries", "GET", "/v1/webhooks/{webhook_id}/deliveries", "chalicelib.api.webhooks"),
    ("resend_delivery", "POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", "chalicelib.api.webhooks"),
    ("connect_bitrix24", "PUT", "/v1/integrations/bitrix24", "chalicelib.api.integrations"),
    ("get_bitrix24", "GET", "/v1/integrations/bitrix24", "chalicelib.api.integrations"),
    ("disconnect_bitrix24", "DELETE", "/v1/integrations/bitrix24", "chalicelib.api.integrations"),
    ("bitrix24_event", "POST", "/v1/integrations/bitrix24/events/{partner_id}", "chalicelib.api.integrations"),
    ("connect_amocrm", "PUT", "/v1/integrations/amocrm", "chalicelib.api.integrations"),
    ("get_amocrm", "GET", "/v1/integrations/amocrm", "chalicelib.api.integrations"),
    ("disconnect_amocrm", "DELETE", "/v1/integrations/amocrm", "chalicelib.api.integrations"),
    ("amocrm_event", "POST", "/v1/integrations/amocrm/events/{partner_id}/{secret}", "chalicelib.api.integrations"),
    ("me_page", "GET", "/me", "chalicelib.web.routes"),
    ("me_sign_in_form", "GET", "/me/sign-in", "chalicelib.web.routes"),
    ("me_send_code", "POST", "/me/sign-in", "chalicelib.web.routes"),
    ("me_check_code", "POST", "/me/sign-in/code", "chalicelib.web.routes"),
    ("me_spend_code", "POST", "/me/spend-code", "chalicelib.web.routes"),
    ("me_sign_out", "POST", "/me/sign-out", "chalicelib.web.routes"),
    ("me_sign_out_everywhere", "POST", "/me/sign-out-everywhere", "chalicelib.web.routes"),
    ("me_confirm", "POST", "/me/confirm", "chalicelib.web.routes"),
    ("me_open_link", "POST", "/me/open-link", "chalicelib.web.routes"),
    ("me_settings", "POST", "/me/settings", "chalicelib.web.routes"),
    ("me_data_json", "GET", "/me/data.json", "chalicelib.web.routes"),
    ("me_data_csv", "GET", "/me/data.csv", "chalicelib.web.routes"),
    ("me_delete_form", "GET", "/me/delete", "chalicelib.web.routes"),
    ("me_delete", "POST", "/me/delete", "chalicelib.web.routes"),
    ("me_telegram_connect", "POST", "/me/telegram/connect", "chalicelib.web.routes"),
    ("me_telegram_disconnect", "POST", "/me/telegram/disconnect", "chalicelib.web.routes"),
    ("me_release_hold", "POST", "/me/holds/release", "chalicelib.web.routes"),
    ("portal_dashboard", "GET", "/portal", "chalicelib.web.routes"),
    ("portal_login", "POST", "/portal/login", "chalicelib.web.routes"),
    ("portal_logout", "POST", "/portal/logout", "chalicelib.web.routes"),
    ("portal_new_campaign", "GET", "/portal/campaigns/new", "chalicelib.web.routes"),
    ("portal_preview_campaign", "POST", "/portal/campaigns/preview", "chalicelib.web.routes"),
    ("portal_edit_campaign", "POST", "/portal/campaigns/edit", "chalicelib.web.routes"),
    ("portal_create_campaign", "POST", "/portal/campaigns", "chalicelib.web.routes"),
    ("portal_campaign", "GET", "/portal/campaigns/{campaign_id}", "chalicelib.web.routes"),
    ("portal_campaign_action", "POST", "/portal/campaigns/{campaign_id}/{action}", "chalicelib.web.routes"),
    ("portal_settlements", "GET", "/portal/settlements", "chalicelib.web.routes"),
    ("portal_settlement_csv", "GET", "/portal/settlements/{period}/csv", "chalicelib.web.routes"),
    ("portal_audit", "GET", "/portal/audit", "chalicelib.web.routes"),
    ("till_home", "GET", "/till", "chalicelib.web.routes"),
    ("till_find", "POST", "/till/find", "chalicelib.web.routes"),
    ("till_receipt", "POST", "/till/receipt", "chalicelib.web.routes"),
    ("till_send_code", "POST", "/till/send-code", "chalicelib.web.routes"),
    ("till_charge", "POST", "/till/charge", "chalicelib.web.routes"),
    ("till_refund", "POST", "/till/refund", "chalicelib.web.routes"),
    ("staff_till_sign_in", "GET", "/till/login", "chalicelib.web.routes"),
    ("staff_till_sign_in_code", "POST", "/till/login/code", "chalicelib.web.routes"),
    ("staff_till_sign_in_session", "POST", "/till/login/session", "chalicelib.web.routes"),
    ("staff_till_sign_out", "POST", "/till/sign-out", "chalicelib.web.routes"),
    ("staff_portal_sign_in", "GET", "/portal/login", "chalicelib.web.routes"),
    ("staff_portal_sign_in_code", "POST", "/portal/login/code", "chalicelib.web.routes"),
    ("staff_portal_sign_in_session", "POST", "/portal/login/session", "chalicelib.web.routes"),
    ("staff_portal_sign_out", "POST", "/portal/sign-out", "chalicelib.web.routes"),
    ("staff_admin_sign_in", "GET", "/admin/login", "chalicelib.web.routes"),
    ("staff_admin_sign_in_code", "POST", "/admin/login/code", "chalicelib.web.routes"),
    ("staff_admin_sign_in_session", "POST", "/admin/login/session", "chalicelib.web.routes"),
    ("staff_admin_sign_out", "POST", "/admin/sign-out", "chalicelib.web.routes"),
    ("portal_staff", "GET", "/portal/staff", "chalicelib.web.routes"),
    ("portal_invite_staff", "POST", "/portal/staff", "chalicelib.web.routes"),
    ("portal_remove_staff", "POST", "/portal/staff/{staff_id}/remove", "chalicelib.web.routes"),
    ("portal_change_staff_role", "POST", "/portal/staff/{staff_id}/role", "chalicelib.web.routes"),
    ("portal_keys", "GET", "/portal/keys", "chalicelib.web.routes"),
    ("portal_create_key", "POST", "/portal/keys", "chalicelib.web.routes"),
    ("portal_rotate_key", "POST", "/portal/keys/{key_id}/rotate", "chalicelib.web.routes"),
    ("portal_revoke_key", "POST", "/portal/keys/{key_id}/revoke", "chalicelib.web.routes"),
    ("portal_webhooks", "GET", "/portal/webhooks", "chalicelib.web.routes"),
    ("portal_create_webhook", "POST", "/portal/webhooks", "chalicelib.web.routes"),
    ("portal_webhook", "GET", "/portal/webhooks/{webhook_id}", "chalicelib.web.routes"),
    ("portal_rotate_webhook", "POST", "/portal/webhooks/{webhook_id}/rotate", "chalicelib.web.routes"),
    ("portal_delete_webhook", "POST", "/portal/webhooks/{webhook_id}/delete", "chalicelib.web.routes"),
    (
        "portal_resend_delivery",
        "POST",
        "/portal/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
        "chalicelib.web.routes",
    ),
    ("portal_integrations", "GET", "/portal/integrations", "chalicelib.web.routes"),
    ("portal_connect_bitrix24", "POST", "/portal/integrations/bitrix24", "chalicelib.web.routes"),
    ("portal_connect_amocrm", "POST", "/portal/integrations/amocrm", "chalicelib.web.routes"),
    ("portal_disconnect_crm", "POST", "/portal/integrations/{crm}/disconnect", "chalicelib.web.routes"),
    ("portal_settlement_act", "GET", "/portal/settlements/{period}/act", "chalicelib.web.routes"),
    ("admin_settlement_act", "GET", "/v1/admin/settlements/{period}/act", "chalicelib.web.routes"),
    ("landing", "GET", "/", "chalicelib.web.routes"),
    ("me_unsubscribe_page", "GET", "/me/unsubscribe", "chalicelib.web.routes"),
    ("me_unsubscribe", "POST", "/me/unsubscribe", "chalicelib.web.routes"),
    ("favicon", "GET", "/favicon.ico", "chalicelib.web.routes"),
    ("console_home", "GET", "/admin", "chalicelib.web.admin.routes"),
    ("console_create_partner", "POST", "/admin/partners", "chalicelib.web.admin.routes"),
    ("console_partner", "GET", "/admin/partners/{partner_id}", "chalicelib.web.admin.routes"),
    ("console_partner_action", "POST", "/admin/partners/{partner_id}/{action}", "chalicelib.web.admin.routes"),
    ("console_program", "GET", "/admin/program", "chalicelib.web.admin.routes"),
    ("console_program_save", "POST", "/admin/program", "chalicelib.web.admin.routes"),
    ("console_customers", "GET", "/admin/customers", "chalicelib.web.admin.routes"),
    ("console_adjust", "POST", "/admin/customers/{customer_id}/adjust", "chalicelib.web.admin.routes"),
    ("console_campaigns", "GET", "/admin/campaigns", "chalicelib.web.admin.routes"),
    ("console_campaign_action", "POST", "/admin/campaigns/{campaign_id}/{action}", "chalicelib.web.admin.routes"),
    ("console_settlements", "GET", "/admin/settlements", "chalicelib.web.admin.routes"),
    ("console_audit", "GET", "/admin/audit", "chalicelib.web.admin.routes"),
    ("console_staff", "GET", "/admin/staff", "chalicelib.web.admin.routes"),
    ("console_invite", "POST", "/admin/staff", "chalicelib.web.admin.routes"),
    ("console_remove_staff", "POST", "/admin/staff/{staff_id}/remove", "chalicelib.web.admin.routes"),
    ("console_settlement_action", "POST", "/admin/settlements/{period}/{action}", "chalicelib.web.admin.routes"),
    # generated: end
)


def declared(module: ModuleType, name: str) -> Route:
    """The route ``name`` as ``module`` declares it: in one of its route tables, or in its ``ROUTES``."""
    from chalicelib.http import RouteTable

    tables = [value.routes for value in vars(module).values() if isinstance(value, RouteTable)]
    routes: tuple[Route, ...] = (*(r for table in tables for r in table), *getattr(module, "ROUTES", ()))
    for route in routes:
        if route.name == name:
            return route
    raise LookupError(f"{module.__name__} declares no route {name!r}")


def _view_maker(app: Chalice, name: str, path: str, method: str) -> Callable[[ModuleType], Callable[..., Response]]:
    def make(module: ModuleType) -> Callable[..., Response]:
        from chalicelib.http import make_view

        view = make_view(app, declared(module, name))
        entry = app.routes.get(path, {}).get(method)
        if entry is not None:  # Chalice calls the view itself from now on, not the loader in front of it
            entry.view_function = view
        return view

    return make


def register(app: Chalice) -> None:
    """Every route of :data:`INDEX` into Chalice; each view loads its route on its first request."""
    for name, method, path, module in INDEX:
        view: Callable[..., Any] = lazy_function(module, _view_maker(app, name, path, method))
        view.__name__ = name
        app.route(path, methods=[method], name=name, content_types=["*/*"])(view)


def generated() -> tuple[tuple[str, str, str, str], ...]:
    """What :data:`INDEX` must be: chalicelib.routes.ROUTES (imports every route's module)."""
    from chalicelib.routes import ROUTES

    return tuple((r.name, r.method, r.path, r.handler.__module__) for r in ROUTES)


def main() -> None:
    source = Path(__file__)
    text = source.read_text(encoding="utf-8")
    begin, end = "    # generated: begin\n", "    # generated: end\n"
    rows = "".join(f"    ({', '.join(json.dumps(part) for part in entry)}),\n" for entry in generated())
    head, rest = text.split(begin)
    source.write_text(head + begin + rows + end + rest.split(end, 1)[1], encoding="utf-8")  # then: ruff format


if __name__ == "__main__":
    main()
