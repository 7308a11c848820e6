"""A partner of the coalition: its settings, the rates in force at an instant, and the campaigns earning there.

The rates (``earn_rate_bps``, ``max_redeem_share_bps``) move money: a change takes effect from a date and is kept in
``rate_schedule``, whose base is the partner's first rates; :meth:`Partner.in_force` gives the rates at an instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.campaign_lifecycle import RulesSnapshot, snapshot_rules
from chalicelib.domain.campaigns import Rules
from chalicelib.domain.schedule import Schedule

RATE_SETTINGS = ("earn_rate_bps", "max_redeem_share_bps")


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
    # issue 17: when a spend or hold here needs the customer's code: always | above (more than N points) | never
    spend_confirmation: str = "always"
    spend_confirmation_above_points: int | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def in_force(self, at: datetime) -> Partner:
        """The partner with the rates in force at ``at``."""
        if not self.rate_schedule.changes:
            return self
        rates = self.rate_schedule.at(at)
        return replace(
            self,
            earn_rate_bps=rates.get("earn_rate_bps", self.earn_rate_bps),
            max_redeem_share_bps=rates.get("max_redeem_share_bps", self.max_redeem_share_bps),
        )

    def needs_customer_code(self, points: int) -> bool:
        """Does a spend (or hold) of ``points`` here need the customer's one-time code? Anything but the two
        explicit relaxations means yes."""
        if self.spend_confirmation == "never":
            return False
        if self.spend_confirmation == "above":
            return points > (self.spend_confirmation_above_points or 0)
        return True

    def campaign_rules(self) -> list[Rules]:
        """The campaigns a purchase here may award, from the snapshots (what its partners accepted and its sponsors
        activated), in campaign-id order."""
        return snapshot_rules(self.active_campaigns)
