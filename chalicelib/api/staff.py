"""Staff over the API: a partner's people (``/v1/staff``, the partner's key) and the operator's
(``/v1/admin/staff``, the operator's key). Owners and operators do the same from their pages, as themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.common import AUTH_ERRORS, BODY_ERRORS, WRITE_ERRORS
from chalicelib.http import Call, RouteTable
from chalicelib.lazy import lazy_module
from chalicelib.machinery.idempotency import Reply
from chalicelib.schemas import (
    ChangeOperatorStaffRole,
    ChangeStaffRole,
    InviteOperatorStaff,
    InviteStaff,
    StaffList,
    StaffOut,
)

if TYPE_CHECKING:  # use cases load on first use (chalicelib/lazy.py): a cold start pays for its route only
    from chalicelib.services import staff
else:
    staff = lazy_module("chalicelib.services.staff")

api = RouteTable(tag="staff")


@api.route(
    "POST",
    "/v1/staff",
    "partner",
    "Invite a staff member (owner, marketer, cashier, accountant) by phone or e-mail; they sign in with a code",
    body=InviteStaff,
    response=StaffOut,
    status=201,
    idempotent_post=True,
    errors=WRITE_ERRORS,
)
def invite_staff(call: Call[InviteStaff, None]) -> Reply:
    assert call.principal is not None
    return staff.invite(call.writing, call.principal, call.body)


@api.route("GET", "/v1/staff", "partner", "Your staff", response=StaffList, errors=AUTH_ERRORS)
def list_staff(call: Call[None, None]) -> StaffList:
    assert call.principal is not None
    return staff.list_staff(call.principal)


@api.route(
    "DELETE",
    "/v1/staff/{staff_id}",
    "partner",
    "Remove a staff member: their sessions end at once (the last owner stays: 409 last_owner)",
    status=204,
    errors=(*AUTH_ERRORS, 404, 409),
)
def remove_staff(call: Call[None, None]) -> None:
    assert call.principal is not None
    staff.remove(call.principal, call.params["staff_id"], call.now.isoformat(), call.stamp.request_id)


@api.route(
    "PATCH",
    "/v1/staff/{staff_id}",
    "partner",
    "Change a staff member's role (the last owner stays an owner: 409 last_owner)",
    body=ChangeStaffRole,
    response=StaffOut,
    errors=(*BODY_ERRORS, 409),
)
def change_staff_role(call: Call[ChangeStaffRole, None]) -> StaffOut:
    assert call.principal is not None
    changed = staff.change_role(
        call.principal, call.params["staff_id"], call.body.role, call.now.isoformat(), call.stamp.request_id
    )
    return staff.to_out(changed)


operator = RouteTable(tag="operator")


@operator.route(
    "POST",
    "/v1/admin/staff",
    "operator",
    "Invite a member of the operator's staff (operator, operator_readonly) by phone or e-mail",
    body=InviteOperatorStaff,
    response=StaffOut,
    status=201,
    idempotent_post=True,
    errors=WRITE_ERRORS,
)
def admin_invite_staff(call: Call[InviteOperatorStaff, None]) -> Reply:
    assert call.principal is not None
    return staff.invite(call.writing, call.principal, call.body)


@operator.route("GET", "/v1/admin/staff", "operator", "The operator's staff", response=StaffList, errors=AUTH_ERRORS)
def admin_list_staff(call: Call[None, None]) -> StaffList:
    assert call.principal is not None
    return staff.list_staff(call.principal)


@operator.route(
    "DELETE",
    "/v1/admin/staff/{staff_id}",
    "operator",
    "Remove a member of the operator's staff: their sessions end at once",
    status=204,
    errors=(*AUTH_ERRORS, 404),
)
def admin_remove_staff(call: Call[None, None]) -> None:
    assert call.principal is not None
    staff.remove(call.principal, call.params["staff_id"], call.now.isoformat(), call.stamp.request_id)


@operator.route(
    "PATCH",
    "/v1/admin/staff/{staff_id}",
    "operator",
    "Change the role of a member of the operator's staff",
    body=ChangeOperatorStaffRole,
    response=StaffOut,
    errors=BODY_ERRORS,
)
def admin_change_staff_role(call: Call[ChangeOperatorStaffRole, None]) -> StaffOut:
    assert call.principal is not None
    changed = staff.change_role(
        call.principal, call.params["staff_id"], call.body.role, call.now.isoformat(), call.stamp.request_id
    )
    return staff.to_out(changed)
