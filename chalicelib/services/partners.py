"""Partners of the coalition and their API keys (operator side), plus the partner directory.

The rates (``earn_rate_bps``, ``max_redeem_share_bps``) move money: a change takes effect from a date
(``effective_from``, default the first day of the next period) and is kept in the item's ``rate_schedule``; the
item's rate attributes stay their first values, and every reader gets the rates in force through this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from chalicelib import cache, db, ids, runtime
from chalicelib.db import api_keys as api_keys_db
from chalicelib.db import partner_keys as partner_keys_db
from chalicelib.db import partners as partners_db
from chalicelib.db.reads import Found
from chalicelib.domain.audit import Change, Stamp, changed
from chalicelib.domain.partners import RATE_SETTINGS, Partner
from chalicelib.domain.schedule import PastDate, Schedule
from chalicelib.errors import KeyLimitReached, NotFound, Unavailable, ValidationFailed
from chalicelib.machinery import audit, program
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import (
    CreatePartner,
    Directory,
    DirectoryEntry,
    KeyCreated,
    PartnerCreated,
    PartnerList,
    PartnerOut,
    PartnerRateChange,
    UpdatePartner,
)
from chalicelib.services import auth, staff

__all__ = [
    "RATE_SETTINGS",
    "Partner",
    "create",
    "create_key",
    "directory",
    "list_partners",
    "listed_key",
    "listed_keys",
    "load",
    "load_all",
    "names",
    "revoke_key",
    "to_out",
    "update",
]

MAX_ATTEMPTS = 5


def _now() -> datetime:
    return runtime.get().clock.now()


def to_out(partner: Partner, at: datetime | None = None) -> PartnerOut:
    at = at if at is not None else _now()
    current = partner.in_force(at)
    return PartnerOut(
        partner_id=partner.partner_id,
        name=partner.name,
        category=partner.category,
        earn_rate_bps=current.earn_rate_bps,
        max_redeem_share_bps=current.max_redeem_share_bps,
        pending_days=partner.pending_days,
        status="suspended" if partner.status == "suspended" else "active",
        created_at=partner.created_at,
        updated_at=partner.updated_at,
        scheduled_changes=[
            PartnerRateChange(effective_from=c.effective_from, **c.values) for c in partner.rate_schedule.upcoming(at)
        ],
        spend_confirmation=_policy(partner),
        spend_confirmation_above_points=(
            partner.spend_confirmation_above_points if _policy(partner) == "above" else None
        ),
        code_free_hold_minutes=partner.code_free_hold_minutes,
    )


def _policy(partner: Partner) -> Literal["always", "above", "never"]:
    policy = partner.spend_confirmation
    return policy if policy in ("above", "never") else "always"  # type: ignore[return-value]


def load(partner_id: str) -> Partner:
    """The partner as stored now (its first rates, with their schedule); 404 if there is none."""
    partner = partners_db.load(partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.")
    return partner


def load_all() -> list[Partner]:
    return partners_db.load_all()


def names() -> dict[str, str]:
    """Every partner's name by id."""
    return {p.partner_id: p.name for p in load_all()}


def list_partners() -> PartnerList:
    return PartnerList(items=[to_out(p) for p in load_all()])


def directory(every: list[Partner] | None = None) -> Directory:
    """Active partners' public fields (rates in force now); pass ``every`` when the caller already read all
    partners."""
    now = _now()
    return Directory(
        items=[
            DirectoryEntry(
                partner_id=p.partner_id,
                name=p.name,
                category=p.category,
                earn_rate_bps=p.in_force(now).earn_rate_bps,
            )
            for p in (load_all() if every is None else every)
            if p.status == "active"
        ]
    )


def _secret_renderer(req: WriteRequest, pepper: str) -> Callable[[str], str]:
    """Replies to key-creating requests carry a placeholder instead of the key (so no record ever holds it); fill
    it in on the way out, derived again from the request's secret seed."""
    seed = req.secret_seed

    def render(body: str) -> str:
        shown = json.loads(body)
        secret = auth.new_secret(shown["key_id"], pepper, seed, shown["partner_id"])
        return body.replace(auth.SECRET_PLACEHOLDER, secret)

    return render


# A partner's active keys at most (its tills', its systems'). Each key has limits of its own (requests, look-ups,
# wrong codes): the cap bounds what one partner can do with all of them (docs/security.md, "Limits").
MAX_ACTIVE_KEYS = 10


def _issue_key(
    req: WriteRequest,
    pepper: str,
    tx: db.Transaction,
    partner_id: str,
    key_id: str,
    label: str | None,
    actor: str,
    counted: tuple[int, bool] | None,
) -> str:
    """``counted``: the partner's active keys and whether that count is stored (None: a rotation, one for one)."""
    raw = auth.new_secret(key_id, pepper, req.secret_seed, partner_id)
    auth.add_key(tx, raw, key_id, "partner", partner_id, pepper, req.now_iso, new_only=True)
    cap = None if counted is None else (counted, MAX_ACTIVE_KEYS)
    partner_keys_db.add(tx, partner_id, key_id, label, req.now_iso, actor, cap)  # the owner's list, and the count
    return auth.SECRET_PLACEHOLDER


