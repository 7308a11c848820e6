"""Partners of the coalition and their API keys (operator side), plus the partner directory."""

from __future__ import annotations

import json
from collections.abc import Callable

from chalicelib import auth, cache, db, ids
from chalicelib.db import keys
from chalicelib.errors import NotFound
from chalicelib.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.schemas import (
    CreatePartner,
    Directory,
    DirectoryEntry,
    KeyCreated,
    PartnerCreated,
    PartnerList,
    PartnerOut,
    UpdatePartner,
)


def to_out(item: db.PartnerItem) -> PartnerOut:
    return PartnerOut(
        partner_id=item.partner_id,
        name=item.name,
        category=item.category,
        earn_rate_bps=int(item.earn_rate_bps),
        max_redeem_share_bps=int(item.max_redeem_share_bps),
        pending_days=int(item.pending_days),
        status="suspended" if item.status == "suspended" else "active",
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def cached(partner_id: str) -> db.PartnerItem | None:
    """A partner's settings through the per-process cache (see chalicelib/cache.py); None if there is none."""
    return cache.get(f"partner:{partner_id}", lambda: db.get_one(db.PartnerItem, *keys.partner(partner_id)))


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
    """Active partners' public fields; pass ``every`` when the caller already read all partners."""
    return Directory(
        items=[
            DirectoryEntry(
                partner_id=p.partner_id, name=p.name, category=p.category, earn_rate_bps=int(p.earn_rate_bps)
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


def update(partner_id: str, change: UpdatePartner, now_iso: str) -> PartnerOut:
    item = get(partner_id)
    fields = change.model_dump(exclude_unset=True)
    actions = [getattr(db.PartnerItem, name).set(value) for name, value in fields.items() if value is not None]
    actions += [
        getattr(db.PartnerItem, name).remove() for name, value in fields.items() if value is None and name == "category"
    ]
    actions.append(db.PartnerItem.updated_at.set(now_iso))
    item.update(actions=actions, condition=db.PartnerItem.pk.exists())
    cache.clear()
    return to_out(get(partner_id))


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
