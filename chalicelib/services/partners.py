"""Partners of the coalition and their API keys (operator side), plus the partner directory.

The rates (``earn_rate_bps``, ``max_redeem_share_bps``) move money: a change takes effect from a date
(``effective_from``, default the first day of the next period) and is kept in the item's ``rate_schedule``; the
item's rate attributes stay their first values, and every reader gets the rates in force through this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from chalicelib import cache, db, ids, runtime
from chalicelib.db import keys
from chalicelib.domain.schedule import PastDate, Schedule
from chalicelib.errors import NotFound, Unavailable, ValidationFailed
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
from chalicelib.services import auth, program
from chalicelib.services.idempotency import Plan, Reply, WriteRequest, execute

RATE_SETTINGS = ("earn_rate_bps", "max_redeem_share_bps")
MAX_ATTEMPTS = 5


def rate_schedule(item: db.PartnerItem) -> Schedule:
    base = {name: int(getattr(item, name)) for name in RATE_SETTINGS}
    raw = item.rate_schedule.as_dict() if item.rate_schedule else {}
    return Schedule.from_list(base, raw.get("changes"))


def _now() -> datetime:
    return runtime.get().clock.now()


def in_force(item: db.PartnerItem, at: datetime | None = None) -> db.PartnerItem:
    """The item with the rates in force at ``at`` (default: now); a copy when a change was ever scheduled."""
    schedule = rate_schedule(item)
    if not schedule.changes:
        return item
    copy = db.PartnerItem.from_raw_data(item.serialize())
    for name, value in schedule.at(at if at is not None else _now()).items():
        setattr(copy, name, value)
    return copy


def to_out(item: db.PartnerItem, at: datetime | None = None) -> PartnerOut:
    at = at if at is not None else _now()
    current = in_force(item, at)
    return PartnerOut(
        partner_id=item.partner_id,
        name=item.name,
        category=item.category,
        earn_rate_bps=int(current.earn_rate_bps),
        max_redeem_share_bps=int(current.max_redeem_share_bps),
        pending_days=int(item.pending_days),
        status="suspended" if item.status == "suspended" else "active",
        created_at=item.created_at,
        updated_at=item.updated_at,
        scheduled_changes=[
            PartnerRateChange(effective_from=c.effective_from, **c.values) for c in rate_schedule(item).upcoming(at)
        ],
        spend_confirmation=_policy(item),
        spend_confirmation_above_points=(
            int(item.spend_confirmation_above_points) if _policy(item) == "above" else None
        ),
    )


def _policy(item: db.PartnerItem) -> Literal["always", "above", "never"]:
    policy = item.spend_confirmation or "always"
    return policy if policy in ("above", "never") else "always"  # type: ignore[return-value]


def cached(partner_id: str, at: datetime | None = None) -> db.PartnerItem | None:
    """A partner's settings, with the rates in force at ``at`` (default: now), through the per-process cache (see
    chalicelib/cache.py); None if there is none."""
    item = cache.get(f"partner:{partner_id}", lambda: db.get_one(db.PartnerItem, *keys.partner(partner_id)))
    return None if item is None else in_force(item, at)


def get(partner_id: str) -> db.PartnerItem:
    item = db.get_one(db.PartnerItem, *keys.partner(partner_id))
    if item is None:
        raise NotFound(f"No partner {partner_id}.")
    return item


def all_partners() -> list[db.PartnerItem]:
    pk, _ = keys.partner("")
    return list(db.PartnerItem.query(pk, consistent_read=True))


def list_partners() -> PartnerList:
    return PartnerList(items=[to_out(p) for p in all_partners()])


def directory(every: list[db.PartnerItem] | None = None) -> Directory:
    """Active partners' public fields (rates in force now); pass ``every`` when the caller already read all
    partners."""
    now = _now()
    return Directory(
        items=[
            DirectoryEntry(
                partner_id=p.partner_id,
                name=p.name,
                category=p.category,
                earn_rate_bps=int(in_force(p, now).earn_rate_bps),
            )
            for p in (all_partners() if every is None else every)
            if p.status == "active"
        ]
    )


def _secret_renderer(req: WriteRequest, pepper: str) -> Callable[[str], str]:
    """Replies to key-creating requests carry a placeholder instead of the key (so no record ever holds it); fill
    it in on the way out, derived again from the request's secret seed."""
    seed = req.secret_seed

    def render(body: str) -> str:
        key_id = json.loads(body)["key_id"]
        return body.replace(auth.SECRET_PLACEHOLDER, auth.new_secret(key_id, pepper, seed))

    return render


