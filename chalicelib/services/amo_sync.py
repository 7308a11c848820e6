"""amoCRM both ways, on Bitrix24's machinery (chalicelib/services/crm_sync.py): the same queue of changes per partner,
flushed in the dispatcher's pass, the same sent marks and the same accrual and refund of a won or lost deal.

OAuth 2: the access token is refreshed when it has expired (``expires_in``) or when amoCRM answers 401, once, and the
call is tried again once. amoCRM rotates the refresh token: the new pair is stored under a condition on the version
read (chalicelib/db/amo.py), and an instance that loses that race uses the winner's tokens.

In: amoCRM's webhooks are not signed, so the URL carries a random secret per connection, compared in constant time
before anything else; the lead is re-read through REST (the webhook's fields are never trusted): status 142
("successfully realised") earns with order id ``amo-lead-<id>``, 143 (lost) refunds what that order has left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from chalicelib import outbound, runtime
from chalicelib.db import amo as amo_db
from chalicelib.db import crm as crm_db
from chalicelib.db.reads import Found
from chalicelib.domain import signing
from chalicelib.errors import BadRequest, NotFound, Unauthorized, Unavailable
from chalicelib.integrations import amocrm
from chalicelib.machinery.idempotency import Plan, Reply, WriteRequest, execute
from chalicelib.notify import webhook_http
from chalicelib.schemas import AmoCrmConnection
from chalicelib.services import crm_sync, customers, owner_notices

__all__ = ["LOST", "WON", "connect", "connection_out", "flush", "lead_event", "order_id_of"]

WON, LOST = 142, 143  # amoCRM's fixed statuses in every pipeline
CODES = {"balance": "LOYALTY_BALANCE", "tier": "LOYALTY_TIER", "expiring": "LOYALTY_EXPIRING"}
CODES["expiring_on"] = "LOYALTY_EXPIRING_ON"
log = logging.getLogger("loyalty.crm")
EARLY = 60  # seconds: a token this close to its expiry is refreshed before the call
_transport: amocrm.Transport = amocrm.http_transport


def _https_base(subdomain: str) -> str:
    return f"https://{subdomain}.amocrm.ru"


_base: Callable[[str], str] = _https_base  # tests point it at the local stand-in (tests/crm_standins.py)


def set_transport(transport: amocrm.Transport, base: Callable[[str], str] = _https_base) -> None:
    global _transport, _base
    _transport, _base = transport, base


def order_id_of(lead_id: str) -> str:
    return f"amo-lead-{lead_id}"


def _refused(subdomain: str) -> str | None:
    return webhook_http.refusal(_base(subdomain), outbound.production())


SECRET_PLACEHOLDER = "__AMOCRM_WEBHOOK_SECRET__"  # noqa: S105 - a marker, not a secret
HIDDEN = "{secret}"


def connection_out(conn: amo_db.AmoConnection, secret: str = HIDDEN) -> AmoCrmConnection:
    return AmoCrmConnection(
        subdomain=conn.subdomain,
        language="en" if conn.language == "en" else "ru",
        events_path=f"/v1/integrations/amocrm/events/{conn.partner_id}/{secret}",
        connected_at=conn.created_at,
        status="broken" if conn.broken_reason is not None else "active",
        broken_reason=conn.broken_reason,
        broken_at=conn.broken_at,
    )


def _webhook_secret(seed: str, partner_id: str) -> str:
    """The webhook URL's secret, derived from the request's secret seed: a replay of the request shows it again,
    and no replay record holds it."""
    return signing.derive(runtime.get().settings.key_pepper, "amocrm-webhook", f"{seed}\n{partner_id}")[:40]


def connect(
    req: WriteRequest,
    partner_id: str,
    subdomain: str,
    client: tuple[str, str, str],
    grant: tuple[str, str],
    fields: Mapping[str, int],
    now: datetime,
    language: str,
) -> Reply:
    """``client`` = (client_id, client_secret, redirect_uri); ``grant`` = (``authorization_code`` | ``refresh_token``,
    its value). The code is usable once, so it is exchanged once per request, inside the replay machinery: a retry
    after a lost answer (or the same Idempotency-Key again) is answered from the request's record, never by asking
    amoCRM a second time. The answer's ``events_path`` carries :data:`SECRET_PLACEHOLDER` as recorded, filled in on
    the way out."""
    reason = _refused(subdomain)
    if reason is not None:
        raise BadRequest(f"subdomain is refused: {reason}.")
    client_id, client_secret, redirect_uri = client
    exchanged: list[amocrm.Tokens] = []  # once per request, not per attempt of its transaction

    def decide(_: Found) -> Plan:
        if not exchanged:
            try:
                exchanged.append(
                    amocrm.exchange(_base(subdomain), client_id, client_secret, redirect_uri, *grant, _transport)
                )
            except amocrm.Retryable as exc:  # transient: not recorded, the retry asks again
                raise Unavailable("amoCRM did not answer; connect again.") from exc
            except amocrm.AmoError as exc:
                raise BadRequest("amoCRM refused the authorization code or refresh token.") from exc
        tokens = exchanged[0]
        conn = amo_db.AmoConnection(
            partner_id, subdomain, client_id, client_secret, redirect_uri, tokens.access_token, tokens.refresh_token,
            int(now.timestamp()) + tokens.expires_in, 0, _webhook_secret(req.secret_seed, partner_id), dict(fields),
            now.isoformat(), language,
        )  # fmt: skip
        plan = Plan()
        amo_db.stage_connect(plan.tx, conn)
        plan.response = connection_out(conn, SECRET_PLACEHOLDER)
        return plan

    seed = req.secret_seed

    def render(body: str) -> str:
        return body.replace(SECRET_PLACEHOLDER, _webhook_secret(seed, partner_id))

    return execute(req, None, [], decide, render=render)


def _refresh(conn: amo_db.AmoConnection, now: datetime) -> amo_db.AmoConnection:
    try:
        tokens = amocrm.exchange(
            _base(conn.subdomain), conn.client_id, conn.client_secret, conn.redirect_uri, "refresh_token",
            conn.refresh_token, _transport,
        )  # fmt: skip
    except amocrm.Revoked:
        _break(conn, now)
        raise
    stored = amo_db.store_tokens(
        conn, tokens.access_token, tokens.refresh_token, int(now.timestamp()) + tokens.expires_in
    )
    if stored is not None:
        return stored
    winner = amo_db.get(conn.partner_id)  # another instance rotated first: its tokens are the live ones
    if winner is None:
        raise amocrm.AmoError("disconnected")
    return winner


BROKEN = "amocrm_broken"  # the owners' notice (message_texts) and its purpose


def _break(conn: amo_db.AmoConnection, now: datetime) -> None:
    """amoCRM refused the refresh token: the connection is marked broken (nothing is called until the partner
    connects again), and its owners are told once, by whichever pass marked it."""
    reason = "amoCRM refused the refresh token (invalid_grant): the integration was switched off or deleted."
    if amo_db.break_off(conn, reason, now.isoformat()):
        url = f"{runtime.get().settings.public_base_url or ''}/portal/integrations"
        owner_notices.tell_owners(conn.partner_id, BROKEN, url=url)


class _Session:
    """Calls of one partner's account with its tokens, refreshed once on expiry or 401."""

    def __init__(self, conn: amo_db.AmoConnection, now: datetime) -> None:
        self.conn, self.now, self.refreshed = conn, now, False

    def call(self, method: str, path: str, body: object = None) -> Any:
        if self.conn.broken_reason is not None:  # only the partner connecting again mends it: amoCRM is not called
            raise amocrm.Revoked("broken")
        if _refused(self.conn.subdomain) is not None:
            raise amocrm.AmoError("refused address")
        if self.conn.expires_at - EARLY <= int(self.now.timestamp()) and not self.refreshed:
            self.conn, self.refreshed = _refresh(self.conn, self.now), True
        try:
            return amocrm.Amo(_base(self.conn.subdomain), self.conn.access_token, _transport).call(method, path, body)
        except amocrm.Expired:
            if self.refreshed:
                raise
            self.conn, self.refreshed = _refresh(self.conn, self.now), True
            return amocrm.Amo(_base(self.conn.subdomain), self.conn.access_token, _transport).call(method, path, body)


