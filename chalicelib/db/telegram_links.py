"""Linking the Telegram bot: the link tokens and the chat's uniqueness claim.

- ``TGLINK#<HMAC of the token>`` / ``TGLINK``: made when the customer presses "Connect Telegram"; the token itself is
  only in the deep link. The customer item keeps the newest token's hash (``telegram_link``): only that one binds,
  so pressing again, linking or disconnecting voids every token shown before. Using it sets ``used_at`` and
  ``used_chat_id`` (guarded by ``attribute_not_exists(used_at)``), so it works once and a re-delivered update from
  the same chat is recognised as already done.
- ``TGCHAT#<chat id>`` / ``ALIAS``: the chat belongs to at most one customer, like a phone's ``PHONE#`` alias.

Binding is one transaction: the token used, the chat claimed, the customer's ``telegram_chat_id`` set (and a chat
linked before released).
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.models import AliasItem, CustomerItem, TelegramLinkItem
from chalicelib.db.reads import connection, get_many
from chalicelib.db.tx import Transaction

LINK_TAG, CHAT_TAG, CUSTOMER_TAG = "telegram_link", "telegram_chat", "customer"


@dataclass(frozen=True)
class StoredLink:
    customer_id: str
    expires_at: str
    used_at: str | None
    used_chat_id: str | None


def put(digest: str, customer_id: str, *, now_iso: str, expires_at: str, ttl: int) -> None:
    """Store a new link token (its hash; a token is random, so its item is new) and make it the customer's newest:
    a token shown earlier (a QR on another screen, a photo of it) can no longer link a chat."""
    tx = Transaction()
    tx.put(
        TelegramLinkItem(
            *keys.telegram_link(digest),
            customer_id=customer_id,
            created_at=now_iso,
            expires_at=expires_at,
            ttl=ttl,
        ),
        condition=TelegramLinkItem.pk.does_not_exist(),
        tag=LINK_TAG,
    )
    tx.update(
        CustomerItem(*keys.customer(customer_id)),
        [CustomerItem.telegram_link.set(digest)],
        condition=CustomerItem.pk.exists() & CustomerItem.deleted_at.does_not_exist(),
        tag=CUSTOMER_TAG,
    )
    tx.commit(connection())


def read(digest: str, chat_id: str) -> tuple[StoredLink | None, str | None]:
    """The token (None if unknown or gone) and who the chat is linked to now: one BatchGetItem."""
    link_key, chat_key = keys.telegram_link(digest), keys.telegram_chat(chat_id)
    found = get_many([(TelegramLinkItem, *link_key), (AliasItem, *chat_key)])
    item, alias = found.get(link_key), found.get(chat_key)
    link = None
    if item is not None:
        link = StoredLink(item.customer_id, item.expires_at, item.used_at, item.used_chat_id)
    return link, (alias.customer_id if alias is not None else None)


def _mine(customer_id: str) -> Condition:
    """An alias condition: absent, or this customer's (data linked before the alias existed has none)."""
    condition: Condition = AliasItem.pk.does_not_exist() | (AliasItem.customer_id == customer_id)
    return condition


def _chat_unchanged(previous: str | None) -> Condition:
    attribute = CustomerItem.telegram_chat_id
    return attribute.does_not_exist() if previous is None else attribute == previous


def bind(digest: str, chat_id: str, customer_id: str, previous_chat: str | None, now_iso: str) -> None:
    """Use the token and link the chat, in one transaction; ``TxCancelled`` names what changed meanwhile."""
    tx = Transaction()
    tx.update(
        TelegramLinkItem(*keys.telegram_link(digest)),
        [TelegramLinkItem.used_at.set(now_iso), TelegramLinkItem.used_chat_id.set(chat_id)],
        condition=TelegramLinkItem.pk.exists()
        & TelegramLinkItem.used_at.does_not_exist()
        & (TelegramLinkItem.customer_id == customer_id),
        tag=LINK_TAG,
    )
    tx.put(
        AliasItem(*keys.telegram_chat(chat_id), customer_id=customer_id, created_at=now_iso),
        condition=_mine(customer_id),
        tag=CHAT_TAG,
    )
    if previous_chat is not None and previous_chat != chat_id:
        tx.delete(AliasItem(*keys.telegram_chat(previous_chat)), condition=_mine(customer_id))
    tx.update(
        CustomerItem(*keys.customer(customer_id)),
        [CustomerItem.telegram_chat_id.set(chat_id), CustomerItem.telegram_link.remove()],
        condition=CustomerItem.pk.exists()
        & CustomerItem.deleted_at.does_not_exist()
        & _chat_unchanged(previous_chat)
        & (CustomerItem.telegram_link == digest),  # the newest token only, and once
        tag=CUSTOMER_TAG,
    )
    tx.commit(connection())


def release(tx: Transaction, customer_id: str, chat_id: str) -> None:
    """Free the chat's claim (account deletion, disconnecting): in the caller's transaction."""
    tx.delete(AliasItem(*keys.telegram_chat(chat_id)), condition=_mine(customer_id), tag=CHAT_TAG)


def unlink(customer_id: str, chat_id: str, channel_was_telegram: bool) -> None:
    """Disconnect: the chat id removed from the customer (and the channel, if it was Telegram: messages then go by
    the program's order, SMS or e-mail), the chat's claim freed. Guarded: the chat is still the one read."""
    tx = Transaction()
    actions: list[Action] = [CustomerItem.telegram_chat_id.remove(), CustomerItem.telegram_link.remove()]
    if channel_was_telegram:
        actions.append(CustomerItem.channel.remove())
    tx.update(
        CustomerItem(*keys.customer(customer_id)),
        actions,
        condition=CustomerItem.telegram_chat_id == chat_id,
        tag=CUSTOMER_TAG,
    )
    release(tx, customer_id, chat_id)
    tx.commit(connection())
