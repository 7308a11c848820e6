"""Staff: the people of a partner (owner, marketer, cashier, accountant) and of the operator (operator,
operator_readonly), each signing in with a one-time code sent to their phone or e-mail (``staff_auth``).

Who manages whom: a partner's staff, its owners or the partner's API key; the operator's staff, the operator's key
or an operator. A caller only ever reaches the staff of its own scope (its partner, or the operator's): another
partner's member is "not found". A partner keeps at least one owner (the roster's guard, ``db/staff.py``). Removing
a member ends their sessions at once: every session check reads the member.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib import db, ids
from chalicelib.db import partners as partners_db
from chalicelib.db import staff as staff_db
from chalicelib.db.reads import Found
from chalicelib.db.staff import OPERATOR_SCOPE, Member
from chalicelib.errors import LastOwner, NotFound, StaffContactTaken, Unavailable
from chalicelib.machinery import audit
from chalicelib.machinery.audit import Change, Stamp
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import InviteOperatorStaff, InviteStaff, StaffContact, StaffList, StaffOut
from chalicelib.services import auth
from chalicelib.services.auth import Principal

__all__ = [
    "MANAGERS",
    "OPERATOR_SCOPE",
    "READERS",
    "Member",
    "add_first_owner",
    "added",
    "change_role",
    "contact_of",
    "find_by_contact",
    "has_owner",
    "invite",
    "list_staff",
    "load_member",
    "owner_reads",
    "remove",
    "scope_of",
    "to_out",
]

ATTEMPTS = 5
_STAFF_ID = re.compile(r"stf_[a-z0-9]{1,40}")  # anything else names nobody (and never reaches a key in the table)
# Who may invite and remove, and who may see the list, by scope ("key": the scope's API key)
MANAGERS: dict[str, tuple[str, ...]] = {"partner": ("key", "owner"), "operator": ("key", "operator")}
READERS: dict[str, tuple[str, ...]] = {
    "partner": ("key", "owner"),
    "operator": ("key", "operator", "operator_readonly"),
}


def scope_of(principal: Principal, allowed: dict[str, tuple[str, ...]]) -> str:
    """The staff a caller may reach (its partner's, or the operator's), once its role is one of ``allowed``."""
    auth.require_role(principal, *allowed["operator" if principal.operator else "partner"])
    return OPERATOR_SCOPE if principal.partner_id is None else principal.partner_id


def contact_of(person: StaffContact) -> tuple[str, str]:
    """(kind, normalised value) of the phone or e-mail a person signs in with."""
    return ("phone", person.phone) if person.phone is not None else ("email", str(person.email))


def to_out(member: Member) -> StaffOut:
    return StaffOut(
        staff_id=member.staff_id,
        role=member.role,
        name=member.name,
        phone=member.contact if member.contact_kind == "phone" else None,
        email=member.contact if member.contact_kind == "email" else None,
        partner_id=member.partner_id,
        created_at=member.created_at,
    )


def _member(scope: str, staff_id: str, person: StaffContact, role: str, now_iso: str) -> Member:
    kind, value = contact_of(person)
    return Member(
        staff_id=staff_id,
        scope=scope,
        partner_id=None if scope == OPERATOR_SCOPE else scope,
        name=person.name,
        role=role,
        contact_kind=kind,
        contact=value,
        status="active",
        created_at=now_iso,
    )


def _shown(member: Member) -> dict[str, str]:
    """What the audit log keeps of a member: who, with which role, reached where."""
    return {"name": member.name, "role": member.role, member.contact_kind: member.contact}


def added(member: Member) -> Change:
    return Change("staff.added", f"staff:{member.staff_id}", member.partner_id, None, _shown(member))


def _taken(found: Found, person: StaffContact) -> None:
    kind, value = contact_of(person)
    _, pk, sk = staff_db.alias_read(kind, value)
    if found.get((pk, sk)) is not None:
        raise StaffContactTaken(f"This {kind} already signs in as a staff member; each person signs in with their own.")


def invite(req: WriteRequest, principal: Principal, body: InviteStaff | InviteOperatorStaff) -> Reply:
    """``POST /v1/staff`` and ``POST /v1/admin/staff``: a new member, who can sign in at once with a code sent to
    the phone or e-mail given. One transaction: the member, its contact's claim, the roster's owner count."""
    scope = scope_of(principal, MANAGERS)
    staff_id = ids.random_id("stf")  # once per request: a decision made again names the same member

    def decide(found: Found) -> Plan:
        _taken(found, body)
        plan = Plan(created=True)
        member = _member(scope, staff_id, body, body.role, req.now_iso)
        if member.partner_id is not None:
            partners_db.add_exists_check(plan.tx, member.partner_id)
        staff_db.add_member(plan.tx, member, principal.actor)
        plan.audit.append(added(member))  # written in this very transaction
        plan.response = to_out(member)
        return plan

    return execute(req, None, [staff_db.alias_read(*contact_of(body))], decide)


def owner_reads(person: StaffContact | None) -> list[Any]:
    """What :func:`add_first_owner` needs read in the partner's creation (its contact's claim)."""
    return [] if person is None else [staff_db.alias_read(*contact_of(person))]


def add_first_owner(
    tx: db.Transaction, found: Found, partner_id: str, person: StaffContact, now_iso: str, actor: str, staff_id: str
) -> Member:
    """The operator creates a partner with its first owner: added in the partner's own transaction."""
    _taken(found, person)
    member = _member(partner_id, staff_id, person, "owner", now_iso)
    staff_db.add_member(tx, member, actor)
    return member


