"""A campaign offered to the customers it is for, when it becomes active (``campaign.updated`` to ``active``): a
subscriber of the dispatcher.

Marketing: only customers with ``marketing_consent``, under the weekly cap (``marketing_per_week``, counted with
the birthday greetings), never in quiet hours, always with the one-click unsubscribe link (in the text, and as
``List-Unsubscribe`` in an e-mail's headers). Without the stack's public address there is no link, and no offer goes.

Who is asked: the customers the ledger shows shopping at the audience's partner within its days
(``purchased_at``), or anywhere in the coalition in the last :data:`ACTIVE_MONTHS` (the other audiences: the
customer's tier or that they are new to the partner are then checked on the customer item, with the same rule a
purchase is awarded by). The run reads the partner-period index of the ledger, never the whole table.

Bounded fan-out: :func:`accept` only opens the campaign's run (once per campaign, under ``attribute_not_exists``);
:func:`flush`, once per dispatcher pass (every minute in AWS, every 2 s under ``make run``), works at most
:data:`RUNS_PER_PASS` runs, and in each at most :data:`PAGES_PER_PASS` index pages of :data:`PAGE` entries or until
:data:`SENDS_PER_PASS` offers went out, then saves its cursor (under a version: two passes never both move it). A
paused campaign's run waits; an ended or exhausted one's stops. Each customer gets a campaign's offer once: the mark
``campaign_offer#<campaign id>`` is claimed before the send (a page worked again after a crash sends nothing twice).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from chalicelib.db import campaigns as campaigns_db
from chalicelib.db import customer_notes as customer_notes_db
from chalicelib.db import customers as customers_db
from chalicelib.db import messages as messages_db
from chalicelib.db import partners as partners_db
from chalicelib.domain.campaign_lifecycle import Campaign
from chalicelib.domain.campaigns import Rules, Shopper, qualifies
from chalicelib.domain.events import CAMPAIGN_UPDATED, Event
from chalicelib.domain.messaging import is_quiet, week_of
from chalicelib.domain.partners import Partner
from chalicelib.domain.periods import add_months, period_of, trailing_periods
from chalicelib.errors import ApiError
from chalicelib.machinery import program, wallets
from chalicelib.machinery.program import Program
from chalicelib.schemas import MessageSettings
from chalicelib.services import customer_messages, reminders

__all__ = ["CAMPAIGN_OFFER", "PAGE", "PAGES_PER_PASS", "RUNS_PER_PASS", "SENDS_PER_PASS", "accept", "flush"]

log = logging.getLogger("loyalty.messages")
CAMPAIGN_OFFER = "campaign_offer"
ACTIVE_MONTHS = 12  # without a purchased_at audience: the customers who shopped in the coalition this last year
PAGE = 100  # ledger entries per index page (a customer with several purchases shows up once per pass)
PAGES_PER_PASS = 40  # empty index partitions cost a Query each: a year of a dozen partners is ~1150 of them
SENDS_PER_PASS = 100  # messages one run sends per pass, at most (plus what the page under way adds)
RUNS_PER_PASS = 3
PASS_SECONDS = 20.0  # of the minute pass's 60 s (a channel's timeout is 5-10 s a message), shared by the runs
DONE = ("ended", "exhausted", "draft", "pending_acceptance")  # cannot become active again without a new event


def accept(event: Event, now: datetime) -> bool:
    """Open the run of a campaign that became active; False for any other change, or a run opened before (a
    campaign paused and activated again goes on where its run stood)."""
    if event.type != CAMPAIGN_UPDATED or event.data.get("status") != "active":
        return False
    campaign = campaigns_db.load(str(event.data.get("campaign_id", "")))
    if campaign is None:
        return False
    run = customer_notes_db.OfferRun(campaign.campaign_id, event.event_id, *_audience_index(campaign, now))
    return customer_notes_db.open_run(run, now)


def _audience_index(campaign: Campaign, now: datetime) -> tuple[list[str], list[str]]:
    """The partners and months of the ledger's index whose customers may be in the audience."""
    tz = program.load(now).timezone
    current = period_of(now, tz)
    audience = campaign.rules.get("audience") or {}
    bought_at = audience.get("purchased_at")
    if bought_at:
        first = period_of(now - timedelta(days=int(audience.get("within_days") or 1)), tz)
        months: list[str] = []
        month = first
        while month <= current:
            months.append(month)
            month = add_months(month, 1)
        return [str(bought_at)], months
    return [p.partner_id for p in partners_db.load_all()], trailing_periods(current, ACTIVE_MONTHS)


