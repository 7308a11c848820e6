"""The write session: one customer's wallet inside one write, settled to ``now``, and the reads a write makes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Unpack

from chalicelib.db import customers as customers_db
from chalicelib.db import wallets as wallets_db
from chalicelib.db.reads import Found, ReadKey
from chalicelib.domain import Tier, expiry_period, lot_key, period_of, spend_12m
from chalicelib.domain.tiers import tier_for
from chalicelib.domain.wallet import Change, Wallet, expiry
from chalicelib.errors import NotFound
from chalicelib.machinery import events, program, wallets
from chalicelib.machinery.campaign_reads import till_reads
from chalicelib.machinery.idempotency import Plan
from chalicelib.machinery.partner_cache import campaigns_known, campaigns_loaded, load_partner
from chalicelib.machinery.program import Program
from chalicelib.machinery.wallets import EntryFields

__all__ = ["Found", "Session", "campaign_reads", "earn_lot", "load_partner", "open_session", "reads_for"]


def reads_for(customer_id: str, partner_id: str | None = None) -> list[ReadKey]:
    """What a write reads in its one batch: the customer, plus the campaign items of the partner's active
    campaigns and their sponsors (budgets and states must be fresh). Partner and program settings come from the
    per-process cache; a partner this instance does not know yet comes with the batch itself (carried by
    ``auth.authenticate``), and its campaigns then with :func:`campaign_reads`."""
    reads: list[ReadKey] = [wallets_db.read_key(customer_id)]
    partner = campaigns_known(partner_id) if partner_id is not None else None  # its campaigns only, not its rates
    if partner is not None:
        reads += till_reads(partner)
    return reads


def campaign_reads(partner_id: str) -> Callable[[], list[ReadKey]]:
    """For ``idempotency.execute(..., later=)``: the campaign reads of a partner known only once the write's batch
    has come (a cold instance); a second read, only for a partner with active campaigns. A partner known already
    had its campaigns read with the batch (:func:`reads_for`): nothing later, for drawing the budget shards again
    would name other shards, and read them in a second round trip."""
    if campaigns_known(partner_id) is not None:
        return lambda: []
    return lambda: till_reads(campaigns_loaded(partner_id))


class Session:
    """One customer's wallet inside one write: settled to ``now``, with the transaction it will commit in (a plain
    class with slots: one per write, where a dataclass's ``__init__`` costs more)."""

    __slots__ = (
        "_tier_found",
        "current",
        "customer_id",
        "marked",
        "now",
        "period",
        "plan",
        "program",
        "quiet",
        "settlement",
    )

    def __init__(
        self,
        customer_id: str,
        current: Wallet,
        settlement: Change,
        program: Program,
        plan: Plan,
        now: datetime,
        marked: set[str],
        period: str,
        quiet: bool = False,
    ) -> None:
        self.customer_id = customer_id
        self.current = current
        self.settlement = settlement
        self.program = program
        self.plan = plan
        self.now = now
        self.marked = marked  # expiry months whose index marker exists already (not written again)
        self.period = period  # the month of ``now`` in the program's time zone
        self.quiet = quiet  # time did nothing to the wallet: ``settlement`` is empty
        self._tier_found: Tier | None = None

    @property
    def tier(self) -> Tier:
        """The customer's tier as this write finds the wallet (``current`` never changes within a session)."""
        tier = self._tier_found
        if tier is None:  # worked out once, when first asked (``cached_property`` costs more than the tier)
            tier = self._tier_found = self._tier(self.current)
        return tier

    def commit_with_entry(
        self, change: Change, entry_change: Change, entry_type: str, partner_id: str, **entry: Unpack[EntryFields]
    ) -> Wallet:
        """Apply ``change`` (with the settlement) but record only ``entry_change`` in this entry: the rest of the
        change has entries of its own (an accrual's campaign awards)."""
        after = change.applied_to(self.current)
        total = change if self.quiet else self.settlement.merge(change)  # ``write`` leaves what it gets unchanged
        lapsed = _lapsed(change, after, self.period)
        if lapsed is not None:
            after, total = lapsed.applied_to(after), total.merge(lapsed)
        wallets.write(self.plan.tx, self.customer_id, after, total, self.now, self.program, self.marked)
        if entry_type:  # empty: only what time did is committed (a hold found expired)
            wallets.post(
                self.plan.tx, self.customer_id, partner_id, entry_type, self.now, self.program, entry_change, **entry
            )
            self.plan.events += events.for_entry(
                entry_type, self.customer_id, partner_id, entry_change, after.available, entry, self.now
            )
            before_tier = self.tier.name
            # the tier follows the spend alone: a change that moves no spend leaves it where it was
            after_tier = self._tier(after).name if change.spend or change.drop_spend else before_tier
            if after_tier != before_tier:  # (``tier_changed`` tells nothing of a tier kept)
                self.plan.events += events.tier_changed(self.customer_id, partner_id, before_tier, after_tier, self.now)
        if lapsed is not None:  # its own entry, after the one that returned the points
            wallets.post(
                self.plan.tx, self.customer_id, wallets.SYSTEM_PARTNER, "expiry", self.now, self.program, lapsed
            )
            self.plan.events += events.expired(self.customer_id, dict(lapsed.lots), self.now)
        return after

    def _tier(self, w: Wallet) -> Tier:
        return tier_for(spend_12m(w.spend, self.period), self.program.tiers)

    def commit(self, change: Change, entry_type: str, partner_id: str, **entry: Unpack[EntryFields]) -> Wallet:
        """Apply ``change`` (with the settlement) and post it as one entry; returns the wallet after it."""
        return self.commit_with_entry(change, change, entry_type, partner_id, **entry)


def open_session(found: Found, customer_id: str, now: datetime, plan: Plan, *, allow_deleted: bool = False) -> Session:
    """The customer's wallet for one write. A deleted account takes no spend or earn, only what keeps the
    books right (``allow_deleted``: refunds, operator adjustments)."""
    loaded = wallets_db.load(found, customer_id)
    if loaded is None or (not allow_deleted and customers_db.deleted(found, customer_id)):
        raise NotFound(f"No customer {customer_id}.")
    prog = program.load(now)  # the money settings in force at this write's instant
    stored = wallets.catch_up(customer_id, loaded, now, prog)
    current, settlement = wallets.settle_into(plan.tx, customer_id, stored, now, prog)
    plan.customer_id = customer_id
    quiet = current is stored  # ``settle_into`` gives the wallet itself back when time did nothing
    period = period_of(now, prog.timezone)
    return Session(customer_id, current, settlement, prog, plan, now, wallets.marked_months(stored), period, quiet)


def _lapsed(change: Change, after: Wallet, period: str) -> Change | None:
    """The expiry of the points ``change`` returns to a lot whose month has ended before ``period`` (a hold voided or
    released, or captured points refunded, after their month ended), in the write that returns them: the session
    settled the wallet before the change, so no other write would expire them, and no expiry run finds them either
    (the month's marker left with its last points). None when the change credits no such lot (nearly every write)."""
    return expiry(((lot, after.lots.get(lot, 0)) for lot, delta in change.lots.items() if delta > 0), period)


def earn_lot(available_at: datetime, prog: Program, issuer: str) -> str:
    """The lot of points ``issuer`` credits that can be spent from ``available_at`` (after a partner's return window,
    when they wait): they expire ``expiry_months`` after that month, whatever the window."""
    return lot_key(expiry_period(available_at, prog.timezone, prog.expiry_months), issuer)
