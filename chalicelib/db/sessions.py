"""Server-side state of credentials that live in a browser or a link: partner portal sessions (one item each,
deleted on sign-out) and the epoch of a customer's portal links (raised to revoke every link issued before)."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.db import keys
from chalicelib.db.models import CustomerItem, PortalSessionItem

SESSION_TTL_MARGIN_S = 3600  # DynamoDB deletes an expired session item some time after; reads check expiry anyway


def put_portal_session(digest: str, key_id: str, partner_id: str, created_at: str, expires_at: int) -> None:
    PortalSessionItem(
        *keys.portal_session(digest),
        key_id=key_id,
        partner_id=partner_id,
        created_at=created_at,
        expires_at=expires_at,
        ttl=expires_at + SESSION_TTL_MARGIN_S,
    ).save(condition=PortalSessionItem.pk.does_not_exist())


def delete_portal_session(digest: str) -> None:
    PortalSessionItem(*keys.portal_session(digest)).delete()


def raise_link_epoch(customer_id: str) -> int | None:
    """Revoke every portal link of the customer issued so far; the new epoch, or None if there is no customer."""
    item = CustomerItem(*keys.customer(customer_id))
    try:
        item.update(actions=[CustomerItem.link_epoch.add(1)], condition=CustomerItem.pk.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return int(item.link_epoch or 0)
