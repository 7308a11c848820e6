"""Messages to a customer after an event of their own: subscribers of the dispatcher, like the partners' webhooks.

- After a purchase (``accrual.created`` with points): the points earned and the balance now.
- A tier reached (``tier.changed`` to a higher tier): the tier's name.

Both are transactional: they go to every customer a channel reaches, consent or not (they are about the customer's
own points), never with an unsubscribe link.

Quiet hours defer, they never drop: a purchase at 23:30 is told at the end of the quiet hours (09:00 by default). A
note about last night's purchase is still true and still useful in the morning (the balance it names is read when it
goes out, so it is the balance then). A note that could not go out within :data:`STALE_AFTER` of its time (a channel
down for a day) is dropped: a day-old "you earned" is noise, and the balance is on the customer's page.

Exactly once per customer per event: :func:`accept` puts the note in the waiting list (its key is the due time
computed from the event's own instant, and the event id: a second dispatch of the event names the same key);
:func:`flush`, once per dispatcher pass, claims the customer's message mark before sending
(``purchase_note#<event id>``; ``tier_reached#<tier>``, so a customer who drops below a tier and climbs back within
the mark's life hears of it once) and gives it back when the send fails, so the next pass tries again.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from chalicelib.db import customer_notes as customer_notes_db
from chalicelib.db import customers as customers_db
from chalicelib.db import messages as messages_db
from chalicelib.db import partners as partners_db
from chalicelib.db.customers import Customer
from chalicelib.domain.events import ACCRUAL_CREATED, TIER_CHANGED, Event
from chalicelib.domain.messaging import is_quiet, next_send_at, tier_rose
from chalicelib.errors import ApiError, CustomerUnreachable
from chalicelib.machinery import program, wallets
from chalicelib.machinery.program import Program
from chalicelib.services import customer_messages, reminders

__all__ = ["PURCHASE_NOTE", "STALE_AFTER", "TIER_REACHED", "accept", "flush"]

log = logging.getLogger("loyalty.messages")
PURCHASE_NOTE = "purchase_note"
TIER_REACHED = "tier_reached"
PER_PASS = 100  # notes sent per dispatcher pass at most (a night's purchases go out over a few passes at 09:00)
STALE_AFTER = timedelta(hours=24)
PASS_SECONDS = 15.0  # of the minute pass's 60 s: the offers and the webhooks' retries share it


def _tiers(prog: Program) -> list[str]:
    return [t.name for t in sorted(prog.tiers, key=lambda t: t.min_spend_12m_minor)]


def _note(event: Event, prog: Program) -> tuple[str, dict[str, object]] | None:
    """The note an event causes, if any: its kind and what its text needs besides the customer."""
    if event.type == ACCRUAL_CREATED:
        points = event.data.get("points")
        return (PURCHASE_NOTE, {"points": points}) if isinstance(points, int) and points > 0 else None
    if event.type == TIER_CHANGED:
        before, after = str(event.data.get("tier_before", "")), str(event.data.get("tier", ""))
        return (TIER_REACHED, {"tier": after}) if tier_rose(_tiers(prog), before, after) else None
    return None


def accept(event: Event, now: datetime) -> bool:
    """The dispatcher's hand-over: the note waits for its time (the end of the quiet hours the event fell in, or at
    once). False when the event causes no note."""
    customer_id = event.data.get("customer_id")
    if not isinstance(customer_id, str) or event.type not in (ACCRUAL_CREATED, TIER_CHANGED):
        return False
    prog = program.load(now)
    found = _note(event, prog)
    if found is None:
        return False
    kind, data = found
    config = reminders.settings()
    at = datetime.fromisoformat(event.created_at)
    due = next_send_at(at, prog.timezone, config.quiet_from_hour, config.quiet_to_hour)
    note = customer_notes_db.Note(
        customer_id, kind, event.event_id, event.partner_id, event.created_at, due.astimezone(UTC).isoformat(), data
    )
    customer_notes_db.defer(note, now)
    return True


def flush(now: datetime) -> int:
    """Send the notes that are due (none in quiet hours: the settings may have changed since a note was put in
    the list); returns how many went out."""
    prog, config = program.load(now), reminders.settings()
    waiting_hours = (config.quiet_from_hour, config.quiet_to_hour)
    if is_quiet(now, prog.timezone, *waiting_hours):
        return 0
    deadline, sent = time.monotonic() + PASS_SECONDS, 0
    for note in customer_notes_db.due(now, PER_PASS):
        if time.monotonic() > deadline:  # a slow channel: the rest waits for the next pass
            break
        sent += _deliver(note, now, prog)
    return sent


def _mark(note: customer_notes_db.Note) -> str:
    return str(note.data.get("tier")) if note.kind == TIER_REACHED else note.event_id


def _deliver(note: customer_notes_db.Note, now: datetime, prog: Program) -> int:
    if now - datetime.fromisoformat(note.due_at) > STALE_AFTER:
        log.warning("customer message %s dropped: %s late", note.kind, now - datetime.fromisoformat(note.due_at))
        customer_notes_db.done(note)
        return 0
    customer = customers_db.load(note.customer_id)
    if customer is None or customer.deleted_at or not customer_messages.reachable(customer):
        customer_notes_db.done(note)  # nobody to tell (no channel is not an error: the customer gave none)
        return 0
    if not messages_db.claim(note.customer_id, note.kind, _mark(note), now):
        customer_notes_db.done(note)  # went out already (the event seen twice, a pass that died after sending)
        return 0
    try:
        customer_messages.send(customer, note.kind, _text(customer, note, now, prog))
    except CustomerUnreachable:  # the channel refuses this destination: trying again will not help
        customer_notes_db.done(note)
        return 0
    except ApiError as exc:  # throttled or down: the next pass tries again
        log.warning("customer message %s not sent: %s", note.kind, exc.code)
        messages_db.give_back(note.customer_id, note.kind, _mark(note))
        return 0
    customer_notes_db.done(note)
    return 1


def _text(customer: Customer, note: customer_notes_db.Note, now: datetime, prog: Program) -> str:
    if note.kind == TIER_REACHED:
        return customer_messages.text(customer, TIER_REACHED, tier=str(note.data.get("tier", "")))
    partner = partners_db.load(note.partner_id)
    available = wallets.balance(customer.customer_id, customer.wallet, prog, now).available
    return customer_messages.text(
        customer,
        PURCHASE_NOTE,
        partner=partner.name if partner is not None else "",
        points=customer_messages.points_count(customer, int(str(note.data.get("points", 0)))),
        balance=customer_messages.points_count(customer, available),
    )
