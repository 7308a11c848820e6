"""Partners' webhook endpoints: register, list, remove, rotate the signing secret, see and resend deliveries.

A partner reaches only its own endpoints (they live in its own partition; another partner's id is a 404) and only
its own events (an event names the one partner told of it). A secret is shown once: the table keeps a salt, the
secret is derived from it and the server's pepper (``signing.derive``), and the create/rotate answer's record holds
a placeholder filled in on the way out, like an API key's."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from chalicelib import ids, outbound, runtime
from chalicelib.db import webhooks as webhooks_db
from chalicelib.db.reads import Found
from chalicelib.db.webhooks import Delivery, Webhook
from chalicelib.domain import signing
from chalicelib.errors import Conflict, NotFound, ValidationFailed, WebhookLimitReached
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.notify import webhook_http
from chalicelib.schemas import (
    CreateWebhook,
    DeliveryList,
    DeliveryOut,
    ResendOut,
    RotateWebhookSecret,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookSecretRotated,
)
from chalicelib.services import owner_notices

MAX_WEBHOOKS = 10  # endpoints per partner
DISABLED = "webhook_disabled"  # the owners' notice (message_texts) and its purpose
UNDELIVERABLE: Literal["undeliverable"] = "undeliverable"  # disabled_code: an event failed for three days
# The codes the API names; none for an endpoint switched off before the codes existed.
_DISABLED_CODES: dict[str, Literal["undeliverable"]] = {UNDELIVERABLE: UNDELIVERABLE}
SECRET_PLACEHOLDER = "__WEBHOOK_SECRET__"  # noqa: S105 - a marker, not a secret

__all__ = ["MAX_WEBHOOKS", "create", "deliveries", "give_up", "listing", "remove", "resend", "resend_once", "rotate"]


def _pepper() -> str:
    return runtime.get().settings.key_pepper


def _secret(salt: str) -> str:
    return "whsec_" + signing.derive(_pepper(), "webhook-secret", salt)[:48]


def _salt(seed: str, webhook_id: str, purpose: str) -> str:
    """Derived from the request's secret seed, so a replay of the request shows the same secret again."""
    return signing.derive(_pepper(), f"webhook-salt-{purpose}", f"{seed}\n{webhook_id}")[:32]


def signing_secrets(hook: Webhook, now: datetime) -> list[str]:
    """The secrets a delivery is signed with at ``now``: the current one, and the previous one while it overlaps."""
    iso = now.isoformat()
    return [_secret(s["salt"]) for s in hook.secrets if s.get("until") is None or str(s["until"]) > iso]


def _out(hook: Webhook, now: datetime | None = None) -> WebhookOut:
    iso = (now or datetime.fromisoformat(hook.created_at)).isoformat()
    overlap = [str(s["until"]) for s in hook.secrets if s.get("until") is not None and str(s["until"]) > iso]
    return WebhookOut(
        webhook_id=hook.webhook_id,
        url=hook.url,
        events=hook.events,
        status="active" if hook.status == "active" else "disabled",
        created_at=hook.created_at,
        previous_secret_valid_until=max(overlap) if overlap else None,
        disabled_at=hook.disabled_at,
        disabled_reason=hook.disabled_reason,
        disabled_code=_DISABLED_CODES.get(hook.disabled_code or ""),
        disabled_event_id=hook.disabled_event,
    )


def _renderer(req: WriteRequest, purpose: str) -> Callable[[str], str]:
    """Fills the secret in on the way out, derived again from the request's seed and the webhook id the recorded
    answer names (a replay draws a new id of its own, which names nothing)."""
    seed = req.secret_seed

    def render(body: str) -> str:
        if SECRET_PLACEHOLDER not in body:
            return body  # an error
        webhook_id = str(json.loads(body)["webhook_id"])
        return body.replace(SECRET_PLACEHOLDER, _secret(_salt(seed, webhook_id, purpose)))

    return render


def create(req: WriteRequest, body: CreateWebhook, partner_id: str, now: datetime) -> Reply:
    reason = webhook_http.refusal(body.url, outbound.production())
    if reason is not None:
        raise ValidationFailed.at(["body", "url"], reason, "url_refused")
    webhook_id = ids.random_id("whk")

    def decide(found: Found) -> Plan:
        # It bounds the fan-out of one event; the count is moved in this very write, under the cap (a registration
        # that raced another to it is cancelled, reads again and is refused here).
        counted = webhooks_db.count.live(found, partner_id)
        if counted[0] >= MAX_WEBHOOKS:
            raise WebhookLimitReached(f"A partner has at most {MAX_WEBHOOKS} webhook endpoints; delete one first.")
        hook = Webhook(
            webhook_id=webhook_id,
            partner_id=partner_id,
            url=body.url,
            events=list(body.events),
            status="active",
            created_at=now.isoformat(),
            secrets=[{"salt": _salt(req.secret_seed, webhook_id, "create"), "until": None}],
        )
        plan = Plan(created=True)
        webhooks_db.add(plan.tx, hook, counted, MAX_WEBHOOKS)
        plan.response = WebhookCreated(**_out(hook, now).model_dump(), secret=SECRET_PLACEHOLDER)
        return plan

    return execute(req, None, [webhooks_db.count.read_key(partner_id)], decide, render=_renderer(req, "create"))