def create(req: WriteRequest, body: CreatePartner, pepper: str, actor: str = "") -> Reply:
    """A partner, its first API key and, with ``owner``, its first owner (who signs in with a code), at once."""
    # Ids are drawn once per request, not per attempt: a decision made again after a lost answer names the same
    # partner, and its guards or the request's own record find what the first attempt wrote.
    partner_id, key_id, owner_id = ids.random_id("ptn", 12), ids.random_id("key"), ids.random_id("stf")

    def decide(found: dict[tuple[str, str], object]) -> Plan:
        item = Partner(
            partner_id=partner_id,
            name=body.name,
            category=body.category,
            earn_rate_bps=body.earn_rate_bps,
            max_redeem_share_bps=body.max_redeem_share_bps,
            pending_days=body.pending_days,
            spend_confirmation=body.spend_confirmation,
            spend_confirmation_above_points=body.spend_confirmation_above_points,
            code_free_hold_minutes=body.code_free_hold_minutes,
            status="active",
            created_at=req.now_iso,
            updated_at=req.now_iso,
        )
        plan = Plan(created=True)
        partners_db.add_new(plan.tx, item)
        shown = _issue_key(req, pepper, plan.tx, partner_id, key_id, None, actor or req.actor, (0, False))
        owner = None
        if body.owner is not None:
            owner = staff.add_first_owner(plan.tx, found, partner_id, body.owner, req.now_iso, actor, owner_id)
        owner_staff_id = None if owner is None else owner.staff_id
        out = to_out(item)
        plan.response = PartnerCreated(**out.model_dump(), api_key=shown, key_id=key_id, owner_staff_id=owner_staff_id)
        plan.audit.append(Change("partner.created", f"partner:{partner_id}", partner_id, None, out.model_dump()))
        plan.audit.append(Change("key.created", f"key:{key_id}", partner_id, None, {"key_id": key_id}))
        if owner is not None:
            plan.audit.append(staff.added(owner))
        return plan

    reads = staff.owner_reads(body.owner)
    return execute(req, None, reads, decide, render=_secret_renderer(req, pepper))


def _invalid(msg: str, kind: str) -> ValidationFailed:
    return ValidationFailed.at(["body", "effective_from"], msg, kind)


def _changes(partner: Partner, settings: dict[str, Any], cleared: list[str], schedule: Schedule | None) -> list[Change]:
    """What the audit log records of an update: the status as its own action (suspend, resume), the rest as
    ``partner.updated`` with only the values that change (rates: their schedule)."""
    current = {name: getattr(partner, name) for name in [*settings, *cleared] if hasattr(partner, name)}
    wanted: dict[str, Any] = {**settings, **dict.fromkeys(cleared)}
    if schedule is not None:
        current["rate_schedule"], wanted["rate_schedule"] = partner.rate_schedule.to_list(), schedule.to_list()
    status = wanted.pop("status", partner.status)
    target, out = f"partner:{partner.partner_id}", []
    if status != partner.status:
        action = "partner.suspended" if status == "suspended" else "partner.resumed"
        out.append(Change(action, target, partner.partner_id, {"status": partner.status}, {"status": status}))
    before, after = changed(current, wanted)
    if after:
        out.append(Change("partner.updated", target, partner.partner_id, before, after))
    return out


def update(partner_id: str, change: UpdatePartner, now_iso: str, stamp: Stamp) -> PartnerOut:
    """Name, category, return window and status apply at once; rates are scheduled (see the module docstring)."""
    now = datetime.fromisoformat(now_iso)
    fields = change.model_dump(exclude_unset=True)
    day_text = fields.pop("effective_from", None)
    rates = {name: fields.pop(name) for name in RATE_SETTINGS if name in fields}
    rates = {name: value for name, value in rates.items() if value is not None}
    if day_text is not None and not rates:
        raise _invalid(f"effective_from applies only to {', '.join(RATE_SETTINGS)}", "unused")
    if fields.get("spend_confirmation") in ("always", "never"):
        fields["spend_confirmation_above_points"] = None  # a threshold means nothing without "above"
    settings = {name: value for name, value in fields.items() if value is not None}
    cleared = [
        name
        for name, value in fields.items()
        if value is None and name in ("category", "spend_confirmation_above_points")
    ]
    tz = program.load(now).timezone
    for _ in range(MAX_ATTEMPTS):
        partner = load(partner_id)
        if settings.get("spend_confirmation_above_points") is not None:
            if settings.get("spend_confirmation", partner.spend_confirmation) != "above":
                raise ValidationFailed.at(
                    ["body", "spend_confirmation_above_points"],
                    "applies only with spend_confirmation 'above'",
                    "unused",
                )
        schedule = None
        if rates:
            try:
                schedule = partner.rate_schedule.with_change(rates, program.effective_day(day_text, now, tz), now, tz)
            except PastDate as exc:
                raise _invalid(str(exc), "date_in_past") from exc
        try:
            record = audit.also(_changes(partner, settings, cleared, schedule), stamp)
            partners_db.update(
                partner_id, settings, cleared, now_iso, schedule, read_at=partner.updated_at, also=record
            )
        except db.TxCancelled:
            continue  # the schedule changed concurrently: schedule again on the fresh item
        cache.clear()
        return to_out(load(partner_id), now)
    raise Unavailable("The partner kept changing under this request; nothing was written.")


