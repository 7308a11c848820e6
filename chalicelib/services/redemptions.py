"""Spending: the quote, the redemption (captured at once or held), and the capture or void of a hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from chalicelib import db, ids
from chalicelib.db import keys
from chalicelib.db import orders as orders_db
from chalicelib.db import wallets as wallets_db
from chalicelib.domain import redemption_cap_points
from chalicelib.domain.orders import (
    Spent,
    hold_is_over,
    without_hold,
)
from chalicelib.domain.partners import Partner
from chalicelib.domain.wallet import HOLD_SEP, Change, Hold, Wallet, hold_id, resolve_hold, settled, take
from chalicelib.errors import (
    DuplicateOrder,
    HoldAlreadyResolved,
    HoldExpired,
    InsufficientPoints,
    NotFound,
    RedemptionCapExceeded,
    ValidationFailed,
)
from chalicelib.machinery import idempotency, limits, partner_cache, program, wallets
from chalicelib.machinery.idempotency import NaturalId, Plan, Reply, WriteRequest, execute
from chalicelib.machinery.orders import new_order, order_for
from chalicelib.machinery.program import Program
from chalicelib.machinery.write_session import Found, campaign_reads, load_partner, open_session, reads_for
from chalicelib.schemas import (
    CaptureRedemption,
    CreateRedemption,
    QuoteOut,
    QuoteRequest,
    RedemptionOut,
)
from chalicelib.services import spend_codes, spend_policy

DEFAULT_HOLD_MINUTES = 15
Answered = Literal["captured", "held", "voided"]  # what a redemption, capture or void answers with


def _max_points(available: int, partner: Partner, prog: Program, order_amount_minor: int) -> int:
    cap = redemption_cap_points(order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
    return max(0, min(cap, available))


def quote(body: QuoteRequest, partner_id: str, now: datetime) -> QuoteOut:
    stored = wallets_db.load(db.get_many(reads_for(body.customer_id, partner_id)), body.customer_id)
    if stored is None:
        raise NotFound(f"No customer {body.customer_id}.")
    prog = program.load(now)
    current, _, _ = settled(stored, now, prog.timezone)
    max_points = _max_points(current.available, load_partner(partner_id, now), prog, body.order_amount_minor)
    return QuoteOut(
        available=current.available, max_points=max_points, max_discount_minor=max_points * prog.point_value_minor
    )


REF_SEPARATOR = "|"  # cannot occur in an order id


def redemption_ref(customer_id: str, order_id: str) -> str:
    """The public redemption id: the customer and the partner's order id, so capture and void need one read."""
    return ids.encode_ref("red", f"{customer_id}{REF_SEPARATOR}{order_id}")


def _redemption_out(
    order_id: str, customer_id: str, points: int, status: Answered, expires_at: str | None, prog: Program, after: Wallet
) -> RedemptionOut:
    return RedemptionOut(
        redemption_id=redemption_ref(customer_id, order_id),
        order_id=order_id,
        customer_id=customer_id,
        points=points,
        discount_minor=points * prog.point_value_minor,
        status=status,
        expires_at=expires_at,
        balance=wallets.summary(after),
    )


