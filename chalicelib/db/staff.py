"""Staff in the table: the people of a partner (or of the operator) who sign in with a one-time code.

- ``STAFF#<scope>`` / ``<staff id>``: one member (scope: the partner id, or ``OPERATOR``). Removing a member keeps
  the item with ``status`` ``removed`` (so a repeated removal is recognised, and the audit can name who it was).
- ``STAFF#<scope>`` / ``#ROSTER``: the number of owners, guarded so a partner never loses its last owner.
- ``STAFFCONTACT#<phone|email>#<value>`` / ``ALIAS``: the contact a member signs in with; one member per contact.
- ``STAFFSESS#<SHA-256 of the session secret>`` / ``SESSION``: a signed-in member. Its check reads the member and
  the partner with it, so removing a member or suspending the partner ends every session at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db import keys
from chalicelib.db.models import PartnerItem, _Item
from chalicelib.db.reads import Found, ReadKey, connection, get_many, get_one
from chalicelib.db.tx import Transaction

__all__ = [
    "OPERATOR_SCOPE",
    "Member",
    "add_member",
    "alias_read",
    "change_role",
    "commit",
    "contact_owner",
    "delete_session",
    "list_members",
    "load_member",
    "member_from",
    "member_read",
    "owners_from",
    "put_session",
    "remove_member",
    "roster_read",
    "session_check",
]

OPERATOR_SCOPE = "OPERATOR"
ROSTER = keys.STAFF_ROSTER
SESSION_TTL_MARGIN_S = 3600


class StaffItem(_Item):
    """``STAFF#<scope>`` / ``<staff id>``: one member of a partner's or the operator's staff."""

    staff_id = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)  # None: the operator's
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    contact_kind = UnicodeAttribute()  # phone | email
    contact = UnicodeAttribute()  # normalised
    status = UnicodeAttribute(default="active")  # active | removed
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)  # the actor: staff:<id> | key:<id>
    removed_at = UnicodeAttribute(null=True)


class StaffRosterItem(_Item):
    """``STAFF#<scope>`` / ``#ROSTER``: how many owners the scope has (only partners have owners)."""

    owners = NumberAttribute(default=0)


class StaffContactItem(_Item):
    """``STAFFCONTACT#<kind>#<value>`` / ``ALIAS``: which member signs in with this phone or e-mail."""

    staff_id = UnicodeAttribute()
    scope = UnicodeAttribute()


class StaffSessionItem(_Item):
    """``STAFFSESS#<SHA-256 of the secret>`` / ``SESSION``: a signed-in member; sign-out deletes it."""

    staff_id = UnicodeAttribute()
    scope = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # epoch seconds
    ttl = NumberAttribute()


@dataclass(frozen=True)
class Member:
    staff_id: str
    scope: str
    partner_id: str | None
    name: str
    role: str
    contact_kind: str
    contact: str
    status: str
    created_at: str


_members, _contact_key, _session_key = keys.staff_members, keys.staff_contact, keys.staff_session


def _member(item: StaffItem, scope: str) -> Member:
    return Member(
        staff_id=item.staff_id,
        scope=scope,
        partner_id=item.partner_id,
        name=item.name,
        role=item.role,
        contact_kind=item.contact_kind,
        contact=item.contact,
        status=str(item.status),
        created_at=item.created_at,
    )


def member_read(scope: str, staff_id: str) -> ReadKey:
    return (StaffItem, _members(scope), staff_id)


def member_from(found: Found, scope: str, staff_id: str) -> Member | None:
    item = found.get((_members(scope), staff_id))
    return _member(item, scope) if isinstance(item, StaffItem) else None


def roster_read(scope: str) -> ReadKey:
    return (StaffRosterItem, _members(scope), ROSTER)


def owners_from(found: Found, scope: str) -> int:
    item = found.get((_members(scope), ROSTER))
    return int(item.owners) if isinstance(item, StaffRosterItem) else 0


def alias_read(kind: str, value: str) -> ReadKey:
    return (StaffContactItem, *_contact_key(kind, value))


def contact_owner(kind: str, value: str) -> tuple[str, str] | None:
    """(scope, staff id) of the member who signs in with this contact; None if nobody does."""
    item = get_one(StaffContactItem, *_contact_key(kind, value))
    return None if item is None else (item.scope, item.staff_id)


def load_member(scope: str, staff_id: str) -> Member | None:
    item = get_one(StaffItem, _members(scope), staff_id)
    return None if item is None else _member(item, scope)


def list_members(scope: str) -> list[Member]:
    """Every active member of one scope, oldest first: one query of its partition."""
    active = StaffItem.status == "active"
    items = StaffItem.query(_members(scope), StaffItem.sk.startswith("stf_"), filter_condition=active)
    return sorted((_member(i, scope) for i in items), key=lambda m: (m.created_at, m.staff_id))


