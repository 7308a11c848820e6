"""The customer's wallet as stored on the customer item, and the one way to change it.

Balances are never read-modified-written: a change is DynamoDB arithmetic (``available = available - :p``)
guarded by conditions (``available >= :p``, ``lots.k >= :n``). If a concurrent write makes a guard fail, the
transaction is cancelled and the caller decides again on fresh data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import db, ids
from chalicelib.db import keys
from chalicelib.domain import period_of, spend_12m, split_lot_key, tier_status
from chalicelib.domain.periods import last_day
from chalicelib.program import Program
from chalicelib.schemas import Balance, BalanceSummary, ExpiringPoints, TierOut

C = db.CustomerItem


def _ints(raw: Any) -> dict[str, int]:
    if raw is None:
        return {}
    data = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw)
    return {str(k): int(v) for k, v in data.items()}


@dataclass
class Wallet:
    available: int
    pending: int
    held: int
    lots: dict[str, int]
    spend: dict[str, int]

    @classmethod
    def of(cls, item: db.CustomerItem) -> Wallet:
        return cls(int(item.available), int(item.pending), int(item.held), _ints(item.lots), _ints(item.spend))

    def summary(self) -> BalanceSummary:
        return BalanceSummary(available=self.available, pending=self.pending, held=self.held)


@dataclass
class WalletChange:
    available: int = 0
    pending: int = 0
    held: int = 0
    lots: dict[str, int] = field(default_factory=dict)
    spend: dict[str, int] = field(default_factory=dict)

    def add_lot(self, key: str, points: int) -> None:
        self.lots[key] = self.lots.get(key, 0) + points

    def applied_to(self, wallet: Wallet) -> Wallet:
        lots = dict(wallet.lots)
        for key, delta in self.lots.items():
            lots[key] = lots.get(key, 0) + delta
        spend = dict(wallet.spend)
        for period, delta in self.spend.items():
            spend[period] = spend.get(period, 0) + delta
        return Wallet(
            wallet.available + self.available, wallet.pending + self.pending, wallet.held + self.held, lots, spend
        )

    def update(self) -> tuple[list[Action], Condition]:
        """Update actions and the guard condition for the customer item."""
        actions: list[Action] = []
        condition: Condition = C.pk.exists()
        for attr, delta in ((C.available, self.available), (C.pending, self.pending), (C.held, self.held)):
            if delta:
                actions.append(attr.set(attr + delta) if delta > 0 else attr.set(attr - (-delta)))
                if delta < 0:
                    condition &= attr >= -delta
        for key, delta in sorted(self.lots.items()):
            if delta > 0:
                actions.append(C.lots[key].set((C.lots[key] | 0) + delta))
            elif delta < 0:
                actions.append(C.lots[key].set(C.lots[key] - (-delta)))
                condition &= C.lots[key] >= -delta
        for period, delta in sorted(self.spend.items()):
            if delta:
                actions.append(C.spend[period].set((C.spend[period] | 0) + delta))
        return actions, condition


def apply(tx: db.Transaction, customer_id: str, change: WalletChange) -> None:
    actions, condition = change.update()
    if actions:
        tx.update(db.CustomerItem(*keys.customer(customer_id)), actions, condition=condition, tag="wallet")


def new_entry(
    customer_id: str,
    partner_id: str,
    entry_type: str,
    now: datetime,
    program: Program,
    change: WalletChange,
    *,
    amount_minor: int | None = None,
    order_id: str | None = None,
    ref_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> db.EntryItem:
    """An immutable ledger entry recording exactly the wallet change it travels with."""
    entry_id = ids.sortable_id("ent", now)
    pk, sk = keys.entry(customer_id, entry_id)
    period = period_of(now, program.timezone)
    return db.EntryItem(
        pk,
        sk,
        gsi1pk=keys.customer_at_partner(partner_id, customer_id),
        gsi1sk=sk,
        gsi2pk=keys.partner_period(partner_id, period, entry_id),
        gsi2sk=sk,
        entry_id=entry_id,
        customer_id=customer_id,
        partner_id=partner_id,
        type=entry_type,
        period=period,
        created_at=now.isoformat(),
        available_delta=change.available,
        pending_delta=change.pending,
        held_delta=change.held,
        amount_minor=amount_minor,
        order_id=order_id,
        ref_id=ref_id,
        lots={k: v for k, v in change.lots.items() if v},
        details=dict(details or {}),
    )


def balance(customer_id: str, wallet: Wallet, program: Program, now: datetime) -> Balance:
    expiring: dict[str, int] = {}
    for key, points in wallet.lots.items():
        if points > 0:
            expiry = split_lot_key(key)[0]
            expiring[expiry] = expiring.get(expiry, 0) + points
    status = tier_status(spend_12m(wallet.spend, period_of(now, program.timezone)), program.tiers)
    return Balance(
        customer_id=customer_id,
        available=wallet.available,
        pending=wallet.pending,
        held=wallet.held,
        expiring=[ExpiringPoints(points=p, expires_on=last_day(e)) for e, p in sorted(expiring.items())],
        tier=TierOut(**status.__dict__),
        currency=program.currency,
        point_value_minor=program.point_value_minor,
    )