def list_staff(principal: Principal) -> StaffList:
    return StaffList(items=[to_out(m) for m in staff_db.list_members(scope_of(principal, READERS))])


def load_member(principal: Principal, staff_id: str) -> Member:
    """A member of the caller's own scope (another scope's: 404, as if there were none)."""
    scope = scope_of(principal, READERS)
    member = staff_db.load_member(scope, staff_id) if _STAFF_ID.fullmatch(staff_id) else None
    if member is None or member.status != "active":
        raise NotFound(f"No staff member {staff_id[:60]}.")
    return member


def _last_owner(member: Member, found: Found, scope: str) -> bool:
    """Whether ``member`` is the scope's only owner (who must stay one)."""
    return member.role == "owner" and staff_db.owners_from(found, scope) <= 1


def remove(principal: Principal, staff_id: str, now_iso: str, request_id: str = "") -> Member | None:
    """``DELETE /v1/staff/{id}``: the member goes, and with them every session of theirs. Removing a member already
    removed does nothing (a retry after a lost answer); another scope's member is not found; the last owner stays
    (409 last_owner). Returns the member removed now (None: already gone)."""
    scope = scope_of(principal, MANAGERS)
    if not _STAFF_ID.fullmatch(staff_id):
        raise NotFound(f"No staff member {staff_id[:60]}.")
    for _ in range(ATTEMPTS):
        found = db.get_many([staff_db.member_read(scope, staff_id), staff_db.roster_read(scope)])
        member = staff_db.member_from(found, scope, staff_id)
        if member is None:
            raise NotFound(f"No staff member {staff_id[:60]}.")
        if member.status != "active":
            return None
        if _last_owner(member, found, scope):
            raise LastOwner("This is the partner's last owner: make someone else an owner first.")
        tx = db.Transaction()
        staff_db.remove_member(tx, member, now_iso)
        removed = Change("staff.removed", f"staff:{staff_id}", member.partner_id, _shown(member), None)
        audit.add(tx, [removed], Stamp(principal.actor, request_id, datetime.fromisoformat(now_iso)))
        try:
            staff_db.commit(tx)
        except db.TxCancelled:
            continue  # removed, or another owner removed, meanwhile: judge again on what is there now
        return member
    raise Unavailable("The staff kept changing under this request; nothing was written.")


def change_role(principal: Principal, staff_id: str, role: str, now_iso: str, request_id: str = "") -> Member:
    """``PATCH /v1/staff/{id}``: the member's role, effective on their next page (sessions read the member). The
    last owner keeps the role (409 last_owner); the same role again changes nothing."""
    scope = scope_of(principal, MANAGERS)
    if not _STAFF_ID.fullmatch(staff_id):
        raise NotFound(f"No staff member {staff_id[:60]}.")
    for _ in range(ATTEMPTS):
        found = db.get_many([staff_db.member_read(scope, staff_id), staff_db.roster_read(scope)])
        member = staff_db.member_from(found, scope, staff_id)
        if member is None or member.status != "active":
            raise NotFound(f"No staff member {staff_id[:60]}.")
        if member.role == role:
            return member
        if _last_owner(member, found, scope):
            raise LastOwner("This is the partner's last owner: make someone else an owner first.")
        tx = db.Transaction()
        staff_db.change_role(tx, member, role)
        changed = Change(
            "staff.role_changed", f"staff:{staff_id}", member.partner_id, {"role": member.role}, {"role": role}
        )
        audit.add(tx, [changed], Stamp(principal.actor, request_id, datetime.fromisoformat(now_iso)))
        try:
            staff_db.commit(tx)
        except db.TxCancelled:
            continue  # changed or removed meanwhile: judge again
        return replace(member, role=role)
    raise Unavailable("The staff kept changing under this request; nothing was written.")


def has_owner(partner_id: str) -> bool:
    """Whether the partner has an owner (then its API key no longer signs in to the portal)."""
    return staff_db.owners_from(db.get_many([staff_db.roster_read(partner_id)]), partner_id) > 0


def find_by_contact(kind: str, value: str) -> Member | None:
    """The active member who signs in with this phone or e-mail, if any."""
    claim = staff_db.contact_owner(kind, value)
    member = None if claim is None else staff_db.load_member(*claim)
    return member if member is not None and member.status == "active" else None
