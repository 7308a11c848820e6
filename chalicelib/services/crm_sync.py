"""Bitrix24 both ways: the partner's contacts follow their loyalty balance, and a won deal earns points.

Out: the dispatcher queues every enrolment and balance change (services/crm_subscribers.py: a change waits once
per event, under ``attribute_not_exists``); :func:`flush`, once per dispatcher pass, finds or creates each waiting
customer's contact by phone and writes the balance, tier and the next points to expire, all read at send time (the
latest balance wins), with a timeline comment for accruals and redemptions in the connection's language. Calls go in
``batch`` requests of up to 50 commands; a throttled (``QUERY_LIMIT_EXCEEDED``) or silent portal leaves the changes
waiting for the next pass.

In: :func:`deal_event` takes Bitrix24's outgoing webhook ``ONCRMDEALUPDATE``, checks its ``application_token`` before
anything else, re-reads the deal through REST (the webhook carries ids only) and turns a won deal into an accrual with
order id ``b24-deal-<id>`` (the order id binds: the event sent twice accrues once) and a lost one into the refund of
what that order has left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import ValidationError

from chalicelib import db, outbound
from chalicelib.db import crm as crm_db
from chalicelib.db import orders as orders_db
from chalicelib.domain import signing
from chalicelib.domain.events import ACCRUAL_CREATED, REDEMPTION_CREATED
from chalicelib.errors import BadRequest, Conflict, NotFound, Unauthorized, Unavailable
from chalicelib.integrations.bitrix24 import (
    MAX_BATCH,
    Bitrix24,
    Bitrix24Error,
    Retryable,
    Transport,
    http_transport,
    valid_webhook_url,
)
from chalicelib.machinery.idempotency import WriteRequest, fingerprint
from chalicelib.notify import webhook_http
from chalicelib.schemas import (
    AccrualOut,
    Bitrix24Connection,
    CreateAccrual,
    CreateRefund,
    CustomerEnrolled,
    EnrollCustomer,
)
from chalicelib.schemas.common import MAX_AMOUNT_MINOR
from chalicelib.services import accruals, customers, refunds
from chalicelib.services.message_texts import TEXTS

__all__ = ["FIELDS", "comment", "connect", "connection_out", "deal_event", "flush", "order_id_of"]

DEAL_EVENT = "ONCRMDEALUPDATE"
# The contact's custom fields the partner creates in Bitrix24 (docs/integrations.md, "Bitrix24").
FIELDS = {
    "balance": "UF_CRM_LOYALTY_BALANCE",
    "tier": "UF_CRM_LOYALTY_TIER",
    "expiring": "UF_CRM_LOYALTY_EXPIRING",
    "expiring_on": "UF_CRM_LOYALTY_EXPIRING_ON",
}
# The timeline comment of a change, by its text's name in the catalogue (services/message_texts.py).
COMMENTED = {ACCRUAL_CREATED: "crm_accrued", REDEMPTION_CREATED: "crm_redeemed"}
KEEP_SENT = timedelta(days=30)  # longer than any event can wait in the outbox or a stream
PENDING_PER_PASS = 200  # changes read per partner and pass (an enrolment and its first purchase: two)
log = logging.getLogger("loyalty.crm")
_transport: Transport = http_transport  # tests point it at the local stand-in (tests/crm_standins.py)


def set_transport(transport: Transport) -> None:
    global _transport
    _transport = transport


def _refused(url: str) -> str | None:
    """Why the portal's URL may not be called (the webhooks' SSRF guard: https to public addresses in AWS); checked
    at connection and again before each use (a host's address can change)."""
    if not valid_webhook_url(url, not outbound.production()):
        return "webhook_url must be the inbound webhook Bitrix24 shows: https://<portal>/rest/<user>/<token>/"
    return webhook_http.refusal(url, outbound.production())


def connect(
    partner_id: str, webhook_url: str, application_token: str, won_stage: str, now: datetime, language: str = "ru"
) -> None:
    reason = _refused(webhook_url)
    if reason is not None:
        raise BadRequest(f"webhook_url is refused: {reason}.")
    crm_db.connect(partner_id, webhook_url, application_token, won_stage, now.isoformat(), language)


def connection_out(conn: crm_db.Connection) -> Bitrix24Connection:
    return Bitrix24Connection(
        won_stage=conn.won_stage,
        language="en" if conn.language == "en" else "ru",
        events_path=f"/v1/integrations/bitrix24/events/{conn.partner_id}",
        connected_at=conn.created_at,
    )


def comment(event_type: str, points: int, language: str) -> str | None:
    """The timeline comment of a change in the partner's language (None: the change is not commented)."""
    name = COMMENTED.get(event_type)
    return TEXTS["en" if language == "en" else "ru"][name].format(points=points) if name is not None else None


def order_id_of(deal_id: str) -> str:
    return f"b24-deal-{deal_id}"


# ---- out: balance changes to the partner's contacts ----


def flush(now: datetime) -> int:
    """One pass over every connected partner; returns the changes the CRMs took."""
    taken = 0
    for conn in crm_db.connections():
        try:
            took = _flush_partner(conn, now)
        except Bitrix24Error as exc:  # throttled, silent or refusing: the changes wait, the others go on
            crm_db.note_error(conn.partner_id, exc.code[:60], now.isoformat())  # the portal page shows it
            continue
        except Exception:  # an answer of a shape nobody foresaw: this partner's changes wait, no other partner's
            log.exception("Bitrix24 pass of %s failed", conn.partner_id)
            crm_db.note_error(conn.partner_id, "BAD_ANSWER", now.isoformat())
            continue
        if took and conn.last_error is not None:
            crm_db.note_error(conn.partner_id, None, now.isoformat())
        taken += took
    return taken


def _flush_partner(conn: crm_db.Connection, now: datetime) -> int:
    waiting = crm_db.pending(conn.partner_id, PENDING_PER_PASS)
    if not waiting or _refused(conn.webhook_url) is not None:
        return 0
    client = Bitrix24(conn.webhook_url, _transport)
    phones: dict[str, str] = {}
    gone: list[crm_db.Pending] = []
    for change in waiting:
        if change.customer_id in phones:
            continue
        try:
            phone = customers.load(change.customer_id).phone
        except NotFound:  # the customer deleted the account: nothing to tell
            phone = None
        if phone is None:
            gone.append(change)
        else:
            phones[change.customer_id] = phone
    contacts = _contacts(client, conn.partner_id, phones)
    keep = int((now + KEEP_SENT).timestamp())
    crm_db.done(conn.partner_id, gone, keep)
    # Each customer's update, then the comments of its changes (a comment never goes in a batch before its update);
    # a change is done once the batch holding its last command went through, unless its contact was refused.
    commands: list[tuple[str, tuple[str, Mapping[str, object]]]] = []
    last: dict[str, int] = {}  # event id -> the index of the last command its change needs
    for customer_id, contact_id in contacts.items():
        commands.append((f"u_{customer_id}", ("crm.contact.update", _fields(contact_id, customer_id, now))))
        for change in (c for c in waiting if c.customer_id == customer_id):
            text = comment(change.event_type, change.points, conn.language)
            if text is not None:
                fields = {"ENTITY_ID": contact_id, "ENTITY_TYPE": "contact", "COMMENT": text}
                commands.append((f"c_{change.event_id}", ("crm.timeline.comment.add", {"fields": fields})))
            last[change.event_id] = len(commands) - 1
    refused: set[str] = set()
    sent = 0
    for start in range(0, len(commands), MAX_BATCH):
        chunk = commands[start : start + MAX_BATCH]
        # Retryable: this batch and the later ones wait for the next pass; what the earlier ones took is done below,
        # batch by batch, so the next pass sends none of their comments again.
        answer = client.batch(dict(chunk))
        gone_now = {name[2:] for name, _ in chunk if name.startswith("u_") and name in answer.errors}
        for customer_id in gone_now:  # the contact is gone (deleted in the CRM): found or created again next pass
            crm_db.forget_contact(conn.partner_id, customer_id)
        refused |= gone_now
        end = start + len(chunk)
        taken = [c for c in waiting if start <= last.get(c.event_id, -1) < end and c.customer_id not in refused]
        crm_db.done(conn.partner_id, taken, keep)
        sent += len(taken)
    return sent


def _contacts(client: Bitrix24, partner_id: str, phones: dict[str, str]) -> dict[str, str]:
    """Each customer's contact: remembered, else found by phone, else created (found first, so a pass that died
    after creating one finds it instead of creating a second)."""
    out = {c: known for c in phones if (known := crm_db.contact_of(partner_id, c)) is not None}
    unknown = [c for c in phones if c not in out]
    for start in range(0, len(unknown), MAX_BATCH):
        chunk = unknown[start : start + MAX_BATCH]
        listed = client.batch(
            {f"f_{c}": ("crm.contact.list", {"filter": {"PHONE": phones[c]}, "select": ["ID"]}) for c in chunk}
        )
        missing = []
        for c in chunk:
            found = listed.results.get(f"f_{c}")
            if isinstance(found, list) and found and isinstance(found[0], dict) and found[0].get("ID"):
                out[c] = str(found[0]["ID"])
            else:
                missing.append(c)
        if missing:
            added = client.batch(
                {
                    f"a_{c}": ("crm.contact.add", {"fields": {"PHONE": [{"VALUE": phones[c], "VALUE_TYPE": "MOBILE"}]}})
                    for c in missing
                }
            )
            out.update({c: str(added.results[f"a_{c}"]) for c in missing if added.results.get(f"a_{c}")})
        for c in chunk:
            if c in out:
                crm_db.remember_contact(partner_id, c, out[c])
    return out


def _fields(contact_id: str, customer_id: str, now: datetime) -> dict[str, object]:
    balance = customers.balance(customer_id, now)  # read now: whatever changed since the event, the latest wins
    soonest = min(balance.expiring, key=lambda e: e.expires_on, default=None)
    values = {
        FIELDS["balance"]: balance.available,
        FIELDS["tier"]: balance.tier.name,
        FIELDS["expiring"]: soonest.points if soonest is not None else 0,
        FIELDS["expiring_on"]: soonest.expires_on.isoformat() if soonest is not None else "",
    }
    return {"id": contact_id, "fields": values}


# ---- in: Bitrix24's outgoing webhook ----

Outcome = Literal["accrued", "refunded", "ignored"]


def deal_event(partner_id: str, form: Mapping[str, str], now: datetime) -> Outcome:
    conn = crm_db.get(partner_id)
    given = form.get("auth[application_token]", "")
    expected = conn.application_token if conn is not None else "\x00" * 32
    # Before anything is read from the portal or written here; an unknown partner is refused the same way.
    if not signing.verify(given, expected) or conn is None:
        raise Unauthorized("This is not the connected Bitrix24 portal's webhook call.")
    deal_id = form.get("data[FIELDS][ID]", "")
    if form.get("event", "").upper() != DEAL_EVENT or not deal_id.isdigit() or len(deal_id) > 20:
        return "ignored"
    if _refused(conn.webhook_url) is not None:
        return "ignored"
    client = Bitrix24(conn.webhook_url, _transport)
    try:
        deal = client.call("crm.deal.get", {"id": deal_id})
    except Retryable as exc:  # Bitrix24 sends its webhook again on an error answer
        raise Unavailable("The Bitrix24 portal did not answer; send the event again.") from exc
    if not isinstance(deal, dict):
        return "ignored"
    stage = str(deal.get("STAGE_ID") or "")
    if stage == conn.won_stage:
        return _won(client, conn, deal_id, deal, now)
    if stage == "LOSE" or stage.endswith(":LOSE"):  # the default pipeline's lost stage, or another pipeline's
        return _lost(conn, deal_id, now)
    return "ignored"


def _request(partner_id: str, path: str, body: dict[str, object], now: datetime, crm: str) -> WriteRequest:
    return WriteRequest(
        scope=f"{'b24' if crm == 'bitrix24' else crm}:{partner_id}",
        idempotency_key=None,  # the order id and refund id are the natural ids that bind
        request_fingerprint=fingerprint("POST", path, body),
        body_fingerprint=fingerprint("", "", body),
        now_iso=now.isoformat(),
        actor=f"{crm}:{partner_id}",
    )


def amount_minor(opportunity: object) -> int | None:
    """``"1500.50"`` roubles -> 150050 kopecks, exactly; None for anything else (a fraction of a kopeck included)."""
    try:
        value = Decimal(str(opportunity)) * 100
    except ArithmeticError:  # not a number, or one past Decimal's own range ("1e999999999" overflows)
        return None
    if not value.is_finite() or value != value.to_integral_value() or value <= 0 or value > MAX_AMOUNT_MINOR:
        return None  # beyond any till (and never int() of "1e999999999"): no accrual can ever take it
    return int(value)


def _won(client: Bitrix24, conn: crm_db.Connection, deal_id: str, deal: dict[str, object], now: datetime) -> Outcome:
    amount = amount_minor(deal.get("OPPORTUNITY"))
    contact_id = str(deal.get("CONTACT_ID") or "")
    if amount is None or not contact_id.isdigit():
        return "ignored"
    contact = client.call("crm.contact.get", {"id": contact_id})
    phones = contact.get("PHONE") if isinstance(contact, dict) else None
    phone = next((p.get("VALUE") for p in phones or [] if isinstance(p, dict) and p.get("VALUE")), None)
    customer_id = accrue_by_phone(conn.partner_id, phone, order_id_of(deal_id), amount, now, "bitrix24")
    if customer_id is None:
        return "ignored"
    crm_db.remember_contact(conn.partner_id, customer_id, contact_id)
    return "accrued"


def accrue_by_phone(partner_id: str, phone: object, order_id: str, amount: int, now: datetime, crm: str) -> str | None:
    """A CRM's won deal: the customer with that phone (enrolled if new) earns for order ``order_id``, once; the
    customer's id, or None when the phone is not one or the order accrued already."""
    if not isinstance(phone, str) or not 1 <= amount <= MAX_AMOUNT_MINOR:
        return None  # an amount no accrual takes (amoCRM's price beyond the limit): nobody enrolled either
    try:
        enrol = EnrollCustomer(phone=phone)
    except ValidationError:
        return None
    body = enrol.model_dump(mode="json", exclude_none=True)
    enrolled = customers.enroll(_request(partner_id, "/v1/customers", body, now, crm), enrol, partner_id)
    customer_id = enrolled.result(CustomerEnrolled).customer_id
    order = CreateAccrual(customer_id=customer_id, order_id=order_id, amount_minor=amount, channel="online")
    req = _request(partner_id, "/v1/accruals", order.model_dump(mode="json"), now, crm)
    try:
        accruals.accrue(req, order, partner_id, now).result(AccrualOut)
    except Conflict:  # the deal accrued already (another amount since): the first accrual stands
        return None
    return customer_id


def _lost(conn: crm_db.Connection, deal_id: str, now: datetime) -> Outcome:
    return refund_order(conn.partner_id, order_id_of(deal_id), now, "bitrix24")


def refund_order(partner_id: str, order_id: str, now: datetime, crm: str) -> Outcome:
    """A CRM's deal lost after it was won: what the order has left is refunded, once (refund id ``<order>-lost``)."""
    found = db.get_many([orders_db.read_key(partner_id, order_id)])
    order = orders_db.load(found, partner_id, order_id)
    if order is None or order.amount_minor - order.refunded_minor <= 0:
        return "ignored"
    body = CreateRefund(
        order_id=order_id, refund_id=f"{order_id}-lost", amount_minor=order.amount_minor - order.refunded_minor
    )
    try:
        refunds.refund(
            _request(partner_id, "/v1/refunds", body.model_dump(mode="json"), now, crm), body, partner_id, now
        )
    except Conflict:  # refunded already
        return "ignored"
    return "refunded"
