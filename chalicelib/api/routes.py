"""The JSON API's routes, one module per resource, each route declared on its handler. This list joins them in a
fixed order; chalicelib/routes.py adds the pages' routes (chalicelib/web/routes.py) and /openapi.json.

To add a route: declare it on its handler in the resource's module (``@api.route(...)``, see
``chalicelib.http.RouteTable``); a new table goes into ``_TABLES`` below."""

from __future__ import annotations

from chalicelib.api import (
    admin,
    audit,
    balances,
    campaigns,
    customer_reach,
    customers,
    integrations,
    ledger,
    partners,
    public,
    settlements,
    staff,
    telegram,
    webhooks,
)
from chalicelib.http import Route, RouteTable

_TABLES: tuple[RouteTable, ...] = (
    public.api,
    customers.api,
    balances.api,
    customer_reach.api,
    ledger.api,
    partners.api,
    campaigns.api,
    settlements.api,
    staff.api,
    partners.operator,
    admin.api,
    settlements.operator,
    staff.operator,
    audit.api,
    audit.operator,
    telegram.api,
    webhooks.api,
    integrations.api,
)

ROUTES: tuple[Route, ...] = tuple(route for table in _TABLES for route in table.routes)
