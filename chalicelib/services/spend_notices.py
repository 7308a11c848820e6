"""The notice to a customer that a partner spent (or held) her points without her code: a subscriber of the
dispatcher, like the purchase note (``services/customer_notes.py``), so the till's request makes no call to any
channel and no write beyond its own transaction (the redemption's event carries the mark, ``spend_policy``).

A security notice, not a courtesy: quiet hours do not hold it (a spend at 23:30 that the customer did not make is
what she must hear of at once), it goes to every channel that reaches her, consent or not, and it waits in a list
of its own (``NOTICEDUE``) so no night of purchase notes stands in front of it.

Exactly once per event: :func:`accept` puts the notice in the waiting list under the event's instant and id (a
second dispatch of the event names the same key); :func:`flush` claims the customer's message mark
(``spend_notice#<event id>``) under ``attribute_not_exists`` before sending and gives it back when the send fails,
so the next pass tries again. A notice that could not go out for :data:`STALE_AFTER` is dropped (logged): the spend
is on her page and in her history by then."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from chalicelib.db import customer_notes as customer_notes_db
from chalicelib.db import customers as customers_db
from chalicelib.db import messages as messages_db
from chalicelib.db import partners as partners_db
from chalicelib.db.customer_notes import NOTICES, Note
from chalicelib.db.customers import Customer
from chalicelib.domain.events import CODE_FREE, HELD_UNTIL, REDEMPTION_CREATED, Event
from chalicelib.domain.periods import zone
from chalicelib.errors import ApiError, CustomerUnreachable
from chalicelib.machinery import program
from chalicelib.services import customer_messages

__all__ = ["NOTICE_PURPOSE", "STALE_AFTER", "accept", "concerns", "flush"]

log = logging.getLogger("loyalty.messages")
NOTICE_PURPOSE = "spend_notice"
PER_PASS = 100
STALE_AFTER = timedelta(days=2)  # below the waiting item's own life (customer_notes_db.KEEP_NOTE, 3 days)


def concerns(event: Event) -> bool:
    """Whether the event is a spend or hold made without the customer's code."""
    return event.type == REDEMPTION_CREATED and event.data.get(CODE_FREE) is True


def accept(event: Event, now: datetime) -> bool:
    """The dispatcher's hand-over: the notice waits to be sent by the next :func:`flush`. False when the event
    causes none."""
    customer_id = event.data.get("customer_id")
    if not concerns(event) or not isinstance(customer_id, str):
        return False
    due = datetime.fromisoformat(event.created_at).astimezone(UTC).isoformat()
    data = {k: event.data.get(k) for k in ("points", "balance_available", HELD_UNTIL) if k in event.data}
    note = Note(customer_id, NOTICE_PURPOSE, event.event_id, event.partner_id, event.created_at, due, data)
    customer_notes_db.defer(note, now, NOTICES)
    return True


def flush(now: datetime) -> int:
    """Send every notice that waits, quiet hours or not; returns how many went out."""
    return sum(_deliver(note, now) for note in customer_notes_db.due(now, PER_PASS, NOTICES))


def _deliver(note: Note, now: datetime) -> int:
    late = now - datetime.fromisoformat(note.due_at)
    if late > STALE_AFTER:
        log.warning("spend notice dropped: %s late", late)
        customer_notes_db.done(note, NOTICES)
        return 0
    customer = customers_db.load(note.customer_id)
    if customer is None or customer.deleted_at or not customer_messages.reachable(customer):
        customer_notes_db.done(note, NOTICES)  # nobody to tell
        return 0
    if not messages_db.claim(note.customer_id, NOTICE_PURPOSE, note.event_id, now):
        customer_notes_db.done(note, NOTICES)  # went out already (the event seen twice, a pass that died after sending)
        return 0
    try:
        customer_messages.send(customer, NOTICE_PURPOSE, _text(customer, note))
    except CustomerUnreachable:  # the channel refuses this destination: trying again will not help
        customer_notes_db.done(note, NOTICES)
        return 0
    except ApiError as exc:  # throttled or down: the next pass tries again
        log.warning("spend notice not sent: %s", exc.code)
        messages_db.give_back(note.customer_id, NOTICE_PURPOSE, note.event_id)
        return 0
    customer_notes_db.done(note, NOTICES)
    return 1


def _text(customer: Customer, note: Note) -> str:
    """What happened, as the event recorded it (the points and the balance right after the spend)."""
    partner = partners_db.load(note.partner_id)
    values = {
        "points": int(str(note.data.get("points", 0))),
        "partner": partner.name if partner is not None else note.partner_id,
        "balance": int(str(note.data.get("balance_available", 0))),
    }
    held_until = note.data.get(HELD_UNTIL)
    if isinstance(held_until, str) and held_until:
        tz = zone(program.load().timezone)
        until = datetime.fromisoformat(held_until).astimezone(tz).strftime("%d.%m %H:%M")
        return customer_messages.text(customer, "held_without_code", **values, until=until)
    return customer_messages.text(customer, "spent_without_code", **values)
