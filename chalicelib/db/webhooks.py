"""Partners' webhook endpoints and their deliveries, stored (see ``outbox_models`` for the items and their keys).

A delivery is created once per (endpoint, event) under ``attribute_not_exists``; each attempt claims it under its
count of attempts and a lease, and records its outcome under that claim, in one transaction with the index of
deliveries due."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.db import keys
from chalicelib.db.capped_counts import CappedCount, Counted
from chalicelib.db.outbox_models import DeliveryDueItem, DeliveryItem, WebhookCountItem, WebhookItem
from chalicelib.db.reads import Found, ReadKey, connection, get_many, get_one
from chalicelib.db.tx import Transaction, TxCancelled
from chalicelib.domain.events import Event
from chalicelib.errors import Unavailable

__all__ = [
    "Attempt",
    "Delivery",
    "DueRef",
    "Webhook",
    "add",
    "claim",
    "count",
    "create_delivery",
    "deliveries",
    "delivery",
    "disable",
    "drop_due",
    "due",
    "get",
    "load",
    "of_partner",
    "read_key",
    "record",
    "remove",
    "reschedule",
    "rotate",
]

DELIVERY_DAYS_KEPT = 30
REMOVE_ATTEMPTS = 5


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    partner_id: str
    url: str
    events: list[str]
    status: str
    created_at: str
    secrets: list[dict[str, Any]]  # [{"salt", "until"}]
    version: int = 0
    disabled_at: str | None = None
    disabled_reason: str | None = None
    disabled_code: str | None = None
    disabled_event: str | None = None


def _webhook(item: WebhookItem) -> Webhook:
    return Webhook(
        webhook_id=item.webhook_id,
        partner_id=item.partner_id,
        url=item.url,
        events=list(json.loads(item.events)),
        status=item.status,
        created_at=item.created_at,
        secrets=list(json.loads(item.secrets)),
        version=int(item.version),
        disabled_at=item.disabled_at,
        disabled_reason=item.disabled_reason,
        disabled_code=item.disabled_code,
        disabled_event=item.disabled_event,
    )


def read_key(partner_id: str, webhook_id: str) -> ReadKey:
    return (WebhookItem, *keys.webhook(partner_id, webhook_id))


def load(found: Found, partner_id: str, webhook_id: str) -> Webhook | None:
    item = found.get(keys.webhook(partner_id, webhook_id))
    return _webhook(item) if isinstance(item, WebhookItem) else None


def get(partner_id: str, webhook_id: str) -> Webhook | None:
    """The partner's own endpoint: another partner's id is simply not in this partner's partition."""
    item = get_one(WebhookItem, *keys.webhook(partner_id, webhook_id))
    return None if item is None else _webhook(item)


def of_partner(partner_id: str) -> list[Webhook]:
    """The partner's endpoints, deleted ones left out."""
    found = WebhookItem.query(keys.webhooks_of(partner_id), consistent_read=True)
    return [_webhook(i) for i in found if i.status != "deleted"]


# Every change of the set of endpoints (registered, deleted) moves this count, in its own transaction.
count = CappedCount(WebhookCountItem, "live", keys.webhook_count, lambda partner: len(of_partner(partner)), "count")


def add(tx: Transaction, hook: Webhook, counted: Counted, cap: int) -> None:
    """Register ``hook`` as the partner's one endpoint more than ``counted`` (:data:`count`), never past ``cap``."""
    count.move(tx, hook.partner_id, counted, 1, cap)
    item = WebhookItem(
        *keys.webhook(hook.partner_id, hook.webhook_id),
        webhook_id=hook.webhook_id,
        partner_id=hook.partner_id,
        url=hook.url,
        events=json.dumps(hook.events),
        status=hook.status,
        created_at=hook.created_at,
        secrets=json.dumps(hook.secrets),
        version=0,
    )
    tx.put(item, condition=WebhookItem.pk.does_not_exist(), tag="webhook")


def rotate(tx: Transaction, hook: Webhook, secrets: list[dict[str, Any]]) -> None:
    """Replace the secrets, if nobody rotated them since ``hook`` was read."""
    item = WebhookItem(*keys.webhook(hook.partner_id, hook.webhook_id))
    actions = [WebhookItem.secrets.set(json.dumps(secrets)), WebhookItem.version.set(hook.version + 1)]
    tx.update(item, actions, condition=WebhookItem.version == hook.version, tag="webhook")