def add_member(tx: Transaction, member: Member, created_by: str) -> None:
    """A new member and its contact (the contact must be nobody's: ``staff_contact`` fails otherwise), and one more
    owner on the roster for an owner."""
    tx.put(
        StaffItem(
            _members(member.scope),
            member.staff_id,
            staff_id=member.staff_id,
            partner_id=member.partner_id,
            name=member.name,
            role=member.role,
            contact_kind=member.contact_kind,
            contact=member.contact,
            status="active",
            created_at=member.created_at,
            created_by=created_by,
        ),
        condition=StaffItem.pk.does_not_exist(),
        tag="staff",
    )
    tx.put(
        StaffContactItem(
            *_contact_key(member.contact_kind, member.contact), staff_id=member.staff_id, scope=member.scope
        ),
        condition=StaffContactItem.pk.does_not_exist(),
        tag="staff_contact",
    )
    if member.role == "owner":
        roster = StaffRosterItem(_members(member.scope), ROSTER)
        tx.update(roster, [StaffRosterItem.owners.add(1)], tag="staff_roster")


def remove_member(tx: Transaction, member: Member, now_iso: str) -> None:
    """The member is removed (only if still active), its contact freed; an owner leaves the roster only while
    another owner stays (``staff_roster`` fails otherwise: the last owner is never removed)."""
    item = StaffItem(_members(member.scope), member.staff_id)
    tx.update(
        item,
        [StaffItem.status.set("removed"), StaffItem.removed_at.set(now_iso)],
        condition=StaffItem.status == "active",
        tag="staff",
    )
    tx.delete(
        StaffContactItem(*_contact_key(member.contact_kind, member.contact)),
        condition=StaffContactItem.staff_id == member.staff_id,
        tag="staff_contact",
    )
    if member.role == "owner":
        _one_owner_fewer(tx, member.scope)


def _one_owner_fewer(tx: Transaction, scope: str) -> None:
    """One owner fewer, only while another owner stays (``staff_roster`` fails otherwise)."""
    roster = StaffRosterItem(_members(scope), ROSTER)
    tx.update(roster, [StaffRosterItem.owners.add(-1)], condition=StaffRosterItem.owners > 1, tag="staff_roster")


def change_role(tx: Transaction, member: Member, role: str) -> None:
    """The member's role becomes ``role`` (only if it is still the one read and the member active); the roster
    counts owners: one fewer only while another owner stays (``staff_roster``), one more for a new owner."""
    item = StaffItem(_members(member.scope), member.staff_id)
    unchanged = (StaffItem.role == member.role) & (StaffItem.status == "active")
    tx.update(item, [StaffItem.role.set(role)], condition=unchanged, tag="staff")
    if member.role == "owner":
        _one_owner_fewer(tx, member.scope)
    elif role == "owner":
        tx.update(StaffRosterItem(_members(member.scope), ROSTER), [StaffRosterItem.owners.add(1)], tag="staff_roster")


def put_session(tx: Transaction, digest: str, scope: str, staff_id: str, now_iso: str, expires_at: int) -> None:
    tx.put(
        StaffSessionItem(
            *_session_key(digest),
            staff_id=staff_id,
            scope=scope,
            created_at=now_iso,
            expires_at=expires_at,
            ttl=expires_at + SESSION_TTL_MARGIN_S,
        ),
        condition=StaffSessionItem.pk.does_not_exist(),
        tag="staff_session",
    )


def session_check(digest: str, scope: str, staff_id: str, now_s: int) -> Member | None:
    """The member a session belongs to, if the session exists, is unexpired and is theirs, the member is active and
    (for a partner's staff) the partner too: one batch read, never cached."""
    wanted: list[ReadKey] = [(StaffSessionItem, *_session_key(digest)), member_read(scope, staff_id)]
    if scope != OPERATOR_SCOPE:
        wanted.append((PartnerItem, *keys.partner(scope)))
    found = get_many(wanted)
    record, member = found.get(_session_key(digest)), member_from(found, scope, staff_id)
    if not isinstance(record, StaffSessionItem) or record.staff_id != staff_id or record.scope != scope:
        return None
    if now_s >= int(record.expires_at) or member is None or member.status != "active":
        return None
    if scope != OPERATOR_SCOPE:
        partner = found.get(keys.partner(scope))
        if partner is None or partner.status != "active":
            return None
    return member


def delete_session(digest: str) -> None:
    StaffSessionItem(*_session_key(digest)).delete()


def commit(tx: Transaction) -> None:
    tx.commit(connection())
