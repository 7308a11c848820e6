"""The dispatcher: events from the outbox to the partners' webhook endpoints, with exactly-once effect per endpoint.

At least once in, exactly once out: an event may reach the dispatcher twice (a stream batch retried, the poller
and the stream both), but its delivery to an endpoint is created once, under ``attribute_not_exists`` on (endpoint,
event), and each attempt is claimed under the delivery's count of attempts. A dispatcher that dies mid-batch leaves
its events in the outbox (fanned out again: the deliveries that exist are found) and its claimed attempt under a
lease (taken again once the lease runs out). A receiver still dedupes by the event ``id``: an answer lost on the
network is an attempt that failed to us and a delivery to it.

In AWS a DynamoDB Stream on the table feeds :func:`handle_stream` (infra/build_template.py), and a schedule runs
:func:`poll` every minute for retries and for anything the stream left; ``make run`` polls from a thread
(local/run.py), tests call :func:`poll` with their clock."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import db, outbound
from chalicelib.db import outbox as outbox_db
from chalicelib.db import webhooks as webhooks_db
from chalicelib.domain import signing
from chalicelib.domain.events import (
    BROADCAST,
    MESSAGE_REQUESTED,
    SETTLEMENT_CLOSED,
    Event,
    split_by_issuer,
    subscribed,
)
from chalicelib.notify import webhook_http
from chalicelib.notify.webhook_http import Sent
from chalicelib.services import (
    amo_sync,
    campaign_offers,
    crm_subscribers,
    crm_sync,
    customer_notes,
    message_outbox,
    spend_notices,
    webhooks,
)

log = logging.getLogger("loyalty.dispatcher")

LEASE = timedelta(seconds=60)  # longer than an attempt can take (webhook_http.TIMEOUT_SECONDS)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # then the delivery fails and its endpoint is switched off
KEEP_DELIVERIES = timedelta(days=30)
BATCH = 100
EXPAND_CHUNK = 90  # events put per transaction when a broadcast is expanded (DynamoDB allows 100 items)
SIGNATURE_HEADER = "Loyalty-Signature"

Sender = Callable[[str, bytes, dict[str, str]], Sent]

__all__ = ["SIGNATURE_HEADER", "Sender", "deliver_due", "dispatch", "handle_stream", "next_attempt", "poll"]


def http_sender(url: str, body: bytes, headers: dict[str, str]) -> Sent:
    return webhook_http.post(url, body, headers, outbound.production())


def poll(now: datetime, sender: Sender | None = None) -> int:
    """One pass: dispatch what waits in the outbox, then every attempt that is due, then what waits for the
    partners' CRMs (each change sent with the balance as it is now). Returns the webhook attempts made."""
    dispatch(outbox_db.pending(BATCH), now, sender, attempt_now=False)
    dispatch(outbox_db.messages(BATCH), now)  # codes and links whose first send failed: sent again if still good
    spend_notices.flush(now)  # a spend without the customer's code: told at once, and again if a send failed
    made = deliver_due(now, sender)
    crm_sync.flush(now)
    amo_sync.flush(now)
    customer_notes.flush(now)  # after a purchase, a tier reached: what waited for its time
    campaign_offers.flush(now)  # a bounded step of each campaign being offered
    return made


