"""Messages a write asks for (a one-time code, a link to the customer's page): in the outbox with the write, sent at
once by the request that made it, and by the dispatcher's pass if that first attempt failed.

One rule for every such message (docs/architecture.md, "Messages after a write"):

- **With the write.** The write that stores a code (or decides a link) puts a ``message.requested`` event in its own
  transaction: no code without its message, no message without its code. The event holds what re-derives the
  message with the server's secrets (a code's random seed, owner, purpose and slot; a link's customer and instants),
  never the code nor a usable link: a copy of the table sends nobody anything.
- **At once.** After the commit the request makes the first attempt itself (:func:`send_now`), so the person gets the
  code now and the answer can say where it went.
- **Then until it is no use.** Each attempt is claimed under a lease (the request and a dispatcher pass, or two
  passes, never both send it). Sent: the event leaves the outbox. A failure the notifications port calls transient
  (provider down, throttled): the event waits for the next pass (:data:`RETRY`, or the provider's hint), and is
  retried while the code or link is still good, then dropped. A permanent one (no such destination, the account
  refused), a person gone, or a code used, replaced, locked or expired: dropped at once.
- **The answer** stays each flow's own: a partner's route answers the failure as before (503, 429 or 422: the message
  did not go now); a sign-in answers the same whether anyone got a code.

A crash between the send and the event's deletion sends the message again once the lease runs out (at least once;
a second copy of the same code is harmless)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib import db, ids
from chalicelib.db import codes as codes_db
from chalicelib.db import customers as customers_db
from chalicelib.db import outbox as outbox_db
from chalicelib.db import staff as staff_db
from chalicelib.db.customers import Customer
from chalicelib.domain.events import MESSAGE_REQUESTED, NO_PARTNER, Event
from chalicelib.domain.periods import zone
from chalicelib.errors import ApiError, CustomerUnreachable, RateLimited, Unavailable
from chalicelib.machinery import partner_cache, program
from chalicelib.notify import CHANNELS, Channel, Message, NotificationError
from chalicelib.services import customer_messages, link_tokens, one_time_codes
from chalicelib.services.message_texts import TEXTS
from chalicelib.services.one_time_codes import Verdict

__all__ = [
    "LEASE",
    "RETRY",
    "code_message",
    "commit",
    "deliver_waiting",
    "link_message",
    "notice_message",
    "send_copy",
    "send_now",
    "staff_code_message",
]

log = logging.getLogger("loyalty.messages")

LEASE = timedelta(seconds=60)  # longer than a send may take (the adapters time out well before)
RETRY = timedelta(seconds=30)  # a transient failure's next attempt, unless the provider asks for longer
NOTICE_LIFE = timedelta(days=1)  # a notice that could not go within a day is of no more use

# What a code message says: the text's name, and the purpose the port files it under.
CUSTOMER_TEXTS = {"sign_in": ("sign_in", "sign_in"), "spend": ("spend", "spend_code"), "bind": ("bind", "bind_code")}
# Notices without a code (the text's name is the purpose): the values each text takes, in the customer's words.
NOTICES: dict[str, Callable[[Customer, dict[str, Any]], dict[str, str]]] = {
    "channel_changed": lambda customer, data: {
        "channel": customer_messages.channel_name(customer, str(data["channel"]))
    },
}


def _new(now: datetime, **data: Any) -> Event:
    """A ``message.requested`` event: no partner's; its ``msg_`` id puts it in the outbox's partitions for messages
    (``keys.outbox``), apart from the partners' events."""
    values = {k: v for k, v in data.items() if v is not None}
    return Event(ids.sortable_id("msg", now), MESSAGE_REQUESTED, NO_PARTNER, now.isoformat(), values)


def code_message(
    text: str, owner: str, purpose: str, slot: str, seed: str, until: datetime, now: datetime, **data: Any
) -> Event:
    """The event of a code to a customer (``text``: sign_in, spend or bind), the code being
    ``one_time_codes.derived_code(seed, owner, purpose, slot)``; sent while that code waits to be used, until
    ``until``. ``data``: the text's other values by id (``partner``, ``points``, ``identifiers``, ``prefer``)."""
    return _new(
        now,
        kind=text,
        owner=owner,
        purpose=purpose,
        slot=slot,
        seed=seed,
        until=until.isoformat(),
        **data,
    )


