"""What a write at a partner's till reads of the campaigns earning there (the campaign use cases,
``chalicelib/services/campaigns.py``, create and move them)."""

from __future__ import annotations

from chalicelib.db import campaign_awards as campaign_awards_db
from chalicelib.db.reads import ReadKey
from chalicelib.domain.campaigns import Rules
from chalicelib.domain.partners import Partner

__all__ = ["active_rules", "till_reads"]


def active_rules(partner: Partner) -> list[Rules]:
    """The campaigns a purchase at this partner may award, from the snapshots on it (what its partners accepted and
    its sponsors activated), in campaign-id order; at most ``MAX_ACTIVE_PER_PARTNER``."""
    return partner.campaign_rules()


def till_reads(partner: Partner) -> list[ReadKey]:
    """What a write at this partner's till reads in its one batch besides the customer: the items of the campaigns
    earning here (their state must be fresh), one budget shard of each (drawn at random: an award that fits goes
    there) and their sponsors' partner items (a suspended sponsor's campaigns stop awarding at once, not when a
    cache expires). At most 3 x ``MAX_ACTIVE_PER_PARTNER`` keys."""
    rules = active_rules(partner)
    if not rules:  # most tills: no campaign earns there
        return []
    return campaign_awards_db.read_keys(rules)