def handle_stream(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stream Lambda: dispatch the outbox items a batch inserted. A record that fails is reported alone
    (``ReportBatchItemFailures``): the stream retries from it, then sends it to the on-failure destination; the
    poll finds whatever is left in the outbox either way."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue
        found = outbox_db.from_image(record.get("dynamodb", {}).get("NewImage", {}))
        if found is None:
            continue
        try:
            dispatch([found], now)
        except Exception:
            log.exception("dispatch failed for %s", found.event_id)
            failures.append({"itemIdentifier": str(record.get("dynamodb", {}).get("SequenceNumber", ""))})
            break  # later records of the shard are retried after this one (the stream keeps their order)
    return {"batchItemFailures": failures}


def dispatch(events: Sequence[Event], now: datetime, sender: Sender | None = None, *, attempt_now: bool = True) -> None:
    """Create each event's deliveries (once per endpoint), take it out of the outbox, and make the first attempt of
    each delivery created here (``attempt_now``; the poll leaves them to its pass over what is due)."""
    created = _fan_out(events, now)
    if attempt_now and any(spend_notices.concerns(e) for e in events):  # the stream's pass: a security notice
        spend_notices.flush(now)  # goes out now, not at the next minute's poll
    if attempt_now:
        for ref in created:
            _attempt(ref, now, sender or http_sender)


def _fan_out(events: Sequence[Event], now: datetime) -> list[webhooks_db.DueRef]:
    created: list[webhooks_db.DueRef] = []
    crms = crm_subscribers.Batch(events)  # the CRM connectors: which each partner has, read once for the batch
    for event in events:
        if event.type == MESSAGE_REQUESTED:  # the coalition's own message: never a partner's
            message_outbox.deliver_waiting(event, now)
            continue
        if event.partner_id == BROADCAST:
            created += _fan_out(_expand(event), now)
            continue
        payload = json.dumps(event.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        ttl = int((now + KEEP_DELIVERIES).timestamp())
        for hook in webhooks_db.of_partner(event.partner_id):
            if hook.status == "active" and subscribed(hook.events, event.type):
                ref = webhooks_db.create_delivery(hook, event, payload, now.isoformat(), ttl)
                created += [ref] if ref is not None else []
        crms.accept(event)
        customer_notes.accept(event, now)  # messages to the customer: once per event, sent by the pass
        spend_notices.accept(event, now)
        campaign_offers.accept(event, now)
        outbox_db.delete(event.event_id)
    return created


def _expand(event: Event) -> list[Event]:
    """A broadcast (a settlement close, points expired or taken from several partners' lots) becomes one event per
    partner, each with its own part; put back in the outbox in a few transactions (their ids are derived from the
    broadcast's, so expanding twice is harmless)."""
    from chalicelib.services import settlement

    parts = settlement.partner_events(event) if event.type == SETTLEMENT_CLOSED else split_by_issuer(event)
    for start in range(0, len(parts), EXPAND_CHUNK):
        tx = db.Transaction()
        outbox_db.stage(tx, parts[start : start + EXPAND_CHUNK])
        tx.commit(db.connection())
    outbox_db.delete(event.event_id)
    return [p for p in parts if p.partner_id != BROADCAST]


def deliver_due(now: datetime, sender: Sender | None = None) -> int:
    """Every attempt due by ``now``; returns how many were made."""
    made = 0
    for ref in webhooks_db.due(now.isoformat(), BATCH):
        made += _attempt(ref, now, sender or http_sender)
    return made


def next_attempt(created_at: str, attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed: 1 min, 2, 4... at most 6 h apart; None once three days have
    passed since the delivery was created."""
    delay: timedelta = min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, attempts - 1))
    at: datetime = now + delay
    if at - datetime.fromisoformat(created_at) > GIVE_UP_AFTER:
        return None
    return at


def _attempt(ref: webhooks_db.DueRef, now: datetime, sender: Sender) -> int:
    now_iso = now.isoformat()
    d = webhooks_db.delivery(ref.webhook_id, ref.event_id)
    hook = webhooks_db.get(ref.partner_id, ref.webhook_id)
    if d is None or d.status != "pending" or hook is None or hook.status != "active":
        webhooks_db.drop_due(ref.pk, ref.sk)  # nothing waits on this entry any more
        return 0
    if d.next_attempt_at is None or not ref.sk.startswith(d.next_attempt_at + "#"):
        webhooks_db.drop_due(ref.pk, ref.sk)  # an entry left behind by a resend: the delivery has a newer one
        return 0
    if not webhooks_db.claim(d, now_iso, (now + LEASE).isoformat()):
        return 0  # another dispatcher has it, or a dead one's lease still runs
    claimed = replace(d, attempts=d.attempts + 1)
    body = d.payload.encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signing.header(webhooks.signing_secrets(hook, now), int(now.timestamp()), body),
        "Loyalty-Event-Id": d.event_id,
        "Loyalty-Event-Type": d.event_type,
    }
    sent = sender(hook.url, body, headers)
    # Three days from the delivery's creation, or from its last resend: a resent old event is not three days late.
    later = None if sent.ok else next_attempt(d.retry_from or d.created_at, claimed.attempts, now)
    attempt = webhooks_db.Attempt(
        at=now_iso,
        status_code=sent.status,
        latency_ms=sent.latency_ms,
        error=sent.error,
        excerpt=sent.excerpt,
        delivered=sent.ok,
        next_at=later.isoformat() if later is not None else None,
    )
    try:
        webhooks_db.record(claimed, attempt)
    except db.TxCancelled:  # our lease ran out and another dispatcher claimed the next attempt: its outcome counts
        log.warning("attempt %d of %s outlived its lease", claimed.attempts, d.event_id)
        return 1
    if not sent.ok and later is None:
        webhooks.give_up(hook, d.event_id, now)
    return 1
