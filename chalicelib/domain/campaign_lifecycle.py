"""A campaign's life, purely: its stored rules, its statuses and the transitions between them.

Created ``pending_acceptance`` when other partners are named (``draft`` when none are); every named partner accepts
or declines (before the campaign first runs; either may be changed until then); the sponsor activates (refused until
all have accepted, and while any has declined), pauses, resumes, ends; the operator may pause or end any campaign. A
campaign whose budget is used up is ``exhausted``; one past its ``ends_at`` is ``ended``. ``ended`` and ``exhausted``
are terminal: such a campaign never awards again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Required, TypedDict

from chalicelib.domain.campaigns import Rules, is_over

CampaignStatus = Literal["draft", "pending_acceptance", "active", "paused", "ended", "exhausted"]
CampaignAction = Literal["accept", "decline", "activate", "pause", "end"]
PartnerState = Literal["accepted", "awaiting", "declined"]
SponsorAction = Literal["activate", "pause", "end"]

TERMINAL: frozenset[CampaignStatus] = frozenset({"ended", "exhausted"})  # no way back: never awards again
# What the sponsor (or, for pause and end, the operator) may do: from which states, and to which state.
TRANSITIONS: Mapping[SponsorAction, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "activate": (frozenset({"draft", "pending_acceptance", "paused", "active"}), "active"),
    "pause": (frozenset({"active", "paused"}), "paused"),
    "end": (frozenset({"draft", "pending_acceptance", "active", "paused", "ended"}), "ended"),
}

MAX_OPEN_PER_SPONSOR = 50  # campaigns a partner sponsors that are not ended (each may name up to 10 partners)
MAX_ACTIVE_PER_PARTNER = 20  # active campaigns earning at one partner: rules snapshots on its item, read per accrual


class RewardSnapshot(TypedDict, total=False):
    type: Required[str]  # fixed | multiplier | percent
    points: int  # fixed
    factor_bps: int  # multiplier
    rate_bps: int  # percent


class AudienceSnapshot(TypedDict, total=False):
    """Exactly one rule is set (the schema checks it)."""

    purchased_at: str
    within_days: int
    new_to_partner: bool
    min_tier: str


class RulesSnapshot(TypedDict, total=False):
    """A campaign's rules as stored on its item and copied onto its ``earn_at`` partners' items while it is active.
    Optional rules are absent, never null; instants are ISO 8601 (UTC since they were normalised)."""

    campaign_id: Required[str]
    sponsor_partner_id: Required[str]
    name: Required[str]
    earn_at: Required[list[str]]
    reward: Required[RewardSnapshot]
    audience: AudienceSnapshot
    min_amount_minor: int
    starts_at: str
    ends_at: str
    budget_points: int
    per_customer_limit: int


def named_partners(rules: RulesSnapshot) -> list[str]:
    """Partners other than the sponsor whose customers or tills the campaign involves: they must accept."""
    named = set(rules["earn_at"])
    audience = rules.get("audience") or {}
    if audience.get("purchased_at"):
        named.add(str(audience["purchased_at"]))
    named.discard(str(rules["sponsor_partner_id"]))
    return sorted(named)


def snapshot_rules(snapshots: Mapping[str, RulesSnapshot]) -> list[Rules]:
    """The rules of the campaigns a partner's snapshots hold, in campaign-id order, at most
    ``MAX_ACTIVE_PER_PARTNER`` (activation keeps them within it; the cap keeps a partner written before the limit
    inside one batch read)."""
    return [Rules.from_snapshot(v) for _, v in sorted(snapshots.items())[:MAX_ACTIVE_PER_PARTNER]]


@dataclass(frozen=True)
class CampaignTotals:
    """The running totals of the campaign's report, added to in each award and refund."""

    awards: int = 0
    customers: int = 0
    new_customers: int = 0
    points_awarded: int = 0
    points_reversed: int = 0
    revenue_minor: int = 0


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    sponsor_partner_id: str
    rules: RulesSnapshot
    status: CampaignStatus  # as stored; see :meth:`status_at` for what users see
    accepted_by: Mapping[str, str]  # partner id -> when it accepted
    created_at: str
    updated_at: str
    budget_used: int = 0
    totals: CampaignTotals = field(default_factory=CampaignTotals)
    declined_by: Mapping[str, str] = field(default_factory=dict)  # partner id -> when it declined
    budget_shards: int = 0  # the items its budget and totals are spread over (0: not stored yet, as created)

    @property
    def budget_points(self) -> int | None:
        budget = self.rules.get("budget_points")
        return int(budget) if budget is not None else None

    def named_partners(self) -> list[str]:
        return named_partners(self.rules)

    def awaiting_acceptance(self) -> list[str]:
        return [p for p in self.named_partners() if p not in self.accepted_by and p not in self.declined_by]

    def declined(self) -> list[str]:
        return [p for p in self.named_partners() if p in self.declined_by]

    def partner_states(self) -> dict[str, PartnerState]:
        """Each named partner's answer: what the sponsor and the partners see per partner."""
        states: dict[str, PartnerState] = {}
        for p in self.named_partners():
            states[p] = "declined" if p in self.declined_by else "accepted" if p in self.accepted_by else "awaiting"
        return states

    def visible_to(self, partner_id: str | None) -> bool:
        """The sponsor and the named partners see it; ``None`` is the operator, who sees every campaign."""
        return partner_id is None or partner_id == self.sponsor_partner_id or partner_id in self.named_partners()

    def status_at(self, now: datetime) -> CampaignStatus:
        """The state as users should see it: past ``ends_at`` is ended, a used-up budget is exhausted (concurrent
        awards can use it up together without either being the one that noticed; the next purchase persists it)."""
        budget = self.budget_points
        if self.status in ("active", "paused") and budget is not None and self.budget_used >= budget:
            return "exhausted"
        if self.status not in TERMINAL and is_over(self.rules.get("ends_at"), now):
            return "ended"
        return self.status


