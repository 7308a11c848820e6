"""The customer's wallet as the customer item holds it: read from the item DynamoDB returned, into a domain
``Wallet`` (every request that names a customer reads one; the balance route does nothing else).

A well-formed item (numbers as DynamoDB writes whole ones, maps of them, no hold) decodes straight from its typed
attribute values; any other goes through ``codec.plain_values`` (or pynamodb), which decode every value as pynamodb
does. tests/test_item_codec.py holds both against pynamodb's ``CustomerItem``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import MapAttribute

from chalicelib.db import keys
from chalicelib.db.codec import loaded, plain_values, whole_number
from chalicelib.db.maps import as_dict, ints
from chalicelib.db.models import CustomerItem
from chalicelib.db.reads import Found, ReadKey, get_one_raw
from chalicelib.db.wallet_keys import Layout, decode, decode_purchases, lot_parts
from chalicelib.domain.wallet import HOLD_SEP, Hold, Wallet

__all__ = ["customer_values", "load", "read", "read_key", "wallet_in", "wallet_of", "wallet_of_raw"]


def read_key(customer_id: str) -> ReadKey:
    # Read as DynamoDB returns it: every request that names a customer decodes it straight into its ``Wallet``
    # (``wallet_of_raw``), without a pynamodb item; ``db/customers.py`` reads the same key the same way.
    return (None, *keys.customer(customer_id))


def load(found: Found, customer_id: str) -> Wallet | None:
    """The customer's wallet from a batch read that asked for :func:`read_key`; None if there is no customer."""
    raw = found.get(keys.customer(customer_id))
    return None if raw is None else wallet_of_raw(raw)


def read(customer_id: str) -> Wallet | None:
    """The customer's wallet as stored now (one strongly consistent GetItem)."""
    raw = get_one_raw(*keys.customer(customer_id))
    return None if raw is None else wallet_of_raw(raw)


def customer_values(raw: dict[str, Any]) -> dict[str, Any]:
    """A customer item as DynamoDB returned it, as the attribute values its ``CustomerItem`` would hold (each map
    as a plain dict): ``codec.plain_values``, or through pynamodb for what that does not decode itself."""
    values = plain_values(CustomerItem, raw)
    return loaded(CustomerItem, raw).attribute_values if values is None else values


# What ``wallet_in`` reads of the customer item
_WALLET = frozenset(
    {
        "available",
        "pending",
        "held",
        "partners",
        "lots",
        "spend",
        "holds",
        "pending_lots",
        "bonus_days",
        "last_purchase",
        "campaign_awards",
    }
)


def wallet_of_raw(raw: dict[str, Any]) -> Wallet:
    """:func:`wallet_of` of the customer item as DynamoDB returned it, without building the pynamodb item (and
    decoding only the wallet's attributes)."""
    wallet = _well_formed(raw)
    if wallet is not None:
        return wallet
    values = plain_values(CustomerItem, raw, _WALLET)
    return wallet_in(loaded(CustomerItem, raw).attribute_values if values is None else values)


_ARGS = frozenset(MapAttribute.attribute_args)  # keys a map attribute sets after the others: their order differs
_NO_HOLDS: dict[str, Any] = {"M": {}}
_BALANCES = ("available", "pending", "held")


def _well_formed(raw: dict[str, Any]) -> Wallet | None:
    """:func:`wallet_in` of what ``plain_values`` decodes, straight from the typed values of an item as DynamoDB
    writes them: whole numbers, maps of whole numbers, strings, no hold. None for any other item (absent
    attributes take their defaults; a NULL, another type, an odd number or a hold: the caller decodes it).

    A typed value is read only when it is of its one type alone (``{"N": "5"}``: not NULL, not another type); the
    checks are written inline, one call per map (every request decodes one; a call per value cost more)."""
    get = raw.get
    balances = []
    for name in _BALANCES:
        stored = get(name)
        if stored is None:
            balances.append(0)  # their default
            continue
        text = stored.get("N") if len(stored) == 1 else None
        number = None if text is None else _whole(text)
        if number is None:
            return None
        balances.append(number)
    holds = get("holds")
    if holds is not None and holds != _NO_HOLDS:
        return None
    partners, purchases = _partners(get("partners")), _texts(get("last_purchase"))
    lots, spend, pending_lots = _counts(get("lots")), _counts(get("spend")), _counts(get("pending_lots"))
    bonus_days, awards = _counts(get("bonus_days")), _counts(get("campaign_awards"))
    if partners is None or purchases is None or lots is None or spend is None or pending_lots is None:
        return None
    if bonus_days is None or awards is None:
        return None
    available, pending, held = balances
    return _wallet(available, pending, held, partners, {}, lots, spend, pending_lots, bonus_days, purchases, awards)


def _whole(text: str) -> int | None:
    """``whole_number(text)``, the usual spelling (ASCII digits, no leading zero) read without its call."""
    if text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
        return int(text)
    return whole_number(text)