def redeem(req: WriteRequest, body: CreateRedemption, partner_id: str, now: datetime) -> Reply:
    natural = NaturalId(*keys.redemption(partner_id, body.order_id), duplicate=DuplicateOrder)
    wrong = limits.wrong_code(req.scope)  # a wrong customer code costs the key once, however often decide runs

    def decide(found: Found) -> Plan:
        partner = load_partner(partner_id, now)
        code_free = spend_policy.allowance(found, body.customer_id, partner, read=bool(allowance_reads))
        hold_minutes = None if body.capture else (body.hold_minutes or DEFAULT_HOLD_MINUTES)
        # 403 before anything else is decided: the policy, the day's code-free ceiling, a code-free hold's length
        needs_code = spend_codes.demand(
            partner, body.points, body.customer_code, used=code_free.used(now), hold_minutes=hold_minutes
        )
        previous = order_for(found, partner_id, body.order_id, body.customer_id, body.order_amount_minor)
        plan = Plan(created=True)
        s = open_session(found, body.customer_id, now, plan)
        prog = s.program
        cap = redemption_cap_points(body.order_amount_minor, int(partner.max_redeem_share_bps), prog.point_value_minor)
        if body.points > cap:
            max_points = _max_points(s.current.available, partner, prog, body.order_amount_minor)
            raise RedemptionCapExceeded(
                f"At most {max_points} points may pay for this order (cap {cap} points).", max_points=max_points
            )
        if body.points > s.current.available:
            raise InsufficientPoints(f"The customer has {s.current.available} available points, {body.points} asked.")
        if not body.capture:
            limits.open_holds(s.current.holds, partner_id, now)  # a handful per partner and customer (429)
        base = previous or new_order(body.customer_id, body.order_amount_minor, prog)
        change = take(s.current, body.points)
        consumed = {k: -d for k, d in change.lots.items()}
        redemption_id = redemption_ref(body.customer_id, body.order_id)
        expires_at: str | None = None
        status: Answered
        if body.capture:
            status, entry_type = "captured", "redemption"
        else:
            status, entry_type = "held", "hold"
            expires_at = (now + timedelta(minutes=hold_minutes or DEFAULT_HOLD_MINUTES)).isoformat()
            change.held = body.points
            hid = hold_id(partner_id, body.order_id)
            change.add_holds[hid] = Hold(body.points, expires_at, consumed, partner_id, body.order_id)
        after = s.commit(
            change,
            entry_type,
            partner_id,
            amount_minor=body.order_amount_minor,
            order_id=body.order_id,
            ref_id=redemption_id,
            details={
                "discount_minor": body.points * prog.point_value_minor,
                "expires_at": expires_at or "",
                **dict(base.values),
            },
        )
        plan.response = _redemption_out(body.order_id, body.customer_id, body.points, status, expires_at, prog, after)
        spent = Spent(status, body.points, consumed, expires_at=expires_at or "")
        order = replace(previous or base, spent=spent)
        orders_db.save(plan.tx, partner_id, body.order_id, order, previous, now.isoformat())
        # Last: a code is used only by a spend that happens. A code that is sent is checked even where the policy
        # needs none: a wrong one is never "accepted".
        if needs_code or body.customer_code is not None:
            assert body.customer_code is not None
            return spend_codes.confirm(
                found, plan, body.customer_id, partner_id, req.scope, body.customer_code, body.points, now, wrong
            )
        spend_policy.count_code_free(plan, partner, body.customer_id, code_free, body.points, now)
        spend_policy.mark_code_free(plan, expires_at)  # she is told of it, by the dispatcher
        return plan

    # The customer's codes and the code-free allowance come in the same batch read as the wallet and the order, and
    # only what this request can use: codes when one was sent (a sent code is always checked), the allowance when
    # the partner's policy counts one. A trusted till's spend reads neither.
    allowance_reads = spend_policy.reads(body.customer_id, partner_cache.known(partner_id, now), partner_id)
    code_reads = spend_codes.reads(body.customer_id, partner_id) if body.customer_code is not None else []
    reads = [
        *reads_for(body.customer_id, partner_id),
        orders_db.read_key(partner_id, body.order_id),
        *code_reads,
        *allowance_reads,
    ]
    return execute(req, natural, reads, decide, later=campaign_reads(partner_id))