def create_key(
    req: WriteRequest,
    partner_id: str,
    pepper: str,
    *,
    label: str | None = None,
    actor: str = "",
    replaces: str | None = None,
) -> Reply:
    """Another key for a partner (shown once), with a label for its owner's list. ``replaces``: rotation, the key
    with that id is revoked in the same transaction (it must be the partner's, active and listed)."""
    load(partner_id)
    key_id = ids.random_id("key")
    old = None
    if replaces is not None:
        old = api_keys_db.load_index(replaces)
        if old is None or old.partner_id != partner_id or old.status != "active":
            raise NotFound(f"Partner {partner_id} has no active key {replaces}.")

    def decide(found: Found) -> Plan:
        counted = None
        if old is None:  # one key more (a rotation is one for one): never past the cap, counted in this very write
            counted = partner_keys_db.count.live(found, partner_id)
            if counted[0] >= MAX_ACTIVE_KEYS:
                raise KeyLimitReached(f"A partner has at most {MAX_ACTIVE_KEYS} active API keys; revoke one first.")
        plan = Plan(created=True)
        shown = _issue_key(req, pepper, plan.tx, partner_id, key_id, label, actor or req.actor, counted)
        made = {"key_id": key_id, "label": label}
        if old is not None:
            api_keys_db.revoke(old, req.now_iso, plan.tx)
            partner_keys_db.mark_revoked(plan.tx, partner_id, old.key_id, req.now_iso)
            was = {"key_id": old.key_id, "status": "active"}
            now_is = {**made, "replaced": "revoked"}
            plan.audit.append(Change("key.rotated", f"key:{old.key_id}", partner_id, was, now_is))
        else:
            plan.audit.append(Change("key.created", f"key:{key_id}", partner_id, None, made))
        partners_db.add_exists_check(plan.tx, partner_id)
        plan.response = KeyCreated(key_id=key_id, api_key=shown, partner_id=partner_id, created_at=req.now_iso)
        return plan

    reads = [partner_keys_db.count.read_key(partner_id)] if old is None else []
    reply = execute(req, None, reads, decide, render=_secret_renderer(req, pepper))
    if old is not None:
        cache.clear()  # this instance forgets the revoked key at once (as revoke_key does)
    return reply


def listed_keys(partner_id: str) -> list[partner_keys_db.ListedKey]:
    """The partner's keys as its owner lists them (label, state), newest first."""
    return partner_keys_db.list_keys(partner_id)


def listed_key(partner_id: str, key_id: str) -> partner_keys_db.ListedKey | None:
    return partner_keys_db.load(partner_id, key_id)


def revoke_key(partner_id: str, key_id: str, now_iso: str, stamp: Stamp) -> None:
    index = api_keys_db.load_index(key_id)
    if index is None or index.partner_id != partner_id:
        raise NotFound(f"Partner {partner_id} has no key {key_id}.")
    if index.status == "revoked":
        return
    revoked = Change("key.revoked", f"key:{key_id}", partner_id, {"status": "active"}, {"status": "revoked"})
    for _ in range(3):
        tx = db.Transaction()
        api_keys_db.revoke(index, now_iso, tx, also=audit.also([revoked], stamp))
        found = db.get_many([partner_keys_db.read_key(partner_id, key_id), partner_keys_db.count.read_key(partner_id)])
        listed = partner_keys_db.listed(found, partner_id, key_id)
        if listed is not None and listed.status == "active":  # listed for the owner: shown revoked, counted out
            partner_keys_db.mark_revoked(tx, partner_id, key_id, now_iso, partner_keys_db.count.live(found, partner_id))
        try:
            tx.commit(db.connection())
        except db.TxCancelled as cancelled:
            # (Our own earlier send found committed is the transaction's to tell: its audit record is there.)
            if "partner_key" in cancelled.failed and "audit" not in cancelled.failed:
                break  # revoked meanwhile by another request, which counted it out
            if "key_count" not in cancelled.failed:
                raise
            continue  # the count was first stored meanwhile (a key made or revoked at once): count again
        break
    else:
        raise Unavailable("The partner's keys kept changing under this request; nothing was written.")
    cache.clear()
