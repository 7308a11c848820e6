"""The partner's spend policy at the till, beyond "does this spend need a code" (``spend_codes.demand``):

- the code-free ceiling of ``above N``: what the partner takes from one customer without her code, holds included,
  stays within N points in any 24 hours; counted in the redemption's own transaction, under a condition
  (``chalicelib/domain/code_free.py``, ``chalicelib/db/code_free.py``);
- the mark on the redemption's event that tells the customer of every spend or hold made without her code (``above``
  and ``never``): the dispatcher sends the notice (``services/spend_notices.py``), once per event, so that abuse is
  seen the same day.

``never`` is the operator's explicit trust: no ceiling, but a code-free hold still lasts at most the partner's
``code_free_hold_minutes`` and every spend is announced.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib import db
from chalicelib.db import code_free as code_free_db
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain.code_free import Allowance, slot_of
from chalicelib.domain.events import CODE_FREE, HELD_UNTIL, REDEMPTION_CREATED
from chalicelib.domain.partners import Partner
from chalicelib.machinery.idempotency import Plan


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


def mark_code_free(plan: Plan, held_until: str | None) -> None:
    """Mark the redemption's event in ``plan`` as made without the customer's code, so that she is told of it
    (``services/spend_notices.py``, the dispatcher's subscriber). No write of its own on the till's path: the event
    is in the outbox item the redemption writes anyway, and the marker is internal data that no partner's delivery
    carries (``domain/events.py``)."""
    marker = {CODE_FREE: True, **({HELD_UNTIL: held_until} if held_until else {})}
    plan.events = [replace(e, data={**e.data, **marker}) if e.type == REDEMPTION_CREATED else e for e in plan.events]