def _issue_key(req: WriteRequest, pepper: str, tx: db.Transaction, partner_id: str, key_id: str) -> str:
    raw = auth.new_secret(key_id, pepper, req.secret_seed)
    api, index = auth.key_items(raw, key_id, "partner", partner_id, pepper, req.now_iso)
    tx.put(api, condition=db.ApiKeyItem.pk.does_not_exist())
    tx.put(index, condition=db.KeyIdItem.pk.does_not_exist())
    return auth.SECRET_PLACEHOLDER


def create(req: WriteRequest, body: CreatePartner, pepper: str) -> Reply:
    # Ids are drawn once per request, not per attempt: a decision made again after a lost answer names the same
    # partner, and its guards or the request's own record find what the first attempt wrote.
    partner_id, key_id = ids.random_id("ptn", 12), ids.random_id("key")

    def decide(_: dict[tuple[str, str], object]) -> Plan:
        item = db.PartnerItem(
            *keys.partner(partner_id),
            partner_id=partner_id,
            name=body.name,
            category=body.category,
            earn_rate_bps=body.earn_rate_bps,
            max_redeem_share_bps=body.max_redeem_share_bps,
            pending_days=body.pending_days,
            spend_confirmation=body.spend_confirmation,
            spend_confirmation_above_points=body.spend_confirmation_above_points,
            status="active",
            created_at=req.now_iso,
            updated_at=req.now_iso,
        )
        plan = Plan(status=201)
        plan.tx.put(item, condition=db.PartnerItem.pk.does_not_exist())
        shown = _issue_key(req, pepper, plan.tx, partner_id, key_id)
        plan.response = PartnerCreated(**to_out(item).model_dump(), api_key=shown, key_id=key_id)
        return plan

    return execute(req, None, [], decide, render=_secret_renderer(req, pepper))


def _invalid(msg: str, kind: str) -> ValidationFailed:
    return ValidationFailed([{"loc": ["body", "effective_from"], "msg": msg, "type": kind}])


def update(partner_id: str, change: UpdatePartner, now_iso: str) -> PartnerOut:
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
    actions = [getattr(db.PartnerItem, name).set(value) for name, value in fields.items() if value is not None]
    actions += [
        getattr(db.PartnerItem, name).remove()
        for name, value in fields.items()
        if value is None and name in ("category", "spend_confirmation_above_points")
    ]
    actions.append(db.PartnerItem.updated_at.set(now_iso))
    tz = program.load(now).timezone
    for _ in range(MAX_ATTEMPTS):
        item = get(partner_id)
        if "spend_confirmation_above_points" in fields and fields["spend_confirmation_above_points"] is not None:
            if fields.get("spend_confirmation", _policy(item)) != "above":
                raise ValidationFailed.at(
                    ["body", "spend_confirmation_above_points"],
                    "applies only with spend_confirmation 'above'",
                    "unused",
                )
        condition = db.PartnerItem.pk.exists()
        extra = []
        if rates:
            try:
                schedule = rate_schedule(item).with_change(rates, program.effective_day(day_text, now, tz), now, tz)
            except PastDate as exc:
                raise _invalid(str(exc), "date_in_past") from exc
            extra.append(db.PartnerItem.rate_schedule.set({"changes": schedule.to_list()}))
            condition &= db.PartnerItem.updated_at == item.updated_at
        tx = db.Transaction()
        tx.update(item, [*actions, *extra], condition=condition)
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            continue  # the schedule changed concurrently: schedule again on the fresh item
        cache.clear()
        return to_out(get(partner_id), now)
    raise Unavailable("The partner kept changing under this request; nothing was written.")


def create_key(req: WriteRequest, partner_id: str, pepper: str) -> Reply:
    get(partner_id)
    key_id = ids.random_id("key")

    def decide(_: dict[tuple[str, str], object]) -> Plan:
        plan = Plan(status=201)
        shown = _issue_key(req, pepper, plan.tx, partner_id, key_id)
        plan.tx.check(db.PartnerItem, *keys.partner(partner_id), condition=db.PartnerItem.pk.exists())
        plan.response = KeyCreated(key_id=key_id, api_key=shown, partner_id=partner_id, created_at=req.now_iso)
        return plan

    return execute(req, None, [], decide, render=_secret_renderer(req, pepper))


def revoke_key(partner_id: str, key_id: str, now_iso: str) -> None:
    index = db.get_one(db.KeyIdItem, *keys.key_id(key_id))
    if index is None or index.partner_id != partner_id:
        raise NotFound(f"Partner {partner_id} has no key {key_id}.")
    if index.status == "revoked":
        return
    tx = db.Transaction()
    tx.update(
        db.ApiKeyItem(*keys.api_key(index.key_hash)),
        actions=[db.ApiKeyItem.status.set("revoked"), db.ApiKeyItem.revoked_at.set(now_iso)],
        condition=db.ApiKeyItem.pk.exists(),
    )
    tx.update(index, actions=[db.KeyIdItem.status.set("revoked")])
    tx.commit(db.connection())
    cache.clear()
