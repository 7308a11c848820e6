"""Reading the audit log (``machinery/audit.py`` writes it): the operator reads all of it, with filters; a partner
its own only.

A page's cursor is DynamoDB's start key, signed (HMAC with the key pepper) together with the listing it belongs to
(who reads, which partition, which filters): a cursor made for one partner, or one filter, is refused for any
other, and a partner's listing is always its own partition whatever a cursor says."""

from __future__ import annotations

import json

from chalicelib import ids, runtime
from chalicelib.db import audit as audit_db
from chalicelib.domain import signing
from chalicelib.domain.audit import Record, period_range
from chalicelib.errors import ValidationFailed
from chalicelib.machinery import program
from chalicelib.schemas import AuditEntryOut, AuditPage, AuditQuery, PartnerAuditQuery

__all__ = ["for_operator", "for_partner"]

_CURSOR_ERROR = "cursor is not one this API returned for this listing"


def _out(r: Record) -> AuditEntryOut:
    return AuditEntryOut(
        audit_id=r.audit_id,
        at=r.at,
        actor=r.actor,
        action=r.action,
        target=r.target,
        partner_id=r.partner_id,
        before=r.before,
        after=r.after,
        request_id=r.request_id,
    )


def _sign(scope: str, payload: str) -> str:
    pepper = runtime.get().settings.key_pepper
    return signing.sign_hex(pepper, "audit-cursor", scope, payload, length=32)


def _encode(scope: str, last: dict[str, str]) -> str:
    payload = ids.b64url(json.dumps(last, sort_keys=True, separators=(",", ":")).encode())
    return f"{payload}.{_sign(scope, payload)}"


def _decode(scope: str, cursor: str, partition_key: tuple[str, str]) -> dict[str, str]:
    """The start key a cursor names, if this API signed it for this very listing and it lies in its partition."""
    payload, _, signature = cursor.partition(".")
    if not signing.verify(signature, _sign(scope, payload)):
        raise ValidationFailed.at(["query", "cursor"], _CURSOR_ERROR)
    try:
        start = json.loads(ids.unb64url(payload))
    except ValueError as exc:
        raise ValidationFailed.at(["query", "cursor"], _CURSOR_ERROR) from exc
    attr, value = partition_key
    if not isinstance(start, dict) or start.get(attr) != value or not all(isinstance(v, str) for v in start.values()):
        raise ValidationFailed.at(["query", "cursor"], _CURSOR_ERROR)
    return {str(k): str(v) for k, v in start.items()}


_PARTITION_ATTR = {"all": "gsi2pk", "partner": "gsi1pk", "actor": "pk"}


def _list(listing: audit_db.Listing, value: str, q: PartnerAuditQuery, reader: str) -> AuditPage:
    since, until = (None, None)
    if q.period is not None:
        since, until = period_range(q.period, program.load().timezone)
    # With an actor named, the actor's own partition is read, so the actor filter is a key, not a filter.
    actor_filter = q.actor if listing != "actor" else None
    scope = json.dumps([reader, listing, value, q.action, q.actor, q.period])
    partition = audit_db.partition(listing, value)
    start = _decode(scope, q.cursor, (_PARTITION_ATTR[listing], partition)) if q.cursor else None
    try:
        found = audit_db.page(
            listing, value, limit=q.limit, start=start, since=since, until=until, action=q.action, actor=actor_filter
        )
    except audit_db.InvalidStart as exc:
        raise ValidationFailed.at(["query", "cursor"], _CURSOR_ERROR) from exc
    next_cursor = _encode(scope, found.last) if found.last is not None else None
    return AuditPage(items=[_out(r) for r in found.records], next_cursor=next_cursor)


def for_operator(q: AuditQuery) -> AuditPage:
    """The whole log, newest first; a partner's records only (its index) with ``partner_id``; an actor's only (its
    partition) with ``actor``; with both, the partner's index filtered by actor."""
    if q.partner_id is not None:
        return _list("partner", q.partner_id, q, "operator")
    if q.actor is not None:
        return _list("actor", q.actor, q, "operator")
    return _list("all", "", q, "operator")


def for_partner(partner_id: str, q: PartnerAuditQuery) -> AuditPage:
    """A partner's own records only: the partition is the caller's, never anything the request names."""
    return _list("partner", partner_id, q, f"partner:{partner_id}")
