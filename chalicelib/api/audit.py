"""The audit log: the operator reads every record (filters: partner, action, actor, month); a partner reads its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import AUTH_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.schemas import AuditPage, AuditQuery, PartnerAuditQuery

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import audit_log
else:
    audit_log = lazy_module("chalicelib.services.audit_log")

api = RouteTable(tag="partner")
operator = RouteTable(tag="operator")


@api.route(
    "GET",
    "/v1/audit",
    "partner",
    "Your audit log, newest first: who changed your settings, keys, campaigns, payments, when, from what to what",
    query=PartnerAuditQuery,
    response=AuditPage,
    errors=(*AUTH_ERRORS, 422),
)
def partner_audit(call: Call[None, PartnerAuditQuery]) -> AuditPage:
    return audit_log.for_partner(call.partner_id, call.query)


@operator.route(
    "GET",
    "/v1/admin/audit",
    "operator",
    "The audit log of the whole network, newest first; ?partner_id=&action=&actor=&period= to filter",
    query=AuditQuery,
    response=AuditPage,
    errors=(*AUTH_ERRORS, 422),
)
def admin_audit(call: Call[None, AuditQuery]) -> AuditPage:
    return audit_log.for_operator(call.query)