def remove(partner_id: str, webhook_id: str, now_iso: str) -> None:
    """Mark the endpoint deleted (kept, so deleting it again answers the same and its deliveries stay explained;
    they age out with ``ttl``) and count it out, in one transaction; deleting it twice at once counts it out once."""
    item = WebhookItem(*keys.webhook(partner_id, webhook_id))
    for _ in range(REMOVE_ATTEMPTS):
        found = get_many([read_key(partner_id, webhook_id), count.read_key(partner_id)])
        hook = load(found, partner_id, webhook_id)
        if hook is None or hook.status == "deleted":
            return
        tx = Transaction()
        actions = [WebhookItem.status.set("deleted"), WebhookItem.disabled_at.set(now_iso)]
        tx.update(item, actions, condition=WebhookItem.status == hook.status, tag="webhook")
        count.move(tx, partner_id, count.live(found, partner_id), -1)
        try:
            tx.commit(_connection())
            return
        except TxCancelled:
            continue  # deleted or counted meanwhile: read again
    raise Unavailable("The endpoints changed too fast; nothing was deleted. Retry shortly.")


def disable(partner_id: str, webhook_id: str, reason: str, now_iso: str, code: str, event_id: str) -> None:
    item = WebhookItem(*keys.webhook(partner_id, webhook_id))
    tx = Transaction()
    actions = [
        WebhookItem.status.set("disabled"),
        WebhookItem.disabled_at.set(now_iso),
        WebhookItem.disabled_reason.set(reason),
        WebhookItem.disabled_code.set(code),
        WebhookItem.disabled_event.set(event_id),
    ]
    tx.update(item, actions, condition=WebhookItem.pk.exists(), tag="webhook")
    try:
        tx.commit(_connection())
    except TxCancelled:
        return  # deleted meanwhile: nothing left to disable


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    partner_id: str
    event_id: str
    event_type: str
    payload: str
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str | None = None
    lease_until: str | None = None
    delivered_at: str | None = None
    last_attempt_at: str | None = None
    last_status_code: int | None = None
    last_latency_ms: int | None = None
    last_error: str | None = None
    response_excerpt: str | None = None
    retry_from: str | None = None  # the last resend, if any: the retries' three days count from it


def _delivery(item: DeliveryItem) -> Delivery:
    def num(value: Any) -> int | None:
        return None if value is None else int(value)

    return Delivery(
        webhook_id=item.webhook_id,
        partner_id=item.partner_id,
        event_id=item.event_id,
        event_type=item.event_type,
        payload=item.payload,
        status=item.status,
        attempts=int(item.attempts),
        created_at=item.created_at,
        next_attempt_at=item.next_attempt_at,
        lease_until=item.lease_until,
        delivered_at=item.delivered_at,
        last_attempt_at=item.last_attempt_at,
        last_status_code=num(item.last_status_code),
        last_latency_ms=num(item.last_latency_ms),
        last_error=item.last_error,
        response_excerpt=item.response_excerpt,
        retry_from=item.retry_from,
    )


@dataclass(frozen=True)
class DueRef:
    webhook_id: str
    partner_id: str
    event_id: str
    pk: str
    sk: str


def create_delivery(hook: Webhook, event: Event, payload: str, now_iso: str, ttl: int) -> DueRef | None:
    """The endpoint's delivery of the event, due now (where the index lists it); None when it exists already (a
    dispatch run again)."""
    tx = Transaction()
    item = DeliveryItem(
        *keys.delivery(hook.webhook_id, event.event_id),
        webhook_id=hook.webhook_id,
        partner_id=hook.partner_id,
        event_id=event.event_id,
        event_type=event.type,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=now_iso,
        next_attempt_at=now_iso,
        ttl=ttl,
    )
    tx.put(item, condition=DeliveryItem.pk.does_not_exist(), tag="delivery")
    due = _put_due(tx, hook.webhook_id, hook.partner_id, event.event_id, now_iso)
    try:
        tx.commit(_connection())
    except TxCancelled as cancelled:
        if "delivery" in cancelled.failed:
            return None
        raise
    return due


def _put_due(tx: Transaction, webhook_id: str, partner_id: str, event_id: str, at_iso: str) -> DueRef:
    pk, sk = keys.delivery_due(at_iso, webhook_id, event_id)
    due_item = DeliveryDueItem(pk, sk, webhook_id=webhook_id, partner_id=partner_id, event_id=event_id)
    tx.put(due_item, tag="due")
    return DueRef(webhook_id, partner_id, event_id, pk, sk)


def delivery(webhook_id: str, event_id: str) -> Delivery | None:
    item = get_one(DeliveryItem, *keys.delivery(webhook_id, event_id))
    return None if item is None else _delivery(item)


def deliveries(webhook_id: str, limit: int) -> list[Delivery]:
    """The endpoint's deliveries, newest event first."""
    found = DeliveryItem.query(f"HOOKDLV#{webhook_id}", scan_index_forward=False, limit=limit, consistent_read=True)
    return [_delivery(i) for i in found]