# ---- out: balance changes to the partner's contacts ----


def flush(now: datetime) -> int:
    taken = 0
    for conn in amo_db.connections():
        if conn.broken_reason is not None:  # its changes wait for the partner to connect again
            continue
        try:
            taken += _flush_partner(_Session(conn, now), now)
        except amocrm.AmoError:  # throttled (429), silent, refusing or disconnected: the changes wait
            continue
        except Exception:  # an answer of a shape nobody foresaw: this partner's changes wait, no other partner's
            log.exception("amoCRM pass of %s failed", conn.partner_id)
            continue
    return taken


def _phone_of(customer_id: str) -> str | None:
    try:
        return customers.load(customer_id).phone
    except NotFound:  # the customer deleted the account: nothing to tell
        return None


def _flush_partner(session: _Session, now: datetime) -> int:
    partner_id = session.conn.partner_id
    waiting = crm_db.pending(partner_id, crm_sync.PENDING_PER_PASS, amo_db.AMOCRM)
    if not waiting:
        return 0
    phones = {c.customer_id: p for c in waiting if (p := _phone_of(c.customer_id)) is not None}
    gone = [c for c in waiting if c.customer_id not in phones]
    contacts = {c: known for c in phones if (known := crm_db.contact_of(partner_id, c, amo_db.AMOCRM)) is not None}
    for customer_id, phone in phones.items():
        if customer_id not in contacts:  # found first, so a pass that died after creating one finds it
            found = session.call("GET", f"/api/v4/contacts?query={quote(phone)}")
            listed = (found or {}).get("_embedded", {}).get("contacts") or []
            if not listed:
                body = [{"custom_fields_values": [{"field_code": "PHONE", "values": [{"value": phone}]}]}]
                listed = (session.call("POST", "/api/v4/contacts", body) or {}).get("_embedded", {}).get("contacts")
            if not isinstance(listed, list) or not listed or not isinstance(listed[0], dict) or "id" not in listed[0]:
                continue  # no contact to write to: its changes wait for the next pass
            contacts[customer_id] = str(listed[0]["id"])
            crm_db.remember_contact(partner_id, customer_id, contacts[customer_id], amo_db.AMOCRM)
    customers_ = list(contacts)
    for start in range(0, len(customers_), amocrm.MAX_BATCH):
        chunk = customers_[start : start + amocrm.MAX_BATCH]
        refused, later = _update(session, contacts, chunk, now, whole=True)
        for c in refused:  # its contact was deleted in amoCRM: found or created next pass
            crm_db.forget_contact(partner_id, c, amo_db.AMOCRM)
        for c in refused + later:  # neither is sent: their changes wait
            del contacts[c]
    keep = int((now + crm_sync.KEEP_SENT).timestamp())
    written = [c for c in waiting if c.customer_id in contacts]
    noted = [(c, t) for c in written if (t := crm_sync.comment(c.event_type, c.points, session.conn.language))]
    with_note = {c.event_id for c, _ in noted}
    crm_db.done(partner_id, [c for c in written if c.event_id not in with_note] + gone, keep, amo_db.AMOCRM)
    for start in range(0, len(noted), amocrm.MAX_BATCH):
        batch = noted[start : start + amocrm.MAX_BATCH]
        notes = [
            {"entity_id": int(contacts[c.customer_id]), "note_type": "common", "params": {"text": text}}
            for c, text in batch
        ]
        # Retryable: this chunk and the later ones wait for the next pass; the chunks amoCRM took are done now,
        # so their notes are not added again.
        session.call("POST", "/api/v4/contacts/notes", notes)
        crm_db.done(partner_id, [c for c, _ in batch], keep, amo_db.AMOCRM)
    return len(written)