def staff_code_message(
    scope: str, staff_id: str, purpose: str, slot: str, seed: str, lang: str, until: datetime, now: datetime
) -> Event:
    """The event of a sign-in code to a staff member, sent to the contact the member signs in with."""
    data = {"scope": scope, "purpose": purpose, "slot": slot, "seed": seed, "lang": lang}
    return _new(now, kind="staff", owner=staff_id, until=until.isoformat(), **data)


def link_message(customer_id: str, issued_at: datetime, expires_at: datetime, base_url: str, now: datetime) -> Event:
    """The event of a link to the customer's page: its instants re-make the signed link (the portal secret signs it,
    and the table never holds that)."""
    return _new(
        now,
        kind="link",
        owner=customer_id,
        issued_at=int(issued_at.timestamp()),
        until=expires_at.isoformat(),
        base_url=base_url,
    )


def notice_message(customer_id: str, text: str, now: datetime, **data: str) -> Event:
    """The event of a notice without a code to a customer (``text``: one of :data:`NOTICES`), sent within
    :data:`NOTICE_LIFE`; ``data``: its values by id (``prefer``: the channel it goes to, if it can)."""
    return _new(now, kind="notice", owner=customer_id, text=text, until=(now + NOTICE_LIFE).isoformat(), **data)


def commit(tx: db.Transaction, message: Event) -> None:
    """Commit a write made outside ``idempotency.execute`` that holds ``message`` (a sign-in code, a link). An answer
    lost on the way (the write may have applied) is settled by reading whether the message is in the outbox: there,
    the write committed and the message goes as usual; not there, it did not, and the error stands."""
    try:
        tx.commit(db.connection())
    except Exception as exc:
        if not db.outcome_unknown(exc) or outbox_db.get(message.event_id) is None:
            raise


def send_now(event: Event, now: datetime) -> customer_messages.Sent | None:
    """The request's own attempt, right after its commit (or on its replay). Returns where the message went; None
    if another attempt has it or there is nothing to send any more. Raises the send's ``ApiError`` (the event waits
    for the dispatcher if the failure may mend)."""
    if not outbox_db.claim(event.event_id, now.isoformat(), (now + LEASE).isoformat(), eager=True):
        return None
    return _attempt(event, now)


def send_copy(event: Event, now: datetime) -> customer_messages.Sent | None:
    """The same message again, outside the outbox (a replay of the request that made it, once its first copy went):
    while its code waits to be used, else nothing. Raises the send's ``ApiError``."""
    return _send(event.data, now) if now < datetime.fromisoformat(str(event.data["until"])) else None


def deliver_waiting(event: Event, now: datetime) -> bool:
    """The dispatcher's attempt at a message still in the outbox (its first attempt failed, or was never made):
    True if it went out now."""
    if not outbox_db.claim(event.event_id, now.isoformat(), (now + LEASE).isoformat(), eager=False):
        return False  # an attempt is under way, or the next one is not due yet
    try:
        return _attempt(event, now) is not None
    except ApiError:
        return False  # recorded by _attempt: waits for the next pass, or dropped
    except Exception:  # a read that failed, a bug: this message is tried again once its lease runs out
        log.exception("message %s: attempt failed", event.event_id)
        return False


def _attempt(event: Event, now: datetime) -> customer_messages.Sent | None:
    until = datetime.fromisoformat(str(event.data["until"]))
    try:
        sent = _send(event.data, now) if now < until else None
    except ApiError as exc:
        later = _retry_at(exc, now)
        if later is not None and later < until:
            log.warning("message %s not sent (%s): retried at %s", event.event_id, exc.code, later.isoformat())
            outbox_db.wait(event.event_id, later.isoformat())
        else:
            log.warning("message %s not sent (%s): dropped", event.event_id, exc.code)
            outbox_db.delete(event.event_id)
        raise
    outbox_db.delete(event.event_id)
    return sent


def _retry_at(exc: ApiError, now: datetime) -> datetime | None:
    """When a failed send is tried again; None if trying again cannot help (the port says the failure is
    permanent, or it was not the port's)."""
    cause = exc.__cause__
    if not isinstance(exc, (RateLimited, Unavailable)) or not isinstance(cause, NotificationError):
        return None
    if not cause.retryable:
        return None
    hint = getattr(cause, "retry_after", None) or 0
    return now + max(RETRY, timedelta(seconds=int(hint)))


