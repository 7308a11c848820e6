"""Spending needs the customer: the partner's policy, the two ways a customer gives a code, and the check inside the
redemption's own write.

- The customer's page shows a code and its QR (``page`` slot, ``PAGE_MINUTES``) for "up to N points", N being what
  she typed (or her available points, shown on the page): any till may use it once, for at most N.
- A till asks the system to send one (``POST /v1/customers/{id}/spend-code`` {points?}, slot ``till#<partner>``,
  ``SENT_MINUTES``): only that partner may use it, once, for at most the points named in the message (without
  ``points``: the customer's available points when the code was sent).

The redemption reads both code items and the partner's count of wrong tries in the batch read it makes anyway (no
extra round trip) and deletes the code that matched in its own transaction, guarded: under concurrency one
redemption gets the code, the others find it gone. The quote never needs a code; a code that is sent is always
checked, whatever the policy.

Wrong tries count per partner and customer (``tries#<partner>``), not on the codes: one partner's wrong tries never
lock another partner's use of the page code. The fifth answers ``429 customer_code_locked``; a new code (the
customer's page or the partner's own ``spend-code``) starts a new count. Each wrong code also costs the partner's
API key a token of ``wrong_code`` (docs/security.md, "Limits"): guessing across customers stops after a few dozen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.db import codes as codes_db
from chalicelib.db import customers as customers_db
from chalicelib.db import outbox as outbox_db
from chalicelib.db import wallets as wallets_db
from chalicelib.db.codes import StoredCode
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain import signing
from chalicelib.domain.events import Event
from chalicelib.domain.partners import Partner
from chalicelib.domain.wallet import settled
from chalicelib.errors import CustomerCodeInvalid, CustomerConfirmationRequired, NotFound
from chalicelib.machinery import limits, program
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.machinery.write_session import load_partner
from chalicelib.notify import mask
from chalicelib.schemas import SpendCodeRecord, SpendCodeSent
from chalicelib.services import customer_messages, message_outbox, one_time_codes
from chalicelib.services.one_time_codes import MAX_ATTEMPTS, TTL_GRACE_SECONDS, Issued, Verdict

PURPOSE = "spend"
PAGE_SLOT = "page"
PAGE_MINUTES = 5
SENT_MINUTES = 10
TRIES_MINUTES = SENT_MINUTES  # a count of wrong tries lasts as long as the longest-lived code it counts against
POLICIES = ("always", "above", "never")
POINTS = "points"  # the payload field of a spend code: the most it confirms


def till_slot(partner_id: str) -> str:
    return f"till#{partner_id}"


def tries_slot(partner_id: str) -> str:
    return f"tries#{partner_id}"


def required(partner: Partner, points: int, *, used: int = 0, hold_minutes: int | None = None) -> bool:
    """Does this partner's policy ask for the customer's code for a spend of ``points``? ``used``: the points it
    took from her without a code within 24 hours; ``hold_minutes``: the length of a hold (None: captured now)."""
    return partner.needs_customer_code(points, used=used, hold_minutes=hold_minutes)


def reads(customer_id: str, partner_id: str) -> list[ReadKey]:
    return [
        codes_db.read_key(customer_id, PURPOSE, PAGE_SLOT),
        codes_db.read_key(customer_id, PURPOSE, till_slot(partner_id)),
        codes_db.read_key(customer_id, PURPOSE, tries_slot(partner_id)),
    ]


def demand(partner: Partner, points: int, code: str | None, *, used: int = 0, hold_minutes: int | None = None) -> bool:
    """Whether this spend needs a code; 403 customer_confirmation_required if it does and none came, saying why
    (the policy, the day's code-free points left, or a hold longer than a code-free hold may last)."""
    if not required(partner, points, used=used, hold_minutes=hold_minutes):
        return False
    if code is None:
        refused = CustomerConfirmationRequired(_why(partner, points, used, hold_minutes))
        refused.extra.update(_limits(partner, used))
        raise refused
    return True


def _limits(partner: Partner, used: int) -> dict[str, int]:
    """What a till may still do without the customer's code (shown in the 403, so the till can adapt)."""
    ceiling = partner.code_free_ceiling
    if ceiling == 0:
        return {}
    out = {"code_free_hold_minutes": partner.code_free_hold_minutes}
    if ceiling is not None:
        out["code_free_points_left"] = max(0, ceiling - used)
    return out


def _why(partner: Partner, points: int, used: int, hold_minutes: int | None) -> str:
    ask = "the one on their page (or its QR), or one sent to them with POST /v1/customers/{id}/spend-code."
    ceiling = partner.code_free_ceiling
    if hold_minutes is not None and hold_minutes > partner.code_free_hold_minutes and ceiling != 0:
        return (
            f"A hold made without the customer's code lasts at most {partner.code_free_hold_minutes} minutes here; "
            f"hold for less, or with the customer's code: {ask}"
        )
    if ceiling:
        left = max(0, ceiling - used)
        return (
            f"This partner may take at most {ceiling} points a day from a customer without their code, holds "
            f"included; {left} are left for the next 24 hours and {points} were asked. Spend with the customer's "
            f"code: {ask}"
        )
    return f"This partner spends points only with the customer's code: {ask}"


def confirmed_points(item: StoredCode) -> int:
    """The most points a spend code confirms; a code without that (made before codes named an amount) confirms
    none: it fails closed, and the customer asks for a new one."""
    value = item.payload.get(POINTS, "")
    return int(value) if value.isdigit() else 0


def _generation(*codes: StoredCode | None) -> str:
    """Which codes a count of wrong tries belongs to: a new code (on the page, or sent to this partner) starts a
    new count."""
    hashes = "\n".join(c.code_hash if c is not None else "-" for c in codes)
    return hashlib.sha256(hashes.encode()).hexdigest()[:32]


def confirm(
    found: Found,
    plan: Plan,
    customer_id: str,
    partner_id: str,
    key_id: str,
    code: str,
    points: int,
    now: datetime,
    charge_wrong_code: Callable[..., None] | None = None,
) -> Plan:
    """Check ``code`` for a spend of ``points`` against the codes read with the write. A match that confirms that
    many points is deleted in ``plan``'s transaction and ``plan`` is returned; anything else returns a plan that
    only counts the wrong try and answers with the error (never recorded: the same order may be tried again with
    the right code)."""
    page = codes_db.from_found(found, customer_id, PURPOSE, PAGE_SLOT)
    till = codes_db.from_found(found, customer_id, PURPOSE, till_slot(partner_id))
    counter = codes_db.from_found(found, customer_id, PURPOSE, tries_slot(partner_id))
    generation = _generation(page, till)
    current = counter if counter is not None and signing.verify(counter.code_hash, generation) else None
    if current is not None and now >= datetime.fromisoformat(current.expires_at):
        current = None
    tries = current.attempts if current is not None else 0
    if current is not None and tries >= MAX_ATTEMPTS:
        raise one_time_codes.locked(one_time_codes.seconds_until(current.expires_at, now))
    limits.wrong_codes_left(key_id, now)  # a key that guessed too often learns nothing more, right or wrong
    for slot, item in ((PAGE_SLOT, page), (till_slot(partner_id), till)):
        verdict = one_time_codes.judge(item, customer_id, slot, code, now)
        if item is not None and one_time_codes.looks_like_code(code) and verdict is Verdict.OK:
            most = confirmed_points(item)
            if points > most:  # the right code for a smaller spend: kept for it, and no wrong try
                return Plan(
                    error=CustomerCodeInvalid(
                        f"This code confirms at most {most} points; spend at most that, or ask the customer for a "
                        "new code.",
                        confirmed_points=most,
                    )
                )
            one_time_codes.consume(plan.tx, item)
            codes_db.guard_tries(plan.tx, counter, customer_id, PURPOSE, tries_slot(partner_id))
            return plan
    (charge_wrong_code or limits.wrong_code(key_id))()  # 429 rate_limited past the key's allowance
    expires_at = current.expires_at if current is not None else (now + timedelta(minutes=TRIES_MINUTES)).isoformat()
    refused = Plan(error=CustomerCodeInvalid(one_time_codes.WRONG_AT_TILL))
    codes_db.count_try(
        refused.tx,
        counter,
        customer_id,
        PURPOSE,
        tries_slot(partner_id),
        generation=generation,
        expires_at=expires_at,
        ttl=int(datetime.fromisoformat(expires_at).timestamp()) + TTL_GRACE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
        now_iso=now.isoformat(),
        partner_id=partner_id,
    )
    if tries + 1 >= MAX_ATTEMPTS:
        refused.error = one_time_codes.locked(one_time_codes.seconds_until(expires_at, now))
    return refused


def page_code(customer_id: str, now: datetime, points: int) -> Issued:
    """A code for the customer's page (and its QR), for at most ``points`` (what she allowed, shown with the code);
    it replaces the page's previous code."""
    return one_time_codes.issue(
        customer_id, PURPOSE, PAGE_SLOT, now, minutes=PAGE_MINUTES, payload={POINTS: str(points)}
    )


def send_code(req: WriteRequest, customer_id: str, partner_id: str, points: int | None, now: datetime) -> Reply:
    """``POST /v1/customers/{id}/spend-code``: a code only this partner may use, for at most ``points`` (default:
    the customer's available points now), sent to the customer.

    Bound to its Idempotency-Key like any write. The code derives from a random seed drawn once for this execution
    and kept in its replay record (never shown): a retry (after a lost answer, or after a send that failed)
    replays the first answer and delivers the same code while it is unused, never a second one that would void the
    code the customer may be reading out; any new execution, whatever key or Idempotency-Key, gets a new code."""
    limits.spend_code(customer_id, partner_id)  # a till may not flood a customer with messages, retries included
    slot = till_slot(partner_id)
    seed = one_time_codes.new_seed()  # once per request: a decision made again after a lost answer keeps it
    made: list[Event] = []  # the message the committed decision put in the outbox

    def decide(found: Found) -> Plan:
        customer = customers_db.from_found(found, customer_id)
        wallet = wallets_db.load(found, customer_id)
        if customer is None or customer.deleted_at or wallet is None:
            raise NotFound("Customer not found.")
        channel, to = customer_messages.choose(customer)  # 422 customer_unreachable: nothing written but the answer
        load_partner(partner_id, now)
        most = points if points is not None else settled(wallet, now, program.load(now).timezone)[0].available
        plan = Plan(created=True, customer_id=customer_id)
        issued = one_time_codes.issue(
            customer_id,
            PURPOSE,
            slot,
            now,
            minutes=SENT_MINUTES,
            partner_id=partner_id,
            payload={POINTS: str(most)},
            tx=plan.tx,
            code=one_time_codes.derived_code(seed, customer_id, PURPOSE, slot),
        )
        made[:] = [_message(customer_id, partner_id, seed, most, issued.expires_at, now)]
        plan.events += made  # the code and its message commit together
        plan.response = SpendCodeRecord(
            channel=channel,
            destination=mask(to, channel),
            expires_at=issued.expires_at.isoformat(),
            points=most,
            seed=seed,
            message_id=made[0].event_id,
        )
        return plan

    reply = execute(req, None, [customers_db.read_key(customer_id)], decide)
    record = reply.result(SpendCodeRecord)
    shown = SpendCodeSent.model_validate(record.model_dump(exclude={"seed", "message_id"}))
    if not reply.replayed and made:
        message_outbox.send_now(made[0], now)  # its failure is the answer; a retry of this request delivers it
    elif record.seed:
        _deliver_again(record, customer_id, partner_id, now)
    return Reply(reply.created, shown.model_dump_json(), reply.replayed)


def _message(customer_id: str, partner_id: str, seed: str, points: int, expires_at: datetime, now: datetime) -> Event:
    slot = till_slot(partner_id)
    return message_outbox.code_message(
        "spend", customer_id, PURPOSE, slot, seed, expires_at, now, partner=partner_id, points=points
    )


def _deliver_again(record: SpendCodeRecord, customer_id: str, partner_id: str, now: datetime) -> None:
    """A replay (the till's retry after a lost answer or a failed send): the message still waiting in the outbox is
    sent now, once; one already sent is sent again while its code still waits to be used (the first may never have
    reached the customer; a second copy of the same code is harmless). Nothing for a code used, replaced or expired."""
    waiting = outbox_db.get(record.message_id) if record.message_id else None
    if waiting is not None:
        message_outbox.send_now(waiting, now)
        return
    expires_at = datetime.fromisoformat(record.expires_at)
    message_outbox.send_copy(_message(customer_id, partner_id, record.seed, record.points, expires_at, now), now)
