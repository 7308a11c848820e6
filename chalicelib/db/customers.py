"""Customers in the table: the profile on the customer item (``CUST#<id>`` / ``PROFILE``, which also holds the
wallet) and the aliases (``PHONE#...`` / ``CARD#...`` / ``EMAIL#...``) that make each identifier belong to one
customer. It also keeps the e-mail, the customer's channel, signing out everywhere and deleting the account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.models import AliasItem, CustomerItem
from chalicelib.db.reads import Found, ItemKey, ReadKey, get_one, get_one_raw
from chalicelib.db.tx import Transaction, error_code
from chalicelib.db.wallet_reads import customer_values, wallet_in, wallet_of_raw
from chalicelib.db.wallet_reads import read_key as wallets_read_key
from chalicelib.domain.wallet import Wallet

__all__ = [
    "Customer",
    "NewCustomer",
    "add_aliases",
    "add_identifiers",
    "add_new",
    "alias_key",
    "alias_owner",
    "alias_read_key",
    "deleted",
    "erase",
    "from_found",
    "live_wallet",
    "load",
    "owner_of",
    "read_key",
    "set_identifiers",
    "update_settings",
]

IDENTIFIER_KINDS = ("phone", "card", "email")
PERSONAL = ("phone", "card", "email", "name", "birthday", "telegram_chat_id", "channel")


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
    email: str | None = None


@dataclass(frozen=True)
class Customer:
    """The customer item: the profile and the wallet, in one read."""

    customer_id: str
    phone: str | None
    card: str | None
    name: str | None
    locale: str
    wallet: Wallet
    email: str | None = None
    channel: str | None = None  # sms | email | telegram: the customer's choice
    telegram_chat_id: str | None = None
    telegram_link: str | None = None  # the hash of the newest link token (chalicelib/db/telegram_links.py)
    marketing_consent: bool = False
    birthday: str | None = None
    created_at: str = ""
    enrolled_by: str | None = None
    signed_out_at: str | None = None  # links and sessions made before it are ended
    deleted_at: str | None = None  # the customer deleted the account: personal data erased

    def identifier(self, kind: str) -> str | None:
        value: str | None = getattr(self, kind)
        return value


def _customer(raw: dict[str, Any]) -> Customer:
    # The attribute values as the descriptors would return them (None when absent), decoded straight from the item
    # DynamoDB returned (``wallets.customer_values``): every request that names a customer makes one of these.
    attribute_values = customer_values(raw)
    values = attribute_values.get
    return Customer(
        values("customer_id") or "",
        values("phone"),
        values("card"),
        values("name"),
        str(values("locale")),
        wallet_in(attribute_values),
        email=values("email"),
        channel=values("channel"),
        telegram_chat_id=values("telegram_chat_id"),
        telegram_link=values("telegram_link"),
        marketing_consent=bool(values("marketing_consent")),
        birthday=values("birthday"),
        created_at=values("created_at") or "",
        enrolled_by=values("enrolled_by"),
        signed_out_at=values("signed_out_at"),
        deleted_at=values("deleted_at"),
    )


def load(customer_id: str) -> Customer | None:
    """The customer as stored now (one strongly consistent GetItem); None if there is none."""
    raw = get_one_raw(*keys.customer(customer_id))
    return None if raw is None else _customer(raw)


read_key = wallets_read_key  # the customer item, as DynamoDB returns it (decoded here and by ``db/wallets.py``)


def from_found(found: Found, customer_id: str) -> Customer | None:
    """The customer from a batch read that asked for :func:`read_key`; None if there is none."""
    raw = found.get(keys.customer(customer_id))
    return None if raw is None else _customer(raw)


def deleted(found: Found, customer_id: str) -> bool:
    """Whether the customer read in ``found`` deleted their account."""
    raw = found.get(keys.customer(customer_id))
    return raw is not None and _deleted(raw)


def _deleted(raw: dict[str, Any]) -> bool:
    deleted_at = raw.get("deleted_at") or {}
    return bool(deleted_at.get("S"))  # a string attribute (absent or NULL: not deleted)


def live_wallet(customer_id: str) -> Wallet | None:
    """The wallet of a customer who has not deleted the account (one strongly consistent GetItem), without the
    rest of the profile (the balance's read); None if there is no such customer."""
    raw = get_one_raw(*keys.customer(customer_id))
    return None if raw is None or _deleted(raw) else wallet_of_raw(raw)


def alias_key(kind: str, value: str) -> ItemKey:
    """The alias item of a phone, card or e-mail (normalised)."""
    return {"phone": keys.phone, "card": keys.card, "email": keys.email}[kind](value)


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
            email=customer.email,
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


def set_identifiers(tx: Transaction, customer_id: str, values: dict[str, str]) -> None:
    """Give a known customer these identifiers ({kind: value}); each must still be absent or already that value."""
    actions: list[Action] = []
    condition = CustomerItem.pk.exists() & CustomerItem.deleted_at.does_not_exist()
    for kind, value in sorted(values.items()):
        attribute = getattr(CustomerItem, kind)
        actions.append(attribute.set(value))
        condition &= attribute.does_not_exist() | (attribute == value)
    if actions:
        tx.update(CustomerItem(*keys.customer(customer_id)), actions, condition=condition)


def update_settings(
    customer_id: str, *, consent: bool, locale: str, channel: str | None, tx: Transaction | None = None
) -> None:
    """The customer's own settings (their page): marketing consent, language and, if given, channel. In ``tx`` if
    given (committed with a message about them), else at once."""
    actions: list[Action] = [CustomerItem.marketing_consent.set(consent), CustomerItem.locale.set(locale)]
    if channel is not None:
        actions.append(CustomerItem.channel.set(channel))
    condition = CustomerItem.pk.exists() & CustomerItem.deleted_at.does_not_exist()
    if tx is not None:
        tx.update(CustomerItem(*keys.customer(customer_id)), actions, condition=condition, tag="settings")
        return
    CustomerItem(*keys.customer(customer_id)).update(actions=actions, condition=condition)


def withdraw_consent(customer_id: str) -> None:
    """No more marketing (an unsubscribe link): the one attribute, whatever else changes meanwhile."""
    condition = CustomerItem.pk.exists()
    try:
        CustomerItem(*keys.customer(customer_id)).update(
            actions=[CustomerItem.marketing_consent.set(False)], condition=condition
        )
    except UpdateError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise


def erase(tx: Transaction, customer: Customer, now_iso: str, *, pointless: bool) -> None:
    """Delete the account: personal data removed, its identifiers freed (their aliases deleted), marketing consent
    off, ``deleted_at`` set. The wallet and the ledger entries stay, naming only the pseudonymous customer id.
    Only while no points are held (and, ``pointless``, none left available or pending): what the deletion's
    settlement left, which a till's hold or an accrual since would change."""
    for kind in IDENTIFIER_KINDS:
        value = customer.identifier(kind)
        if value:
            alias = AliasItem(*alias_key(kind, value))
            tx.delete(alias, condition=AliasItem.customer_id == customer.customer_id)
    if customer.telegram_chat_id:  # the chat may be linked to a new account
        from chalicelib.db import telegram_links  # deleting an account only

        telegram_links.release(tx, customer.customer_id, customer.telegram_chat_id)
    actions: list[Action] = [getattr(CustomerItem, name).remove() for name in PERSONAL]
    actions += [CustomerItem.marketing_consent.set(False), CustomerItem.deleted_at.set(now_iso)]
    condition = CustomerItem.pk.exists() & CustomerItem.deleted_at.does_not_exist()
    # what was freed above is all there is: an identifier or a chat attached since the read cancels the erase (the
    # caller reads again), else its alias would stay, owned by a deleted account
    for kind in (*IDENTIFIER_KINDS, "telegram_chat_id"):
        attribute, value = getattr(CustomerItem, kind), getattr(customer, kind)
        condition &= (attribute == value) if value else attribute.does_not_exist()
    condition &= CustomerItem.holds.does_not_exist() | (size(CustomerItem.holds) == 0)
    if pointless:
        for balance in (CustomerItem.available, CustomerItem.pending):
            condition &= balance.does_not_exist() | (balance == 0)
    tx.update(CustomerItem(*keys.customer(customer.customer_id)), actions, condition=condition)