def _send(data: dict[str, Any], now: datetime) -> customer_messages.Sent | None:
    """Make the message again and send it; None if there is nothing to send any more. A decoy's code (an unknown
    identifier's sign-in) reads what a person's does, the code then its owner, and finds nobody: the DynamoDB work
    tells nobody which it was."""
    kind = str(data["kind"])
    if kind in ("link", "notice"):
        customer = customers_db.load(str(data["owner"]))
        if customer is None or customer.deleted_at:
            return None
        return _send_link(customer, data) if kind == "link" else _send_notice(customer, data)
    code = _waiting_code(data, now)
    if kind == "staff":
        return _send_staff(data, code)
    customer = customers_db.load(str(data["owner"]))
    if code is None or customer is None or customer.deleted_at:
        return None  # the code used, replaced or expired; a decoy's code (nobody's); a customer who left since
    name, purpose = CUSTOMER_TEXTS[kind]
    body = customer_messages.text(customer, name, code=code, **_values(customer, kind, data, now))
    prefer = data.get("prefer")
    return customer_messages.send(customer, purpose, body, code=code, prefer=prefer if prefer in CHANNELS else None)


def _waiting_code(data: dict[str, Any], now: datetime) -> str | None:
    """The message's code, if it is still the one waiting to be used (not used, replaced, locked or expired)."""
    owner, purpose, slot = str(data["owner"]), str(data["purpose"]), str(data["slot"])
    code = one_time_codes.derived_code(str(data["seed"]), owner, purpose, slot)
    stored = codes_db.get(owner, purpose, slot)
    return code if one_time_codes.judge(stored, owner, slot, code, now) is Verdict.OK else None


def _values(customer: Customer, kind: str, data: dict[str, Any], now: datetime) -> dict[str, str]:
    if kind == "sign_in":
        return {}
    partner = partner_cache.cached(str(data.get("partner", "")))
    name = partner.name if partner is not None else ""
    if kind == "bind":
        return {
            "partner": name,
            "what": customer_messages.what(customer, [str(k) for k in data.get("identifiers", [])]),
        }
    tz = zone(program.load(now).timezone)
    until = datetime.fromisoformat(str(data["until"])).astimezone(tz).strftime("%H:%M")
    return {"partner": name, "until": until, "points": customer_messages.points(customer, int(data.get("points", 0)))}


def _send_link(customer: Customer, data: dict[str, Any]) -> customer_messages.Sent:
    issued_at = datetime.fromtimestamp(int(data["issued_at"]), datetime.fromisoformat(str(data["until"])).tzinfo)
    token = link_tokens.sign_link(customer.customer_id, issued_at, datetime.fromisoformat(str(data["until"])))
    url = f"{str(data['base_url']).rstrip('/')}/me?token={token}"
    return customer_messages.send(customer, "portal_link", customer_messages.text(customer, "portal_link", url=url))


def _send_notice(customer: Customer, data: dict[str, Any]) -> customer_messages.Sent:
    name = str(data["text"])
    body = customer_messages.text(customer, name, **NOTICES[name](customer, data))
    prefer = data.get("prefer")
    return customer_messages.send(customer, name, body, prefer=prefer if prefer in CHANNELS else None)


def _send_staff(data: dict[str, Any], code: str | None) -> customer_messages.Sent | None:
    """A staff member's sign-in code, to the contact they sign in with; the port's errors as ``send`` maps them."""
    member = staff_db.load_member(str(data["scope"]), str(data["owner"]))
    if code is None or member is None or member.status != "active":
        return None  # the code used or replaced; a decoy's code; a member removed since
    purpose = str(data["purpose"])
    channel: Channel = "sms" if member.contact_kind == "phone" else "email"
    lang = "en" if data.get("lang") == "en" else "ru"
    body = TEXTS[lang][purpose].format(sender=customer_messages.settings().sender_name, code=code)
    try:
        message = Message(channel=channel, to=member.contact, text=body, code=code, purpose=purpose)
        delivery = customer_messages.notifier().send(message)
    except NotificationError as exc:
        if exc.retryable:
            raise Unavailable("The message could not be sent; retry shortly.") from exc
        raise CustomerUnreachable(f"The {channel} channel cannot reach this contact.") from exc
    return customer_messages.Sent(channel, delivery.destination)
