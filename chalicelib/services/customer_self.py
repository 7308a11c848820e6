"""The customer's own settings and data (what 152-FZ and the GDPR ask of the operator).

- Settings: marketing consent on or off, language, the channel messages go to.
- Download my data: the profile, the balance and every ledger entry at every partner, as JSON and as CSV.
- Delete my account: personal data erased (name, phone, card, e-mail, birthday, chat; the identifiers are freed for
  a new enrolment), sessions ended. The ledger keeps its entries, which name only the pseudonymous customer id,
  partners and orders, so settlement still adds up. What happens to the points is the program's
  ``deleted_account_points``: ``forfeit`` (default: they expire at once, posted as an ``expiry`` entry, so the
  issuers' figures move as for any expiry; points still pending are first posted as matured, then expire with the
  rest) or ``keep_until_expiry`` (they stay on the anonymous wallet, nobody can
  spend them, and they expire at their month's end as usual). Not while points are held at a till: the till must
  capture or release them first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib import db
from chalicelib.db import codes as codes_db
from chalicelib.db import customers as customers_db
from chalicelib.db.customers import Customer
from chalicelib.domain.wallet import Change, mature_now, settled, take
from chalicelib.errors import ApiError, Conflict, CustomerUnreachable, Unavailable
from chalicelib.machinery import events, idempotency, program, wallets
from chalicelib.machinery.idempotency import Plan, WriteRequest, execute
from chalicelib.machinery.write_session import Found, open_session
from chalicelib.notify import CHANNELS
from chalicelib.schemas import CustomerRef, TransactionsQuery
from chalicelib.services import customer_messages, customers, message_outbox

POLICIES = ("forfeit", "keep_until_expiry")
EXPORT_PAGE = 100
ERASE_TRIES = 5  # an identifier or a chat attached while the account is being deleted: read and erase again


def reachable_channels(customer: Customer) -> list[str]:
    return [c for c in CHANNELS if c in customer_messages.destinations(customer)]


def update_settings(customer_id: str, *, consent: bool, locale: str, channel: str | None, now_iso: str) -> None:
    """Save the settings; when the channel her codes go to changes, say so on the channel they went to until now
    (someone who took over her page and moved the codes to a phone of theirs is then seen at once). The notice is
    committed with the change (message_outbox): a provider's outage delays it, never loses it."""
    customer = customers.load(customer_id)
    chosen = channel if channel in reachable_channels(customer) else None
    before = _channel_in_use(customer)
    after = _channel_in_use(replace(customer, channel=chosen) if chosen is not None else customer)
    tx = db.Transaction()
    customers_db.update_settings(customer_id, consent=consent, locale=locale, channel=chosen, tx=tx)
    if before is None or after is None or after == before:
        tx.commit(db.connection())
        return
    now = datetime.fromisoformat(now_iso)
    notice = message_outbox.notice_message(customer_id, "channel_changed", now, prefer=before, channel=after)
    events.stage(tx, [notice])
    message_outbox.commit(tx, notice)
    try:
        message_outbox.send_now(notice, now)
    except ApiError:
        pass  # the change she made stands; a failure that may mend is retried by the dispatcher


def _channel_in_use(customer: Customer) -> str | None:
    try:
        return customer_messages.choose(customer)[0]
    except CustomerUnreachable:
        return None


def export(customer_id: str, now: datetime) -> dict[str, Any]:
    """Everything the coalition holds about the customer, newest entries first."""
    customer = customers.load(customer_id)
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = customers.transactions(customer_id, TransactionsQuery(limit=EXPORT_PAGE, cursor=cursor), None)
        entries += [e.model_dump() for e in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    balance = wallets.balance(customer_id, customer.wallet, program.load(), now)
    return {
        "exported_at": now.isoformat(),
        "profile": {
            "customer_id": customer_id,
            "name": customer.name,
            "phone": customer.phone,
            "card": customer.card,
            "email": customer.email,
            "birthday": customer.birthday,
            "locale": customer.locale,
            "marketing_consent": customer.marketing_consent,
            "channel": customer.channel,
            "telegram_linked": bool(customer.telegram_chat_id),
            "created_at": customer.created_at,
            "enrolled_by": customer.enrolled_by,
        },
        "balance": balance.model_dump(mode="json"),
        "entries": entries,
    }


@dataclass(frozen=True)
class DeletionPreview:
    available: int
    pending: int
    held: int
    policy: str  # forfeit | keep_until_expiry
    blocked_by_holds: bool


def policy() -> str:
    chosen = program.load().deleted_account_points
    return chosen if chosen in POLICIES else "forfeit"


def preview(customer_id: str, now: datetime) -> DeletionPreview:
    customer = customers.load(customer_id)
    current, _, _ = settled(customer.wallet, now, program.load(now).timezone)
    return DeletionPreview(current.available, current.pending, current.held, policy(), bool(current.holds))


def delete(customer_id: str, now: datetime) -> None:
    """Erase the customer's personal data and settle the points as the program says (module docstring)."""
    forfeit = policy() == "forfeit"
    for _ in range(ERASE_TRIES):
        _settle_points(customer_id, now, forfeit)  # refused (409) while points are held
        customer = customers_db.load(customer_id)
        if customer is None or customer.deleted_at:
            return
        tx = db.Transaction()
        customers_db.erase(tx, customer, now.isoformat(), pointless=forfeit)
        try:
            tx.commit(db.connection())
        except db.TxCancelled:
            # An identifier or a chat was attached meanwhile, a till held points or (forfeit) some were earned: the
            # points are settled again (a hold refuses the deletion) and what is there now is erased.
            continue
        codes_db.end_every_session(customer_id, now.isoformat())
        return
    raise Unavailable("The account kept changing while it was being deleted; try again.")


def _settle_points(customer_id: str, now: datetime, forfeit: bool) -> None:
    """Refuse while points are held; forfeit the available points if the program says so (one ``expiry`` entry,
    the coalition's, as when lots expire at a month's end)."""
    req = WriteRequest(
        scope=f"customer:{customer_id}",
        idempotency_key=None,
        request_fingerprint=idempotency.fingerprint("POST", "/me/delete", {"customer_id": customer_id}),
        body_fingerprint=idempotency.fingerprint("", "", {"customer_id": customer_id}),
        now_iso=now.isoformat(),
    )

    def decide(found: Found) -> Plan:
        plan = Plan(customer_id=customer_id)
        s = open_session(found, customer_id, now, plan)
        if s.current.holds:
            raise Conflict("Points are held at a till: the account can be deleted once they are captured or released.")
        if forfeit and (s.current.available or s.current.pending):
            # Pending points go the way of available ones: posted as matured at once (an entry, never an edit),
            # then everything expires in one entry, so the issuers' expired figures name them as for any expiry.
            matured = mature_now(s.current)
            expired = take(matured.applied_to(s.current), s.current.available + s.current.pending)
            if matured.pending:
                wallets.post(
                    plan.tx,
                    customer_id,
                    wallets.SYSTEM_PARTNER,
                    "matured",
                    now,
                    s.program,
                    matured,
                    details={"reason": "account_deleted"},
                )
            s.commit_with_entry(
                matured.merge(expired), expired, "expiry", wallets.SYSTEM_PARTNER, details={"reason": "account_deleted"}
            )
        else:
            s.commit(Change(), "", wallets.SYSTEM_PARTNER)
        plan.response = CustomerRef(customer_id=customer_id)
        return plan

    execute(req, None, [customers_db.read_key(customer_id)], decide)
