"""Customers in the table: the profile on the customer item (``CUST#<id>`` / ``PROFILE``, which also holds the
wallet) and the aliases (``PHONE#...`` / ``CARD#...``) that make each phone and card belong to one customer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.maps import as_dict, ints
from chalicelib.db.models import AliasItem, CustomerItem
from chalicelib.db.store import Found, ItemKey, ReadKey, get_one
from chalicelib.db.tx import Transaction
from chalicelib.domain.wallet import Hold, Wallet

__all__ = [
    "Customer",
    "NewCustomer",
    "add_aliases",
    "add_identifiers",
    "add_new",
    "alias_owner",
    "alias_read_key",
    "load",
    "owner_of",
]


@dataclass(frozen=True)
class NewCustomer:
    customer_id: str
    phone: str | None
    card: str | None
    name: str | None
    birthday: str | None  # YYYY-MM-DD
    locale: str
    marketing_consent: bool
    created_at: str
    enrolled_by: str  # the partner whose till enrolled them


@dataclass(frozen=True)
class Customer:
    """The customer item: the profile and the wallet, in one read."""

    customer_id: str
    phone: str | None
    card: str | None
    name: str | None
    locale: str
    wallet: Wallet
    signed_out_at: str | None = None  # portal links made at or before this instant no longer work


def _wallet(item: CustomerItem) -> Wallet:
    # The same reading as i16-db1's chalicelib/db/wallets.wallet_of: use that one once both are merged.
    holds = {
        hid: Hold(
            points=int(h["points"]),
            expires_at=str(h["expires_at"]),
            lots=ints(h.get("lots")),
            partner_id=str(h["partner_id"]),
            order_id=str(h["order_id"]),
        )
        for hid, h in as_dict(item.holds).items()
    }
    return Wallet(
        available=int(item.available),
        pending=int(item.pending),
        held=int(item.held),
        lots=ints(item.lots),
        spend=ints(item.spend),
        holds=holds,
        pending_lots=ints(item.pending_lots),
        bonus_days=ints(item.bonus_days),
        last_purchase={str(k): str(v) for k, v in as_dict(item.last_purchase).items()},
        campaign_awards=ints(item.campaign_awards),
    )


def load(customer_id: str) -> Customer | None:
    """The customer as stored now (one strongly consistent GetItem); None if there is none."""
    item = get_one(CustomerItem, *keys.customer(customer_id))
    if item is None:
        return None
    return Customer(
        item.customer_id, item.phone, item.card, item.name, str(item.locale), _wallet(item), item.signed_out_at
    )


def alias_read_key(alias: ItemKey) -> ReadKey:
    return (AliasItem, *alias)


def alias_owner(found: Found, alias: ItemKey | None) -> str | None:
    """Whose phone or card ``alias`` is, from a batch read that asked for :func:`alias_read_key`."""
    if alias is None:
        return None
    item = found.get(alias)
    return item.customer_id if item is not None else None


def owner_of(alias: ItemKey) -> str | None:
    """Whose phone or card ``alias`` is (one GetItem); None if nobody's."""
    item = get_one(AliasItem, *alias)
    return item.customer_id if item is not None else None


def add_new(tx: Transaction, customer: NewCustomer) -> None:
    """Create the customer item (its id must be new) with an empty wallet."""
    tx.put(
        CustomerItem(
            *keys.customer(customer.customer_id),
            customer_id=customer.customer_id,
            phone=customer.phone,
            card=customer.card,
            name=customer.name,
            birthday=customer.birthday,
            locale=customer.locale,
            marketing_consent=customer.marketing_consent,
            created_at=customer.created_at,
            enrolled_by=customer.enrolled_by,
            available=0,
            pending=0,
            held=0,
            lots={},
            spend={},
            holds={},
            pending_lots={},
            bonus_days={},
            last_purchase={},
            campaign_awards={},
        ),
        condition=CustomerItem.pk.does_not_exist(),
    )


def add_aliases(tx: Transaction, customer_id: str, now_iso: str, aliases: Iterable[ItemKey | None]) -> None:
    """Claim phone/card aliases for the customer; the condition makes each identifier belong to one customer."""
    for key in aliases:
        if key is not None:
            tx.put(
                AliasItem(*key, customer_id=customer_id, created_at=now_iso),
                condition=AliasItem.pk.does_not_exist(),
                tag="alias",
            )


def add_identifiers(tx: Transaction, customer_id: str, phone: str | None, card: str | None) -> None:
    """Give a known customer the phone and/or card they have none of yet (guarded: still none)."""
    actions: list[Action] = []
    condition = CustomerItem.pk.exists()
    if phone is not None:
        actions.append(CustomerItem.phone.set(phone))
        condition &= CustomerItem.phone.does_not_exist()
    if card is not None:
        actions.append(CustomerItem.card.set(card))
        condition &= CustomerItem.card.does_not_exist()
    tx.update(CustomerItem(*keys.customer(customer_id)), actions, condition=condition)
