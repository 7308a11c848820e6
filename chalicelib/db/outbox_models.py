"""Items of the events that leave the coalition: the outbox (written in the transaction of the change each event
describes), partners' webhook endpoints, one delivery per (endpoint, event), and the index of deliveries due.
Bound to the one table with every other item (``models.bind`` binds every subclass of ``_Item``)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.models import _Item

__all__ = ["DeliveryDueItem", "DeliveryItem", "OutboxItem", "WebhookCountItem", "WebhookItem"]


class OutboxItem(_Item):
    """``OUTBOX#<shard>`` / ``<event id>``: an event not yet handed to its subscribers. Put in the very transaction
    of its change; the dispatcher deletes it once every delivery it causes exists (a DynamoDB Stream in AWS sees the
    put, ``make run`` and tests poll the partitions)."""

    event_type = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    data = UnicodeAttribute(default="{}")  # JSON: ids and amounts only (a message: what re-derives it, never a code)
    # A message the coalition sends itself (``message.requested``): an attempt under way until ``lease_until``,
    # the next attempt of the poll not before ``not_before``; the item is deleted once the message went out.
    lease_until = UnicodeAttribute(null=True)
    not_before = UnicodeAttribute(null=True)
    attempts = NumberAttribute(null=True)


class WebhookItem(_Item):
    """``HOOKS#<partner>`` / ``HOOK#<webhook id>``: one endpoint of one partner (its own partition: a partner reads
    and changes only its own). ``secrets`` holds salts, never a secret: each secret is derived from its salt and the
    server's pepper, which the table never holds."""

    webhook_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = UnicodeAttribute()  # JSON list of event types, or ["*"]
    status = UnicodeAttribute()  # active | disabled
    created_at = UnicodeAttribute()
    secrets = UnicodeAttribute()  # JSON list of {"salt", "until"}: "until" null for the current one
    version = NumberAttribute(default=0)  # guards the rotation of secrets
    disabled_at = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)  # English, as the API has always said it
    disabled_code = UnicodeAttribute(null=True)  # why, for a text in the reader's language: undeliverable
    disabled_event = UnicodeAttribute(null=True)  # the event that could not be delivered


class WebhookCountItem(_Item):
    """``HOOKCOUNT#<partner>`` / ``COUNT``: how many endpoints the partner has (active or disabled, not deleted).
    Registering adds one under ``live < cap`` and deleting takes one, each in the transaction of its change, so two
    registrations at once cannot pass the cap together. Absent for a partner whose endpoints predate it: the first
    change counts them and puts it under ``attribute_not_exists``."""

    live = NumberAttribute(default=0)


class DeliveryItem(_Item):
    """``HOOKDLV#<webhook id>`` / ``<event id>``: the one delivery of an event to an endpoint. Created under
    ``attribute_not_exists``, so a second dispatch of the event finds it; each attempt claims it under its
    ``attempts`` count, so two dispatchers never send the same attempt."""

    webhook_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    payload = UnicodeAttribute()  # the JSON body sent, fixed at creation (a resend sends the same bytes)
    status = UnicodeAttribute()  # pending | delivered | failed
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    next_attempt_at = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)  # an attempt under way until then (a dispatcher that died frees it)
    delivered_at = UnicodeAttribute(null=True)
    last_attempt_at = UnicodeAttribute(null=True)
    last_status_code = NumberAttribute(null=True)
    last_latency_ms = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    response_excerpt = UnicodeAttribute(null=True)  # the first bytes of the answer, nothing more
    retry_from = UnicodeAttribute(null=True)  # the last resend: its three days of retries count from then
    ttl = NumberAttribute(null=True)


class DeliveryDueItem(_Item):
    """``HOOKDUE#<shard>`` / ``<next attempt ISO>#<webhook id>#<event id>``: a delivery waiting for its next attempt,
    in time order, so the retry pass reads only what is due."""

    webhook_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