def _update(
    session: _Session, contacts: dict[str, str], chunk: list[str], now: datetime, whole: bool = False
) -> tuple[list[str], list[str]]:
    """Write the fields of ``chunk``'s contacts; returns (refused, later): the customers whose contact amoCRM refused,
    and those not written because amoCRM throttled the halves. A chunk answered 400 names no culprit (a contact
    deleted in amoCRM fails the whole request), so it is halved until the refused ones are alone: the others are
    written in this pass, and none is forgotten for a neighbour's fault."""
    updates = [{"id": int(contacts[c]), "custom_fields_values": _values(session.conn, c, now)} for c in chunk]
    try:
        session.call("PATCH", "/api/v4/contacts", updates)
        return [], []
    except (amocrm.Expired, amocrm.Revoked):  # the account's authorisation: the whole pass waits
        raise
    except amocrm.Retryable:
        if whole:  # 429, 5xx, silent: the whole pass waits
            raise
        return [], chunk  # throttled while halving: these wait, still known
    except amocrm.AmoError:
        if len(chunk) == 1:
            return chunk, []
    half = len(chunk) // 2
    refused, later = _update(session, contacts, chunk[:half], now)
    if later:  # throttled: the second half waits too, without asking
        return refused, later + chunk[half:]
    more, later = _update(session, contacts, chunk[half:], now)
    return refused + more, later


