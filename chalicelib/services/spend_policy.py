"""The partner's spend policy at the till, beyond "does this spend need a code" (``spend_codes.demand``):

- the code-free ceiling of ``above N``: what the partner takes from one customer without her code, holds included,
  stays within N points in any 24 hours; counted in the redemption's own transaction, under a condition
  (``chalicelib/domain/code_free.py``, ``chalicelib/db/code_free.py``);
- the message that tells the customer of every spend or hold made without her code (``above`` and ``never``),
  sent after the commit and never again on a replay, so that abuse is seen the same day.

``never`` is the operator's explicit trust: no ceiling, but a code-free hold still lasts at most the partner's
``code_free_hold_minutes`` and every spend is announced.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import db
from chalicelib.db import code_free as code_free_db
from chalicelib.db.customers import Customer
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain.code_free import Allowance, slot_of
from chalicelib.domain.partners import Partner
from chalicelib.domain.periods import zone
from chalicelib.machinery import program
from chalicelib.machinery.idempotency import Plan
from chalicelib.services import customer_messages

NOTICE_PURPOSE = "spend_notice"


def reads(customer_id: str, partner: Partner | None, partner_id: str) -> list[ReadKey]:
    """What the redemption's batch read adds: the allowance this partner has used with this customer, only where
    its policy has a ceiling to count against (``above N``); a partner not known yet: read it to be safe."""
    if partner is not None and not partner.code_free_ceiling:
        return []
    return [code_free_db.read_key(customer_id, partner_id)]


def allowance(found: Found, customer_id: str, partner: Partner, read: bool) -> Allowance:
    """The allowance as read with the write (``read``: :func:`reads` asked for it). A partner whose policy came to
    need one since (its settings changed between the read and the decision) gets it read now: a decision on a
    ceiling never counts from zero."""
    if not read and partner.code_free_ceiling:
        found = db.get_many([code_free_db.read_key(customer_id, partner.partner_id)])
    return code_free_db.from_found(found, customer_id, partner.partner_id)


def count_code_free(
    plan: Plan, partner: Partner, customer_id: str, read: Allowance, points: int, now: datetime
) -> None:
    """Count a spend made without the customer's code against the partner's daily ceiling, in ``plan``'s own
    transaction: it commits only if the ceiling still holds then (a concurrent code-free spend makes it retry and
    decide again). ``never`` has no ceiling, so nothing to count."""
    ceiling = partner.code_free_ceiling
    if ceiling is None or not points:
        return
    code_free_db.add_use(
        plan.tx,
        customer_id,
        partner.partner_id,
        read,
        points=points,
        slot=slot_of(now),
        pruned=read.prunable(now),
        ceiling=ceiling,
        now=now,
    )


def announce(customer: Customer, partner: Partner, points: int, balance: int, held_until: str | None) -> None:
    """Tell the customer that points were spent (or held until ``held_until``) without her code. Best effort,
    after the commit: the spend stands whether or not the message leaves (the port logs a failure)."""
    if held_until:
        tz = zone(program.load().timezone)
        until = datetime.fromisoformat(held_until).astimezone(tz).strftime("%d.%m %H:%M")
        body = customer_messages.text(
            customer, "held_without_code", points=points, partner=partner.name, balance=balance, until=until
        )
    else:
        body = customer_messages.text(
            customer, "spent_without_code", points=points, partner=partner.name, balance=balance
        )
    customer_messages.safe_send(customer, NOTICE_PURPOSE, body)