def due(now_iso: str, limit: int) -> list[DueRef]:
    """Deliveries whose next attempt is at or before ``now_iso``, oldest first."""
    out: list[DueRef] = []
    for partition in keys.delivery_due_partitions():
        items = DeliveryDueItem.query(
            partition, DeliveryDueItem.sk <= f"{now_iso}#~", limit=limit, consistent_read=True
        )
        out += [DueRef(i.webhook_id, i.partner_id, i.event_id, i.pk, i.sk) for i in items]
    return sorted(out, key=lambda r: r.sk)[:limit]


def _guard(d: Delivery) -> Condition:
    guard: Condition = (DeliveryItem.attempts == d.attempts) & (DeliveryItem.status == d.status)
    return guard


def claim(d: Delivery, now_iso: str, lease_until: str) -> bool:
    """Take the delivery's next attempt: one dispatcher only, and only once a dead one's lease has run out."""
    tx = Transaction()
    item = DeliveryItem(*keys.delivery(d.webhook_id, d.event_id))
    free = DeliveryItem.lease_until.does_not_exist() | (DeliveryItem.lease_until <= now_iso)
    actions = [DeliveryItem.attempts.set(d.attempts + 1), DeliveryItem.lease_until.set(lease_until)]
    tx.update(item, actions, condition=_guard(d) & free & (DeliveryItem.status == "pending"), tag="claim")
    try:
        tx.commit(_connection())
    except TxCancelled:
        return False
    return True


@dataclass(frozen=True)
class Attempt:
    """What one attempt saw, as stored: never more of the answer than an excerpt."""

    at: str
    status_code: int | None
    latency_ms: int
    error: str | None
    excerpt: str | None
    delivered: bool
    next_at: str | None  # None: no further attempt (delivered, or given up)


def record(d: Delivery, attempt: Attempt) -> None:
    """Store the outcome of the attempt ``d`` claimed (``d.attempts`` counts it) and move the delivery in the index
    of deliveries due."""
    tx = Transaction()
    item = DeliveryItem(*keys.delivery(d.webhook_id, d.event_id))
    status = "delivered" if attempt.delivered else ("pending" if attempt.next_at else "failed")
    actions: list[Any] = [
        DeliveryItem.status.set(status),
        DeliveryItem.last_attempt_at.set(attempt.at),
        DeliveryItem.last_latency_ms.set(attempt.latency_ms),
        DeliveryItem.lease_until.remove(),
    ]
    actions += _optional(DeliveryItem.last_status_code, attempt.status_code)
    actions += _optional(DeliveryItem.last_error, attempt.error)
    actions += _optional(DeliveryItem.response_excerpt, attempt.excerpt)
    actions += _optional(DeliveryItem.next_attempt_at, attempt.next_at)
    if attempt.delivered:
        actions.append(DeliveryItem.delivered_at.set(attempt.at))
    tx.update(item, actions, condition=DeliveryItem.attempts == d.attempts, tag="delivery")
    if d.next_attempt_at is not None:
        tx.delete(DeliveryDueItem(*keys.delivery_due(d.next_attempt_at, d.webhook_id, d.event_id)), tag="old-due")
    if attempt.next_at is not None:
        _put_due(tx, d.webhook_id, d.partner_id, d.event_id, attempt.next_at)
    tx.commit(_connection())


def reschedule(d: Delivery, at_iso: str) -> None:
    """Due again at ``at_iso`` (a resend, or an endpoint switched back on), whatever its state."""
    tx = Transaction()
    stage_reschedule(tx, d, at_iso)
    tx.commit(_connection())


def stage_reschedule(tx: Transaction, d: Delivery, at_iso: str) -> None:
    """``reschedule`` inside a caller's transaction (the portal's resend, bound to the press of its form)."""
    item = DeliveryItem(*keys.delivery(d.webhook_id, d.event_id))
    actions = [
        DeliveryItem.status.set("pending"),
        DeliveryItem.next_attempt_at.set(at_iso),
        DeliveryItem.retry_from.set(at_iso),
    ]
    tx.update(item, actions, condition=DeliveryItem.attempts == d.attempts, tag="delivery")
    if d.next_attempt_at is not None and d.next_attempt_at != at_iso:
        tx.delete(DeliveryDueItem(*keys.delivery_due(d.next_attempt_at, d.webhook_id, d.event_id)), tag="old-due")
    _put_due(tx, d.webhook_id, d.partner_id, d.event_id, at_iso)


def drop_due(pk: str, sk: str) -> None:
    """An index entry whose delivery no longer waits (delivered, failed, or its endpoint gone)."""
    DeliveryDueItem(pk, sk).delete()


def _optional(attr: Any, value: Any) -> list[Any]:
    return [attr.set(value)] if value is not None else [attr.remove()]


def _connection() -> Any:
    return connection()
