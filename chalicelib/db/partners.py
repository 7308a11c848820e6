"""Partners in the table: all share the partition ``PARTNER``, so the directory is one query (a coalition has
dozens). Loads :class:`~chalicelib.domain.partners.Partner`; writes a new partner, its settings and rate schedule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.maps import as_dict
from chalicelib.db.models import PartnerItem
from chalicelib.db.reads import Found, ReadKey, connection, get_many, get_one
from chalicelib.db.tx import Transaction
from chalicelib.domain.partners import RATE_SETTINGS, Partner
from chalicelib.domain.schedule import Schedule

if TYPE_CHECKING:
    from chalicelib.domain.campaign_lifecycle import RulesSnapshot

__all__ = [
    "add_exists_check",
    "add_new",
    "any_exist",
    "from_found",
    "load",
    "load_all",
    "load_many",
    "read_key",
    "update",
]


def read_key(partner_id: str) -> ReadKey:
    return (PartnerItem, *keys.partner(partner_id))


def partner_of(item: PartnerItem) -> Partner:
    base = {name: int(getattr(item, name)) for name in RATE_SETTINGS}
    schedule = as_dict(item.rate_schedule)
    return Partner(
        partner_id=item.partner_id,
        name=item.name,
        category=item.category,
        earn_rate_bps=base["earn_rate_bps"],
        max_redeem_share_bps=base["max_redeem_share_bps"],
        pending_days=int(item.pending_days),
        status=str(item.status),
        created_at=item.created_at,
        updated_at=item.updated_at,
        rate_schedule=Schedule.from_list(base, schedule.get("changes")),
        active_campaigns={str(k): cast("RulesSnapshot", as_dict(v)) for k, v in as_dict(item.active_campaigns).items()},
        open_campaigns={str(k): str(v) for k, v in as_dict(item.open_campaigns).items()},
        spend_confirmation=str(item.spend_confirmation or "always"),
        spend_confirmation_above_points=(
            None if item.spend_confirmation_above_points is None else int(item.spend_confirmation_above_points)
        ),
        code_free_hold_minutes=int(item.code_free_hold_minutes),
    )


def from_found(found: Found, partner_id: str) -> Partner | None:
    """The partner from a batch read that asked for :func:`read_key`; None if there is none."""
    item = found.get(keys.partner(partner_id))
    return None if item is None else partner_of(item)


def load(partner_id: str) -> Partner | None:
    item = get_one(PartnerItem, *keys.partner(partner_id))
    return None if item is None else partner_of(item)


def load_many(partner_ids: Sequence[str]) -> dict[str, Partner]:
    """The partners that exist among ``partner_ids`` (strongly consistent batch reads), by id."""
    found = get_many([read_key(p) for p in partner_ids])
    return {item.partner_id: partner_of(item) for item in found.values()}


def load_all() -> list[Partner]:
    """Every partner, in id order (one query)."""
    pk, _ = keys.partner("")
    return [partner_of(item) for item in PartnerItem.query(pk, consistent_read=True)]


def any_exist() -> bool:
    pk, _ = keys.partner("")
    return any(True for _ in PartnerItem.query(pk, limit=1, consistent_read=True))


def add_new(tx: Transaction, partner: Partner) -> None:
    """Create the partner (its id must be new); campaigns and rate changes start empty."""
    item = PartnerItem(
        *keys.partner(partner.partner_id),
        partner_id=partner.partner_id,
        name=partner.name,
        category=partner.category,
        earn_rate_bps=partner.earn_rate_bps,
        max_redeem_share_bps=partner.max_redeem_share_bps,
        pending_days=partner.pending_days,
        status=partner.status,
        created_at=partner.created_at,
        updated_at=partner.updated_at,
        spend_confirmation=partner.spend_confirmation,
        spend_confirmation_above_points=partner.spend_confirmation_above_points,
        code_free_hold_minutes=partner.code_free_hold_minutes,
    )
    tx.put(item, condition=PartnerItem.pk.does_not_exist())


def add_exists_check(tx: Transaction, partner_id: str) -> None:
    """The transaction commits only while the partner exists."""
    tx.check(PartnerItem, *keys.partner(partner_id), condition=PartnerItem.pk.exists())


def update(
    partner_id: str,
    settings: Mapping[str, object],
    cleared: Sequence[str],
    now_iso: str,
    schedule: Schedule | None = None,
    read_at: str | None = None,
    also: Callable[[Transaction], None] | None = None,
) -> None:
    """Set ``settings`` (name -> value) and remove ``cleared`` attributes at once, in one write; with ``schedule``,
    store it as the rate schedule, only if nobody changed the partner since it was read (``updated_at`` was
    ``read_at``). Raises ``TxCancelled`` when the partner is gone or changed meanwhile. ``also`` adds to the same
    transaction (the change's audit record)."""
    actions: list[Action] = [getattr(PartnerItem, name).set(value) for name, value in settings.items()]
    actions += [getattr(PartnerItem, name).remove() for name in cleared]
    actions.append(PartnerItem.updated_at.set(now_iso))
    condition: Condition = PartnerItem.pk.exists()
    if schedule is not None:
        actions.append(PartnerItem.rate_schedule.set({"changes": schedule.to_list()}))
        condition &= PartnerItem.updated_at == read_at
    tx = Transaction()
    tx.update(PartnerItem(*keys.partner(partner_id)), actions, condition=condition)
    if also is not None:
        also(tx)
    tx.commit(connection())