def _partners(listed: dict[str, Any] | None) -> tuple[str, ...] | None:
    """The ``partners`` list: strings alone (absent: empty); None for anything else."""
    if listed is None:
        return ()
    names = listed.get("L") if len(listed) == 1 else None
    if names is None:
        return None
    spelled: list[str] = []
    for name in names:
        text = name.get("S") if type(name) is dict and len(name) == 1 else None
        if type(text) is not str:
            return None
        spelled.append(text)
    return tuple(spelled)


def _counts(stored: dict[str, Any] | None) -> dict[str, int] | None:
    """A map of whole numbers (absent: empty) as its plain dict, in its order; None for anything else (another
    value, or a key that names an argument of the general path)."""
    if stored is None:
        return {}
    typed_values = stored.get("M") if len(stored) == 1 else None
    if typed_values is None:
        return None
    numbers: dict[str, int] = {}
    for key, value in typed_values.items():
        text = value.get("N") if len(value) == 1 else None
        number = None if text is None else _whole(text)
        if number is None:
            return None
        numbers[key] = number
    return numbers if not numbers or _ARGS.isdisjoint(numbers) else None


def _texts(stored: dict[str, Any] | None) -> dict[str, str] | None:
    """A map of strings (absent: empty) as its plain dict, in its order; None for anything else."""
    if stored is None:
        return {}
    typed_values = stored.get("M") if len(stored) == 1 else None
    if typed_values is None:
        return None
    texts: dict[str, str] = {}
    for key, value in typed_values.items():
        text = value.get("S") if len(value) == 1 else None
        if type(text) is not str:
            return None
        texts[key] = text
    return texts if not texts or _ARGS.isdisjoint(texts) else None


def wallet_of(item: CustomerItem) -> Wallet:
    return wallet_in(item.attribute_values)


def wallet_in(attribute_values: Mapping[str, Any]) -> Wallet:
    """The wallet in a customer item's attribute values, as the descriptors return them, read without them (every
    request that names a customer reads its wallet); a map is a raw ``MapAttribute`` whose values are plain
    (codec.loaded) or already its plain dict (``customer_values``)."""
    values = attribute_values.get
    partners = tuple(str(p) for p in values("partners") or ())
    holds = {}
    for hid, h in _plain(values("holds")).items():
        # A hold's key is "<partner>|<order id>": items written before also stored both in the hold.
        partner_id, _, order_id = hid.partition(HOLD_SEP)
        holds[hid] = Hold(
            points=int(h["points"]),
            expires_at=str(h["expires_at"]),
            lots=decode(ints(h.get("lots")), partners)[0],
            partner_id=str(h.get("partner_id", partner_id)),
            order_id=str(h.get("order_id", order_id)),
        )
    stored_lots = _ints(values("lots"))
    purchases = {str(k): str(v) for k, v in _plain(values("last_purchase")).items()}
    return _wallet(
        int(values("available")),  # type: ignore[arg-type]
        int(values("pending")),  # type: ignore[arg-type]
        int(values("held")),  # type: ignore[arg-type]
        partners,
        holds,
        stored_lots,
        _ints(values("spend")),
        _ints(values("pending_lots")),
        _ints(values("bonus_days")),
        purchases,
        _ints(values("campaign_awards")),
    )


def _wallet(
    available: int,
    pending: int,
    held: int,
    partners: tuple[str, ...],
    holds: dict[str, Hold],
    stored_lots: dict[str, int],
    spend: dict[str, int],
    pending_lots: dict[str, int],
    bonus_days: dict[str, int],
    purchases: dict[str, str],
    campaign_awards: dict[str, int],
) -> Wallet:
    """The wallet of the values read, its lots and last purchases under their domain keys."""
    lots, parts = lot_parts(stored_lots, partners)
    last_purchase, by_id = decode_purchases(purchases, partners)
    layout = Layout.of(partners, parts, by_id)
    return Wallet.of(
        available, pending, held, lots, spend, holds, pending_lots, bonus_days, last_purchase, campaign_awards, layout
    )


def _ints(value: Any) -> dict[str, int]:
    """``ints(_plain(value))`` without ``as_dict``'s copy (the comprehension makes the one copy kept)."""
    plain = _plain(value)
    return {str(k): int(v) for k, v in plain.items()} if plain else {}


def _plain(value: Any) -> Mapping[str, Any]:
    """``as_dict`` of a map attribute's value, without the copy where nothing in it is a map attribute itself (a
    raw map read from the table: nested maps are plain dicts); the caller only reads it."""
    if value is None:
        return {}
    if type(value) is dict:  # already plain (``customer_values``)
        return value
    if type(value) is MapAttribute and not any(isinstance(v, MapAttribute) for v in value.attribute_values.values()):
        return value.attribute_values
    return as_dict(value)
