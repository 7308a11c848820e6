"""What the coalition tells others after a write commits: an event, its type and the partner it concerns.

An event travels in the transaction of the change it describes (an outbox item), so it exists exactly when the
change does; the dispatcher delivers it afterwards. Its data is small: ids, points and amounts, never a customer's
personal data beyond the customer id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCRUAL_CREATED = "accrual.created"
REDEMPTION_CREATED = "redemption.created"
REDEMPTION_CAPTURED = "redemption.captured"
REDEMPTION_VOIDED = "redemption.voided"
REFUND_CREATED = "refund.created"
BONUS_CREATED = "bonus.created"
ADJUSTMENT_CREATED = "adjustment.created"
POINTS_EXPIRED = "points.expired"
TIER_CHANGED = "tier.changed"
CAMPAIGN_UPDATED = "campaign.updated"
SETTLEMENT_CLOSED = "settlement.closed"
# Heard by the CRM connectors only (services/crm_subscribers.py): internal (INTERNAL_EVENTS), not in the webhooks'
# catalogue.
CUSTOMER_ENROLLED = "customer.enrolled"

EVENT_TYPES: tuple[str, ...] = (
    ACCRUAL_CREATED,
    REDEMPTION_CREATED,
    REDEMPTION_CAPTURED,
    REDEMPTION_VOIDED,
    REFUND_CREATED,
    BONUS_CREATED,
    ADJUSTMENT_CREATED,
    POINTS_EXPIRED,
    TIER_CHANGED,
    CAMPAIGN_UPDATED,
    SETTLEMENT_CLOSED,
)
# The events after which a customer's balance, tier or expiring points may read differently (what a CRM mirrors).
BALANCE_CHANGES = frozenset(EVENT_TYPES) - {CAMPAIGN_UPDATED, SETTLEMENT_CLOSED}
# What a CRM's contact mirrors: the customer from enrolment on, then every change of the balance.
CRM_CHANGES = BALANCE_CHANGES | {CUSTOMER_ENROLLED}
# A message to a person (a one-time code, a link to the customer's page) that a write asked for: put in the outbox
# with the write, delivered by the coalition itself (chalicelib/services/message_outbox.py). Internal: no partner's
# endpoint or CRM ever hears of it, whatever it subscribed to, and it is not in the catalogue partners choose from.
MESSAGE_REQUESTED = "message.requested"
# customer.enrolled is heard by the CRM connectors only (CRM_CHANGES), never by an endpoint.
INTERNAL_EVENTS = frozenset({MESSAGE_REQUESTED, CUSTOMER_ENROLLED})
# The audience of an internal event: no partner.
NO_PARTNER = "-"
ALL_EVENTS = "*"
# The audience of an event told to every partner, each its own part (a settlement close): the dispatcher expands it
# into one event per partner before any partner hears of it.
BROADCAST = "*"
# Data that only the coalition's own subscribers read, never in a delivery's body (:meth:`Event.payload`): keys that
# start with ``_``, so no field of the partners' contract is ever one. A redemption made without the customer's code
# carries ``_code_free`` (and a hold, ``_held_until``): the customer is told of it (services/spend_notices.py).
INTERNAL_PREFIX = "_"
CODE_FREE = "_code_free"
HELD_UNTIL = "_held_until"


@dataclass(frozen=True)
class Event:
    """One fact to tell: ``partner_id`` is the only partner whose subscribers hear of it."""

    event_id: str
    type: str
    partner_id: str
    created_at: str
    data: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(event_id: str, event_type: str, partner_id: str, created_at: str, data: dict[str, Any]) -> Event:
        """``Event(event_id, event_type, partner_id, created_at, data)`` without the frozen ``__init__`` (which sets
        each field through ``object.__setattr__``; every write tells an event or two): the same fields stored.
        tests/test_hot_path_copies.py holds the two equal."""
        event: Event = object.__new__(Event)
        event.__dict__.update(
            event_id=event_id, type=event_type, partner_id=partner_id, created_at=created_at, data=data
        )
        return event

    def payload(self) -> dict[str, Any]:
        """The delivery's body as the contract names it: the internal data left out."""
        data = {k: v for k, v in self.data.items() if not k.startswith(INTERNAL_PREFIX)}
        return {"id": self.event_id, "type": self.type, "created_at": self.created_at, "data": data}


def subscribed(wanted: tuple[str, ...] | list[str], event_type: str) -> bool:
    """Whether an endpoint that asked for ``wanted`` hears of ``event_type``; never of an internal event."""
    if event_type in INTERNAL_EVENTS:
        return False
    return ALL_EVENTS in wanted or event_type in wanted


def split_by_issuer(event: Event) -> list[Event]:
    """A broadcast whose data names points per partner (``by_issuer``) as one event per partner, each with only its
    own points; ids derived from the broadcast's, so splitting twice names the same events."""
    shares = event.data.get("by_issuer") or {}
    rest = {k: v for k, v in event.data.items() if k != "by_issuer"}
    return [
        Event(f"{event.event_id}.{issuer}", event.type, issuer, event.created_at, {**rest, "points": int(points)})
        for issuer, points in sorted(shares.items())
    ]


def expired_by_issuer(lots: dict[str, int]) -> dict[str, int]:
    """Points expired per issuing partner, from an expiry's lot changes (``"<YYYY-MM>|<issuer>"`` -> -points)."""
    out: dict[str, int] = {}
    for key, delta in lots.items():
        if delta < 0:
            issuer = key.split("|", 1)[1] if "|" in key else ""
            out[issuer] = out.get(issuer, 0) - delta
    return out