def new_campaign(campaign_id: str, sponsor_id: str, rules: RulesSnapshot, now_iso: str) -> Campaign:
    """A campaign as created: ``pending_acceptance`` while other partners must accept, else ``draft``."""
    rules = {**rules, "campaign_id": campaign_id, "sponsor_partner_id": sponsor_id}
    status: CampaignStatus = "pending_acceptance" if named_partners(rules) else "draft"
    return Campaign(campaign_id, sponsor_id, rules, status, {}, now_iso, now_iso)


class TransitionRefused(Exception):
    """The campaign cannot make this transition; the message says why."""


class NotYours(TransitionRefused):
    """The caller may not make this transition (whatever the state)."""


class WrongState(TransitionRefused):
    """Not from the campaign's current state."""


class AwaitingAcceptance(TransitionRefused):
    def __init__(self, awaiting: Sequence[str]) -> None:
        super().__init__(f"Waiting for {', '.join(awaiting)} to accept.")
        self.awaiting = list(awaiting)


class Declined(TransitionRefused):
    def __init__(self, declined: Sequence[str]) -> None:
        super().__init__(f"{', '.join(declined)} declined the campaign; it cannot run. End it or create another.")
        self.declined = list(declined)


# A named partner answers while the campaign has never run: once it awards, its customers and tills are involved.
ANSWERABLE: frozenset[CampaignStatus] = frozenset({"draft", "pending_acceptance"})


def _accepting(campaign: Campaign, actor: str | None, status: CampaignStatus) -> None:
    if actor is None or actor == campaign.sponsor_partner_id:
        raise NotYours("The sponsor does not accept its own campaign; named partners do.")
    if status in TERMINAL:
        raise WrongState(f"The campaign is {status}.")


def _declining(campaign: Campaign, actor: str | None, status: CampaignStatus) -> None:
    if actor is None or actor == campaign.sponsor_partner_id:
        raise NotYours("Only named partners decline; the sponsor ends its campaign.")
    if actor in campaign.declined_by:
        return  # declined already: the same answer again, like a repeated accept
    if status not in ANSWERABLE:
        raise WrongState(f"A campaign that is {status} cannot be declined; ask its sponsor to end it.")


def _sponsor_action(campaign: Campaign, actor: str | None, action: SponsorAction, status: CampaignStatus) -> None:
    if actor is None and action == "activate":
        raise NotYours("Only the sponsor activates its campaign.")
    if actor is not None and actor != campaign.sponsor_partner_id:
        raise NotYours("Only the sponsor activates, pauses or ends its campaign.")
    if status not in TRANSITIONS[action][0]:
        raise WrongState(f"A campaign that is {status} cannot {action}.")
    if action == "activate" and campaign.declined():
        raise Declined(campaign.declined())
    if action == "activate" and campaign.awaiting_acceptance():
        raise AwaitingAcceptance(campaign.awaiting_acceptance())