def _resolve_hold(
    req: WriteRequest,
    redemption_id: str,
    partner_id: str,
    now: datetime,
    capture_points: int | None,
    capture: bool,
    by: str = "partner",
) -> Reply:
    """Capture (all or part) or void a held redemption; exactly once, and never after its deadline or a refund
    that released it. ``by``: who voids it (``partner``, or the ``customer`` from her page): the same void either
    way, recorded in the entry's details."""
    ref = ids.decode_ref("red", redemption_id) or ""
    customer_id, _, order_id = ref.partition(REF_SEPARATOR)
    if not customer_id or not order_id:
        raise NotFound(f"No redemption {redemption_id}.")

    def decide(found: Found) -> Plan:
        order = orders_db.load(found, partner_id, order_id)
        if order is None or order.spent is None or order.customer_id != customer_id:
            raise NotFound(f"No redemption {redemption_id}.")
        spent = order.spent
        if spent.status == "expired":
            raise HoldExpired(f"The hold expired at {spent.expires_at}; its points are back.")
        if spent.status != "held":
            raise HoldAlreadyResolved(f"Redemption {redemption_id} is already {spent.status}.")
        plan = Plan()
        s = open_session(found, customer_id, now, plan)
        hid = hold_id(partner_id, order_id)
        hold = s.current.holds.get(hid)
        if hold is None or hold_is_over(spent, now):  # time released it, now or at an earlier write
            s.commit(Change(), "", partner_id)
            expired = replace(order, spent=without_hold(spent, "expired"))
            orders_db.save(plan.tx, partner_id, order_id, expired, order, now.isoformat())
            plan.error = HoldExpired(f"The hold expired at {spent.expires_at}; its points are back.")
            return plan
        keep = hold.points if capture_points is None else capture_points
        if not capture:
            keep = 0
        elif keep > hold.points:
            raise ValidationFailed.at(["body", "points"], f"at most {hold.points} points are held", "less_than_equal")
        released = hold.points - keep
        change, kept = resolve_hold(hid, hold, keep)
        status: Answered = "captured" if capture else "voided"
        after = s.commit(
            change,
            "capture" if capture else "void",
            partner_id,
            amount_minor=order.amount_minor,
            order_id=order_id,
            ref_id=redemption_id,
            details={
                "captured": keep,
                "released": released,
                "captured_lots": kept if capture else {},
                **({"voided_by": by} if by != "partner" else {}),
                **dict(order.values),
            },
        )
        if capture:
            resolved = replace(spent, status="captured", points=spent.returned + keep, lots=kept, expires_at="")
        else:
            resolved = without_hold(spent, "voided")
        orders_db.save(plan.tx, partner_id, order_id, replace(order, spent=resolved), order, now.isoformat())
        plan.response = _redemption_out(
            order_id, customer_id, keep if capture else hold.points, status, None, s.program, after
        )
        return plan

    # The id carries the customer, so the order and the customer's wallet come in one batch read.
    return execute(req, None, [orders_db.read_key(partner_id, order_id), *reads_for(customer_id)], decide)


def capture(req: WriteRequest, redemption_id: str, body: CaptureRedemption, partner_id: str, now: datetime) -> Reply:
    return _resolve_hold(req, redemption_id, partner_id, now, body.points, capture=True)


def void(req: WriteRequest, redemption_id: str, partner_id: str, now: datetime) -> Reply:
    return _resolve_hold(req, redemption_id, partner_id, now, None, capture=False)


def release_by_customer(customer_id: str, hold: str, now: datetime) -> Reply:
    """The customer gives back points held at a till, from her page: exactly the partner's void (the order record
    says ``voided``, so the till's later capture answers 409 hold_already_resolved, and the ledger has a ``void``
    entry). ``hold`` is the hold's key in her wallet (``<partner>|<order id>``); the redemption is looked up as
    hers (``customer_id`` comes from her session, never from the form), so another customer's hold is not found."""
    partner_id, _, order_id = hold.partition(HOLD_SEP)
    if not partner_id or not order_id:
        raise NotFound("No such hold.")
    body = {"customer_id": customer_id, "hold": hold}
    req = WriteRequest(
        scope=f"customer:{customer_id}",
        idempotency_key=None,
        request_fingerprint=idempotency.fingerprint("POST", "/me/holds/release", body),
        body_fingerprint=idempotency.fingerprint("", "", body),
        now_iso=now.isoformat(),
    )
    ref = redemption_ref(customer_id, order_id)
    return _resolve_hold(req, ref, partner_id, now, None, capture=False, by="customer")
