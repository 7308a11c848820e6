"""A partner of the coalition: its settings, the rates in force at an instant, and the campaigns earning there.

The rates (``earn_rate_bps``, ``max_redeem_share_bps``) move money: a change takes effect from a date and is kept in
``rate_schedule``, whose base is the partner's first rates; :meth:`Partner.in_force` gives the rates at an instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.domain.code_free import within_ceiling
from chalicelib.domain.schedule import Schedule

if TYPE_CHECKING:  # the campaigns' rules load when an accrual asks for them, not with every partner (a cold start)
    from chalicelib.domain.campaign_lifecycle import RulesSnapshot
    from chalicelib.domain.campaigns import Rules

RATE_SETTINGS = ("earn_rate_bps", "max_redeem_share_bps")
# How long a hold made without the customer's code may last (minutes), unless the operator sets another length: a
# till that holds points without the customer must give them back soon, or the wallet is frozen behind her back.
CODE_FREE_HOLD_MINUTES = 30


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str
    category: str | None
    earn_rate_bps: int
    max_redeem_share_bps: int
    pending_days: int
    status: str  # active | suspended
    created_at: str
    updated_at: str
    rate_schedule: Schedule = field(default_factory=Schedule)  # base: the first rates; dated changes after
    # campaign id -> rules of the active campaigns earning here (an accrual reads this partner anyway)
    active_campaigns: Mapping[str, RulesSnapshot] = field(default_factory=dict)
    # campaign id -> created_at of the campaigns this partner sponsors that are not ended (the open-campaign limit)
    open_campaigns: Mapping[str, str] = field(default_factory=dict)
    # When a spend or hold here needs the customer's code: always | above (more than N points per customer within
    # 24 hours, holds included) | never. Anything else, a missing value included, means always.
    spend_confirmation: str = "always"
    spend_confirmation_above_points: int | None = None
    code_free_hold_minutes: int = CODE_FREE_HOLD_MINUTES  # the longest hold made without the customer's code

    @property
    def active(self) -> bool:
        return self.status == "active"

    def in_force(self, at: datetime) -> Partner:
        """The partner with the rates in force at ``at``."""
        if not self.rate_schedule.changes:
            return self
        rates = self.rate_schedule.at(at)
        partner = replace(
            self,
            earn_rate_bps=rates.get("earn_rate_bps", self.earn_rate_bps),
            max_redeem_share_bps=rates.get("max_redeem_share_bps", self.max_redeem_share_bps),
        )
        if "_rules" in self.__dict__:  # the same snapshots: their rules come along
            partner.__dict__["_rules"] = self.__dict__["_rules"]
        return partner

    def needs_customer_code(self, points: int, *, used: int = 0, hold_minutes: int | None = None) -> bool:
        """Does a spend (or hold) of ``points`` here need the customer's one-time code? ``used``: the points this
        partner already took from the customer without her code within the last 24 hours (holds included);
        ``hold_minutes``: how long a hold would last (None: captured at once). Anything but the two explicit
        relaxations means yes; a code-free hold never outlasts ``code_free_hold_minutes``."""
        if hold_minutes is not None and hold_minutes > self.code_free_hold_minutes:
            return True
        if self.spend_confirmation == "never":
            return False
        if self.spend_confirmation == "above":
            return not within_ceiling(used, points, self.spend_confirmation_above_points or 0)
        return True

    @property
    def code_free_ceiling(self) -> int | None:
        """The points a day this partner may take from one customer without her code: 0 (always), N (above N) or
        None (never: the operator's explicit trust, no ceiling; each such spend is announced to the customer)."""
        if self.spend_confirmation == "never":
            return None
        if self.spend_confirmation == "above":
            return self.spend_confirmation_above_points or 0
        return 0

    def campaign_rules(self) -> list[Rules]:
        """The campaigns a purchase here may award, from the snapshots (what its partners accepted and its sponsors
        activated), in campaign-id order."""
        return list(self._rules)

    @cached_property
    def _rules(self) -> tuple[Rules, ...]:
        # Once per partner as cached (its snapshots never change in place; a new reading is a new partner), not
        # once per purchase; frozen rules, handed out in a fresh list.
        from chalicelib.domain.campaign_lifecycle import snapshot_rules

        return tuple(snapshot_rules(self.active_campaigns))