def _values(conn: amo_db.AmoConnection, customer_id: str, now: datetime) -> list[dict[str, object]]:
    balance = customers.balance(customer_id, now)  # read now: the latest wins
    soonest = min(balance.expiring, key=lambda e: e.expires_on, default=None)
    values: dict[str, object] = {
        "balance": balance.available,
        "tier": balance.tier.name,
        "expiring": soonest.points if soonest is not None else 0,
        "expiring_on": soonest.expires_on.isoformat() if soonest is not None else "",
    }
    out: list[dict[str, object]] = []
    for name, value in values.items():
        key: dict[str, object] = {"field_id": conn.fields[name]} if name in conn.fields else {"field_code": CODES[name]}
        out.append(key | {"values": [{"value": value}]})
    return out


# ---- in: amoCRM's webhook ----


def lead_event(partner_id: str, secret: str, form: Mapping[str, str], now: datetime) -> crm_sync.Outcome:
    conn = amo_db.get(partner_id)
    expected = conn.webhook_secret if conn is not None else "\x00" * 32
    # Before anything is read from amoCRM or written here; an unknown partner is refused the same way.
    if not signing.verify(secret, expected) or conn is None:
        raise Unauthorized("This is not the connected amoCRM account's webhook URL.")
    lead_id = form.get("leads[status][0][id]", "")
    if not lead_id.isdigit() or len(lead_id) > 20:
        return "ignored"
    session = _Session(conn, now)
    try:
        lead = session.call("GET", f"/api/v4/leads/{lead_id}?with=contacts")
        if not isinstance(lead, dict):
            return "ignored"
        status = lead.get("status_id")
        if status == WON:
            return _won(session, lead_id, lead, now)
    except amocrm.Retryable as exc:  # amoCRM sends its webhook again on an error answer
        raise Unavailable("amoCRM did not answer; send the event again.") from exc
    except amocrm.Revoked as exc:  # the lead cannot be read until the partner connects again: amoCRM retries
        raise Unavailable("The amoCRM connection needs to be connected again; send the event again.") from exc
    except amocrm.AmoError:
        return "ignored"
    if status == LOST:
        return crm_sync.refund_order(partner_id, order_id_of(lead_id), now, amo_db.AMOCRM)
    return "ignored"


def _won(session: _Session, lead_id: str, lead: dict[str, Any], now: datetime) -> crm_sync.Outcome:
    price = lead.get("price")
    contacts = (lead.get("_embedded") or {}).get("contacts") or []
    main = next((c for c in contacts if c.get("is_main")), contacts[0] if contacts else None)
    if not isinstance(price, int) or isinstance(price, bool) or price <= 0 or not str((main or {}).get("id")).isdigit():
        return "ignored"
    assert main is not None
    contact = session.call("GET", f"/api/v4/contacts/{int(main['id'])}")
    phone = next(
        (
            v.get("value")
            for f in (contact or {}).get("custom_fields_values") or []
            if f.get("field_code") == "PHONE"
            for v in f.get("values") or []
        ),
        None,
    )
    partner_id = session.conn.partner_id
    customer_id = crm_sync.accrue_by_phone(partner_id, phone, order_id_of(lead_id), price * 100, now, amo_db.AMOCRM)
    if customer_id is None:
        return "ignored"
    crm_db.remember_contact(partner_id, customer_id, str(main["id"]), amo_db.AMOCRM)
    return "accrued"