def flush(now: datetime) -> int:
    """Work the open runs a bounded step each (nothing in quiet hours); returns the offers sent."""
    prog, config = program.load(now), reminders.settings()
    marketing_hours = (config.quiet_from_hour, config.quiet_to_hour)
    if is_quiet(now, prog.timezone, *marketing_hours):
        return 0
    deadline = time.monotonic() + PASS_SECONDS
    return sum(_advance(run, now, prog, config, deadline) for run in customer_notes_db.open_runs()[:RUNS_PER_PASS])


def _live_rules(campaign: Campaign) -> list[tuple[Partner, Rules]]:
    """The campaign's rules at each earn_at partner where it earns now (accepted, partner active)."""
    earn_at = sorted({str(p) for p in campaign.rules.get("earn_at", [])})
    found = partners_db.load_many(earn_at)
    return [
        (p, r)
        for p in (found[i] for i in earn_at if i in found)
        if p.active
        for r in p.campaign_rules()
        if r.campaign_id == campaign.campaign_id
    ]


def _advance(
    run: customer_notes_db.OfferRun, now: datetime, prog: Program, config: MessageSettings, deadline: float
) -> int:
    campaign = campaigns_db.load(run.campaign_id)
    status = campaign.status_at(now) if campaign is not None else "ended"
    if campaign is None or status in DONE:
        run.status = "done"
        customer_notes_db.save_run(run, now)
        return 0
    live = _live_rules(campaign) if status == "active" else []
    if not live:
        return 0  # paused, or its partners' snapshots not there yet: the run waits
    shards, seen, sent, pages = customer_notes_db.period_shards(), set[str](), 0, 0
    while run.status == "open" and pages < PAGES_PER_PASS and sent < SENDS_PER_PASS:
        partner_id, period = run.partitions[run.unit // shards]
        customer_ids, next_key = customer_notes_db.customers_page(
            partner_id, period, run.unit % shards, run.start_key, PAGE
        )
        for customer_id in customer_ids:
            if time.monotonic() > deadline:  # a slow channel: the page is worked again next pass (marks: no twice)
                break
            if customer_id not in seen:
                seen.add(customer_id)
                run.considered += 1
                sent += _offer(customer_id, campaign, live, now, prog, config)
        else:  # the whole page was worked: the cursor moves past it
            pages += 1
            _next_page(run, next_key, shards)
            continue
        break  # cut short: the cursor stays at this page
    run.sent += sent
    if not customer_notes_db.save_run(run, now):
        log.info("campaign offers of %s: another pass moved the cursor", run.campaign_id)
    return sent


def _next_page(run: customer_notes_db.OfferRun, next_key: str | None, shards: int) -> None:
    run.start_key = next_key
    if next_key is None:
        run.unit += 1
        if run.unit >= len(run.partitions) * shards:
            run.status = "done"


def _offer(
    customer_id: str,
    campaign: Campaign,
    live: list[tuple[Partner, Rules]],
    now: datetime,
    prog: Program,
    config: MessageSettings,
) -> int:
    customer = customers_db.load(customer_id)
    if (
        customer is None
        or customer.deleted_at
        or not customer.marketing_consent
        or not customer_messages.reachable(customer)
    ):
        return 0
    tier = wallets.balance(customer_id, customer.wallet, prog, now).tier.name
    shopper = Shopper(customer.wallet.last_purchase, tier, customer.wallet.campaign_awards)
    tiers = [t.name for t in sorted(prog.tiers, key=lambda t: t.min_spend_12m_minor)]
    qualifying = [p for p, r in live if qualifies(r, p.partner_id, max(r.min_amount_minor, 1), shopper, tiers, now)]
    where = qualifying[0] if qualifying else None  # where the smallest purchase the campaign accepts would earn it
    url = reminders.unsubscribe_url(customer_id)
    if where is None or url is None:
        return 0
    if not messages_db.claim(customer_id, CAMPAIGN_OFFER, campaign.campaign_id, now):
        return 0  # offered already
    week = week_of(now, prog.timezone)
    counted = messages_db.count_marketing(customer_id, week, config.marketing_per_week, now)
    if not counted:
        return 0  # over the cap: this campaign is not offered to them (the mark stays: not later either)
    body = customer_messages.text(
        customer, CAMPAIGN_OFFER, campaign=str(campaign.rules.get("name", "")), partner=where.name
    )
    body += "\n" + customer_messages.text(customer, "unsubscribe", url=url)
    try:
        customer_messages.send(customer, CAMPAIGN_OFFER, body, unsubscribe_url=url)
    except ApiError as exc:  # mark and count go back: if the customer comes up again (another entry), it goes then
        log.warning("customer message %s not sent: %s", CAMPAIGN_OFFER, exc.code)
        messages_db.give_back(customer_id, CAMPAIGN_OFFER, campaign.campaign_id)
        messages_db.give_back_marketing(customer_id, week)
        return 0
    return 1
