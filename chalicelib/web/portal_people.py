"""The owner's portal pages about people and keys: the staff (invite by phone or e-mail with a name and a role,
list, remove) and the API keys (create with a label, the key shown once, rotate, revoke). The same services as the
API (``services.staff``, ``services.partners``); the role is checked by ``portal_roles`` and again by the services."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from chalicelib import runtime
from chalicelib.errors import KeyLimitReached, LastOwner, StaffContactTaken
from chalicelib.machinery.audit import Stamp
from chalicelib.schemas import InviteStaff, KeyCreated
from chalicelib.services import partners, staff, staff_auth
from chalicelib.web import portal_views
from chalicelib.web.portal_session import Session, write_request
from chalicelib.web.render import redirect

ROLES = ("cashier", "marketer", "accountant", "owner")
MAX_LABEL = 60


def _respond(page: Any, status: int = 200) -> Any:
    from chalice.app import Response

    return Response(body=page.body, status_code=status, headers=dict(page.headers))


def _staff_page(r: Any, session: Session, status: int = 200, **context: Any) -> Any:
    members = staff.list_staff(session.principal).items
    values = {"name": "", "contact": "", "role": "cashier", **context.pop("typed", {})}
    page = portal_views.page(
        "portal/staff.html", r.lang, "/portal/staff?lang=", session, members=members, roles=ROLES, typed=values,
        problem=context.get("problem"),
    )  # fmt: skip
    return _respond(page, status)


def _staff(r: Any, session: Session) -> Any:
    return _staff_page(r, session)


def _invite(r: Any, session: Session) -> Any:
    typed = {k: r.form.get(k, "").strip()[:254] for k in ("name", "contact", "role")}
    contact = staff_auth.parse_identifier(typed["contact"])
    if contact is None:
        return _staff_page(r, session, 422, typed=typed, problem="people.bad_contact")
    try:
        body = InviteStaff.model_validate({"name": typed["name"], "role": typed["role"], contact.kind: contact.value})
    except ValidationError:
        return _staff_page(r, session, 422, typed=typed, problem="people.bad_invite")
    try:
        staff.invite(write_request(session, r.form, "/portal/staff", r.call.now), session.principal, body)
    except StaffContactTaken:
        return _staff_page(r, session, 409, typed=typed, problem="people.taken")
    return redirect("/portal/staff")


def _remove(r: Any, session: Session) -> Any:
    try:
        staff.remove(session.principal, r.call.params["staff_id"], r.call.now.isoformat(), r.call.request_id)
    except LastOwner:
        return _staff_page(r, session, 409, problem="people.last_owner")
    return redirect("/portal/staff")


def _change_role(r: Any, session: Session) -> Any:
    role = r.form.get("role", "")
    if role not in ROLES:
        return _staff_page(r, session, 422, problem="people.bad_invite")
    try:
        staff.change_role(session.principal, r.call.params["staff_id"], role, r.call.now.isoformat(), r.call.request_id)
    except LastOwner:
        return _staff_page(r, session, 409, problem="people.last_owner")
    return redirect("/portal/staff")


def _keys_page(
    r: Any, session: Session, created: KeyCreated | None = None, status: int = 200, limit: bool = False
) -> Any:
    listed = partners.listed_keys(session.partner_id)
    page = portal_views.page(
        "portal/keys.html", r.lang, "/portal/keys?lang=", session, keys=listed, created=created, limit=limit
    )
    return _respond(page, status)


def _keys(r: Any, session: Session) -> Any:
    return _keys_page(r, session)


def _issue(r: Any, session: Session, path: str, replaces: str | None = None) -> Any:
    """A new key, shown on this answer only (a reload shows the list); the same press sent twice shows the same."""
    label = r.form.get("label", "").strip()[:MAX_LABEL] or None
    write = write_request(session, r.form, path, r.call.now)
    pepper = runtime.get().settings.key_pepper
    actor = session.principal.actor
    try:
        reply = partners.create_key(write, session.partner_id, pepper, label=label, actor=actor, replaces=replaces)
    except KeyLimitReached:
        return _keys_page(r, session, status=409, limit=True)
    return _keys_page(r, session, reply.result(KeyCreated), 201)


def _create_key(r: Any, session: Session) -> Any:
    return _issue(r, session, "/portal/keys")


def _rotate_key(r: Any, session: Session) -> Any:
    key_id = r.call.params["key_id"]
    old = partners.listed_key(session.partner_id, key_id)
    r.form.setdefault("label", (old.label if old is not None else None) or "")
    return _issue(r, session, f"/portal/keys/{key_id}/rotate", replaces=key_id)


def _revoke_key(r: Any, session: Session) -> Any:
    stamp = Stamp(session.principal.actor, r.call.request_id, r.call.now)
    partners.revoke_key(session.partner_id, r.call.params["key_id"], r.call.now.isoformat(), stamp)
    if session.staff_id is None and session.key_id == r.call.params["key_id"]:
        return redirect("/portal")  # the key this browser signed in with: its session ended with it
    return redirect("/portal/keys")


VIEWS = {
    "staff": _staff,
    "invite": _invite,
    "remove_staff": _remove,
    "change_role": _change_role,
    "keys": _keys,
    "create_key": _create_key,
    "rotate_key": _rotate_key,
    "revoke_key": _revoke_key,
}