def _own(partner_id: str, webhook_id: str) -> Webhook:
    hook = webhooks_db.get(partner_id, webhook_id)
    if hook is None or hook.status == "deleted":
        raise NotFound(f"No webhook {webhook_id}.")
    return hook


def listing(partner_id: str, now: datetime) -> WebhookList:
    return WebhookList(items=[_out(h, now) for h in webhooks_db.of_partner(partner_id)])


def remove(partner_id: str, webhook_id: str, now: datetime) -> None:
    """Deleting twice answers the same: the second finds it deleted."""
    hook = webhooks_db.get(partner_id, webhook_id)
    if hook is None:
        raise NotFound(f"No webhook {webhook_id}.")
    if hook.status != "deleted":
        webhooks_db.remove(partner_id, webhook_id, now.isoformat())


def rotate(req: WriteRequest, partner_id: str, webhook_id: str, body: RotateWebhookSecret, now: datetime) -> Reply:
    """A new secret signs from now on; the current one keeps signing too until the overlap ends."""
    until = (now + timedelta(hours=body.overlap_hours)).isoformat()
    purpose = "rotate"  # the salt also depends on the request's seed: each rotation has its own

    def decide(found: Found) -> Plan:
        hook = webhooks_db.load(found, partner_id, webhook_id)
        if hook is None or hook.status == "deleted":
            raise NotFound(f"No webhook {webhook_id}.")
        iso = now.isoformat()
        kept = [
            {"salt": s["salt"], "until": until if s.get("until") is None else s["until"]}
            for s in hook.secrets
            if s.get("until") is None  # the current one overlaps; an older one stops now
        ]
        secrets = [{"salt": _salt(req.secret_seed, webhook_id, purpose), "until": None}, *kept]
        secrets = [s for s in secrets if s["until"] is None or str(s["until"]) > iso]
        plan = Plan()
        webhooks_db.rotate(plan.tx, hook, secrets)
        plan.response = WebhookSecretRotated(
            webhook_id=webhook_id, secret=SECRET_PLACEHOLDER, previous_secret_valid_until=until
        )
        return plan

    return execute(req, None, [webhooks_db.read_key(partner_id, webhook_id)], decide, render=_renderer(req, purpose))


def _delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=d.event_id,
        event_id=d.event_id,
        event_type=d.event_type,
        status="delivered" if d.status == "delivered" else ("failed" if d.status == "failed" else "pending"),
        attempts=d.attempts,
        created_at=d.created_at,
        last_attempt_at=d.last_attempt_at,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        delivered_at=d.delivered_at,
        response_code=d.last_status_code,
        latency_ms=d.last_latency_ms,
        error=d.last_error,
        response_excerpt=d.response_excerpt,
    )


def deliveries(partner_id: str, webhook_id: str, limit: int) -> DeliveryList:
    hook = _own(partner_id, webhook_id)
    return DeliveryList(items=[_delivery_out(d) for d in webhooks_db.deliveries(hook.webhook_id, limit)])


def _resendable(partner_id: str, webhook_id: str, delivery_id: str) -> Delivery:
    hook = _own(partner_id, webhook_id)
    d = webhooks_db.delivery(hook.webhook_id, delivery_id)
    if d is None:
        raise NotFound(f"No delivery {delivery_id}.")
    if hook.status != "active":
        raise Conflict("This endpoint is switched off: register it again, then resend from the new one's events.")
    return d


def resend(partner_id: str, webhook_id: str, delivery_id: str, now: datetime) -> ResendOut:
    """Send the delivery again at the next dispatcher pass (the same body, signed anew), whatever its state."""
    d = _resendable(partner_id, webhook_id, delivery_id)
    webhooks_db.reschedule(d, now.isoformat())
    return ResendOut(delivery_id=d.event_id, status="pending", next_attempt_at=now.isoformat())


def resend_once(req: WriteRequest, partner_id: str, webhook_id: str, delivery_id: str, now: datetime) -> Reply:
    """``resend`` bound to one request: the same press sent twice (a double click, a reload) resends once."""

    def decide(_: Found) -> Plan:
        d = _resendable(partner_id, webhook_id, delivery_id)
        plan = Plan()
        webhooks_db.stage_reschedule(plan.tx, d, now.isoformat())
        plan.response = ResendOut(delivery_id=d.event_id, status="pending", next_attempt_at=now.isoformat())
        return plan

    return execute(req, None, [], decide)


def give_up(hook: Webhook, event_id: str, now: datetime) -> None:
    """Three days of failures: the endpoint is switched off, the reason recorded where the partner sees it (its
    webhook list), and each of the partner's owners told through the notifications port (their sign-in contact)."""
    reason = (
        f"Switched off on {now.date().isoformat()}: event {event_id} could not be delivered for three days. "
        "Fix the endpoint, then register it again and resend what it missed."
    )
    webhooks_db.disable(hook.partner_id, hook.webhook_id, reason, now.isoformat(), UNDELIVERABLE, event_id)
    owner_notices.tell_owners(hook.partner_id, DISABLED, url=hook.url, event=event_id)
