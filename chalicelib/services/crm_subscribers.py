"""The partners' CRMs (Bitrix24, amoCRM) as subscribers of the dispatcher: each event that changes what a contact
shows waits once in the queue of every CRM its partner has connected (chalicelib/db/crm.py), for the next flush.

Which CRMs each partner has connected is read once per dispatcher batch, for every partner of the batch in one
batch read: not once per event and CRM (a hundred events of one partner cost one read, not two hundred)."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.db import amo as amo_db
from chalicelib.db import crm as crm_db
from chalicelib.domain.events import CRM_CHANGES, Event

__all__ = ["CRMS", "Batch"]

CRMS = (crm_db.BITRIX24, amo_db.AMOCRM)


def _customer(event: Event) -> str | None:
    customer_id = event.data.get("customer_id")
    return customer_id if event.type in CRM_CHANGES and isinstance(customer_id, str) else None


class Batch:
    """The CRM subscribers of one dispatcher batch."""

    def __init__(self, events: Sequence[Event]) -> None:
        partners = {e.partner_id for e in events if _customer(e) is not None}
        self._connected = crm_db.connected(partners, CRMS) if partners else {}

    def accept(self, event: Event) -> list[str]:
        """The CRMs the change now waits for (none when it waited already: the event dispatched again)."""
        customer_id = _customer(event)
        if customer_id is None:
            return []
        points = event.data.get("points")
        change = crm_db.Pending(
            customer_id, event.event_id, event.type, int(points) if isinstance(points, int) else 0, event.created_at
        )
        return [
            crm
            for crm in sorted(self._connected.get(event.partner_id, ()))
            if crm_db.enqueue(event.partner_id, change, crm)
        ]
