"""Messages the program sends customers on its own, from a job that runs every hour:

- before points expire, a reminder with the amount and the last day (transactional: to every customer a channel
  reaches, consent or not: it is about their money), ``expiry_reminder_days`` before;
- on a birthday, a greeting (marketing: only with ``marketing_consent``, within ``marketing_per_week``, with a
  one-click unsubscribe line).

Nothing goes out in the quiet hours of the program's time zone: the run finds them and does nothing, and the next
run outside them sends. Each message goes out once: its mark (``db/customer_messages.py``) is claimed under a condition
before the send, and given back when the send fails, so the next run tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from chalicelib import runtime
from chalicelib.db import customers as customers_db
from chalicelib.db import jobs as jobs_db
from chalicelib.db import keys
from chalicelib.db import messages as messages_db
from chalicelib.db.customers import Customer
from chalicelib.domain import add_months, period_of, signing
from chalicelib.domain.lots import split_lot_key
from chalicelib.domain.messaging import birthday_on, is_quiet, reminder_due, week_of
from chalicelib.domain.periods import last_day, zone
from chalicelib.domain.wallet import as_of
from chalicelib.errors import ApiError
from chalicelib.machinery import program
from chalicelib.schemas import MessageSettings
from chalicelib.services import customer_messages

__all__ = ["BIRTHDAY_GREETING", "EXPIRY_REMINDER", "MessagesRun", "run", "unsubscribe_token", "withdraw_consent"]

log = logging.getLogger("loyalty.messages")
EXPIRY_REMINDER = "expiry_reminder"
BIRTHDAY_GREETING = "birthday_greeting"
PAGE = 100
MONTHS_AHEAD = 3  # reminders at most 60 days ahead reach into the month after next


@dataclass
class MessagesRun:
    quiet: bool = False
    reminders: int = 0
    greetings: int = 0
    failed: int = 0


def settings() -> MessageSettings:
    return MessageSettings.model_validate(program.load().messages)


def run(now: datetime) -> MessagesRun:
    """One run of the hourly job: the reminders that are due and today's greetings, outside quiet hours."""
    prog, config = program.load(now), settings()
    if is_quiet(now, prog.timezone, config.quiet_from_hour, config.quiet_to_hour):
        return MessagesRun(quiet=True)
    done = MessagesRun()
    current = period_of(now, prog.timezone)
    for month in (add_months(current, n) for n in range(MONTHS_AHEAD)):
        if reminder_due(month, now, prog.timezone, config.expiry_reminder_days):
            for customer_id in _holding_points_of(month):
                _remind(customer_id, month, now, done)
    today = now.astimezone(zone(prog.timezone)).date()
    for customer_id in messages_db.birthdays(today):
        _greet(customer_id, now, today, prog.timezone, config, done)
    log.info("customer messages: reminders=%d greetings=%d failed=%d", done.reminders, done.greetings, done.failed)
    return done


def _holding_points_of(month: str) -> Iterator[str]:
    """The customers in the month's expiry index, read page by page (the index stays for the expiry job)."""
    for shard in range(len(keys.expiry_partitions(month))):
        start: str | None = None
        while True:
            page, start = jobs_db.expiring_page(month, shard, start, PAGE)
            yield from page
            if start is None:
                break


def _expiring(customer: Customer, month: str, now: datetime) -> int:
    """The points of the month's lots as her balance shows them now: pending points that matured since her last
    write are still in their bucket on the item (time acts lazily), yet they expire with the month too."""
    lots = as_of(customer.wallet, now, program.load().timezone).lots
    return sum(points for key, points in lots.items() if split_lot_key(key)[0] == month and points > 0)


def _remind(customer_id: str, month: str, now: datetime, done: MessagesRun) -> None:
    customer = customers_db.load(customer_id)
    if customer is None or customer.deleted_at or not customer_messages.reachable(customer):
        return
    points = _expiring(customer, month, now)
    if points <= 0 or not messages_db.claim(customer_id, EXPIRY_REMINDER, month, now):
        return
    body = customer_messages.text(
        customer,
        EXPIRY_REMINDER,
        points=customer_messages.points_count(customer, points),
        date=customer_messages.day_month(customer, last_day(month)),
    )
    if _send(customer, EXPIRY_REMINDER, body):
        done.reminders += 1
    else:
        messages_db.give_back(customer_id, EXPIRY_REMINDER, month)
        done.failed += 1


def _greet(customer_id: str, now: datetime, today: date, tz: str, config: MessageSettings, done: MessagesRun) -> None:
    customer = customers_db.load(customer_id)
    if customer is None or customer.deleted_at or not birthday_on(customer.birthday, today):
        return  # an account deleted since enrolment (its birthday erased): the index item is all that is left
    if not customer.marketing_consent or not customer_messages.reachable(customer):
        return
    year, week = str(today.year), week_of(now, tz)
    if not messages_db.claim(customer_id, BIRTHDAY_GREETING, year, now):
        return
    if not messages_db.count_marketing(customer_id, week, config.marketing_per_week, now):
        messages_db.give_back(customer_id, BIRTHDAY_GREETING, year)  # over the cap: not today
        return
    balance = customer_messages.points_count(customer, customer.wallet.available)
    body = customer_messages.text(customer, BIRTHDAY_GREETING, name=customer.name or "", balance=balance)
    url = unsubscribe_url(customer_id)
    if url:
        body += "\n" + customer_messages.text(customer, "unsubscribe", url=url)
    if _send(customer, BIRTHDAY_GREETING, body, url):
        done.greetings += 1
    else:
        messages_db.give_back(customer_id, BIRTHDAY_GREETING, year)
        messages_db.give_back_marketing(customer_id, week)
        done.failed += 1


def _send(customer: Customer, purpose: str, body: str, unsubscribe_url: str | None = None) -> bool:
    try:
        customer_messages.send(customer, purpose, body, unsubscribe_url=unsubscribe_url)
    except ApiError as exc:  # unreachable, throttled or down: the next run tries again
        log.warning("customer message %s not sent: %s", purpose, exc.code)
        return False
    return True


def _unsubscribe_key() -> bytes:
    return signing.derive_key(runtime.get().settings.portal_secret, "unsubscribe")


def unsubscribe_token(customer_id: str) -> str:
    """The capability in an unsubscribe link: it only ever withdraws this customer's marketing consent, so it
    never expires (a link in last year's message still works)."""
    return signing.sign_hex(_unsubscribe_key(), customer_id, length=32)


def unsubscribe_url(customer_id: str) -> str | None:
    """Under the stack's public address (``LOYALTY_PUBLIC_BASE_URL``; ``make run`` sets its own)."""
    base = runtime.get().settings.public_base_url
    if not base:
        return None
    query = urlencode({"c": customer_id, "t": unsubscribe_token(customer_id)})
    return f"{base.rstrip('/')}/me/unsubscribe?{query}"


def withdraw_consent(customer_id: str, token: str) -> bool:
    """One click in a marketing message: no more marketing, whoever clicks. False for a token that does not match
    (nothing changes)."""
    if not signing.verify(token, unsubscribe_token(customer_id)):
        return False
    customers_db.withdraw_consent(customer_id)
    return True