def transition(campaign: Campaign, actor: str | None, action: CampaignAction, now: datetime) -> Campaign:
    """The campaign after ``action`` by ``actor`` (a partner id, or ``None`` for the operator, who may pause and end
    any campaign) at ``now``; raises :class:`TransitionRefused` when it may not happen. Accepting leaves the status
    as users see it and records the acceptance; the others set the status from :data:`TRANSITIONS`."""
    status = campaign.status_at(now)
    if action == "accept":
        _accepting(campaign, actor, status)
        assert actor is not None
        accepted = {**campaign.accepted_by, actor: now.isoformat()}
        declined = {p: at for p, at in campaign.declined_by.items() if p != actor}  # a change of mind
        return replace(campaign, status=status, accepted_by=accepted, declined_by=declined, updated_at=now.isoformat())
    if action == "decline":
        _declining(campaign, actor, status)
        assert actor is not None
        if actor in campaign.declined_by:
            return campaign
        accepted = {p: at for p, at in campaign.accepted_by.items() if p != actor}
        declined = {**campaign.declined_by, actor: now.isoformat()}
        return replace(campaign, status=status, accepted_by=accepted, declined_by=declined, updated_at=now.isoformat())
    _sponsor_action(campaign, actor, action, status)
    return replace(campaign, status=TRANSITIONS[action][1], updated_at=now.isoformat())


class LimitReached(Exception):
    def __init__(self, message: str, limit: int, partner_id: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.partner_id = partner_id


def check_open_slots(open_now: int, freed: int) -> None:
    """A sponsor may have at most ``MAX_OPEN_PER_SPONSOR`` campaigns that are not ended; ``freed`` of the
    ``open_now`` it lists are over since (ended or exhausted) and free their slots."""
    if open_now - freed >= MAX_OPEN_PER_SPONSOR:
        raise LimitReached(
            f"A partner may sponsor at most {MAX_OPEN_PER_SPONSOR} campaigns that are not ended; end one first.",
            MAX_OPEN_PER_SPONSOR,
        )


def check_active_slots(partner_id: str, live_others: int) -> None:
    """Activation at a partner that already has ``MAX_ACTIVE_PER_PARTNER`` other live campaigns is refused."""
    if live_others >= MAX_ACTIVE_PER_PARTNER:
        raise LimitReached(
            f"Partner {partner_id} already has {MAX_ACTIVE_PER_PARTNER} active campaigns earning there; "
            "one of them must pause or end first.",
            MAX_ACTIVE_PER_PARTNER,
            partner_id,
        )


@dataclass(frozen=True)
class SnapshotChange:
    """What one partner's item gets when a campaign changes state: the stale snapshots it drops (campaigns over
    since), this campaign's snapshot set (``snapshot``, when it becomes active) or removed, and, for the sponsor of an
    ended campaign, its open slot freed."""

    partner_id: str
    campaign_id: str
    stale: tuple[str, ...] = ()
    snapshot: RulesSnapshot | None = None
    touch_snapshot: bool = True  # False: only the sponsor's open slot (the sponsor does not earn here)
    free_open_slot: bool = False


def snapshot_change(
    campaign: Campaign, partner_id: str, snapshots: Mapping[str, object], stale: set[str]
) -> SnapshotChange:
    """The change for one ``earn_at`` partner whose item holds ``snapshots``, of which ``stale`` are over; the
    activation limit is checked here and guarded again in the write."""
    if campaign.status == "active":
        live = [c for c in snapshots if c != campaign.campaign_id and c not in stale]
        check_active_slots(partner_id, len(live))
    return SnapshotChange(
        partner_id,
        campaign.campaign_id,
        tuple(sorted(stale)),
        campaign.rules if campaign.status == "active" else None,
        free_open_slot=campaign.status == "ended" and partner_id == campaign.sponsor_partner_id,
    )


def unaccepted(campaign: Campaign) -> list[str]:
    """Named partners that never accepted (declined included): an ended campaign leaves their lists (so creating and
    ending campaigns cannot fill another partner's list)."""
    return [p for p in campaign.named_partners() if p not in campaign.accepted_by]
