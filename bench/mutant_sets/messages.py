"""Mutants of the guards on messages after an event: a purchase note and a tier reached once per customer and event,
deferred past quiet hours; campaign offers only with consent, in the audience, under the weekly cap, outside quiet
hours, with an unsubscribe link, once per customer and campaign; List-Unsubscribe on marketing e-mail only."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_T = "tests/test_customer_notes.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a purchase note sent again when its event is dispatched again",
        "    if not messages_db.claim(note.customer_id, note.kind, _mark(note), now):",
        "    if False:",
        (f"{_T}::test_an_accrual_gives_one_purchase_note_even_when_the_dispatcher_sees_it_twice",),
    ),
    Mutant(
        "notes sent in quiet hours",
        "    if is_quiet(now, prog.timezone, *waiting_hours):",
        "    if False:",
        (
            f"{_T}::test_quiet_hours_defer_a_purchase_note_to_their_end_and_hold_offers_back",
            f"{_T}::test_quiet_hours_moved_after_a_note_waits_still_hold_it",
        ),
    ),
    Mutant(
        "a day-late note still sent",
        "    if now - datetime.fromisoformat(note.due_at) > STALE_AFTER:",
        "    if False:",
        (f"{_T}::test_a_note_that_could_not_go_out_for_a_day_is_dropped",),
    ),
    Mutant(
        "a step down told as a tier reached",
        "    return before not in tiers or tiers.index(after) > tiers.index(before)",
        "    return True",
        (f"{_T}::test_a_tier_reached_is_told_once",),
    ),
    Mutant(
        "a tier reached again told again",
        '    return str(note.data.get("tier")) if note.kind == TIER_REACHED else note.event_id',
        "    return note.event_id",
        (f"{_T}::test_a_tier_reached_is_told_once",),
    ),
    Mutant(
        "campaign offers without marketing consent",
        "        or not customer.marketing_consent\n",
        "\n",
        (f"{_T}::test_a_customer_without_consent_gets_the_purchase_note_but_no_campaign_offer",),
    ),
    Mutant(
        "campaign offers to customers outside the audience",
        " if qualifies(r, p.partner_id, max(r.min_amount_minor, 1), shopper, tiers, now)]",
        "]",
        (f"{_T}::test_only_customers_in_the_audience_are_offered_the_campaign",),
    ),
    Mutant(
        "campaign offers without an unsubscribe link",
        "    if where is None or url is None:",
        "    if where is None:",
        (f"{_T}::test_no_campaign_offer_goes_without_an_unsubscribe_link",),
    ),
    Mutant(
        "campaign offers over the weekly cap",
        "    if not counted:",
        "    if False:",
        (f"{_T}::test_the_weekly_cap_holds_campaign_offers",),
    ),
    Mutant(
        "a campaign offered twice to one customer",
        "    if not messages_db.claim(customer_id, CAMPAIGN_OFFER, campaign.campaign_id, now):",
        "    if False:",
        (f"{_T}::test_a_customer_who_shopped_in_two_months_is_offered_the_campaign_once",),
    ),
    Mutant(
        "campaign offers in quiet hours",
        "    if is_quiet(now, prog.timezone, *marketing_hours):",
        "    if False:",
        (f"{_T}::test_quiet_hours_defer_a_purchase_note_to_their_end_and_hold_offers_back",),
    ),
    Mutant(
        "a campaign's run opened again",
        "        item.save(condition=OfferRunItem.sk.does_not_exist())",
        "        item.save()",
        (
            f"{_T}::test_an_offer_run_is_bounded_per_pass_and_goes_on_from_its_cursor",
            f"{_T}::test_a_run_saved_by_a_pass_that_read_it_before_another_moved_it_is_refused",
        ),
    ),
    Mutant(
        "a run's cursor moved back by a slower pass",
        "        item.update(actions=actions, condition=OfferRunItem.version == run.version)",
        "        item.update(actions=actions)",
        (f"{_T}::test_a_run_saved_by_a_pass_that_read_it_before_another_moved_it_is_refused",),
    ),
    Mutant(
        "List-Unsubscribe on transactional mail",
        "        if message.unsubscribe_url:  # marketing only",
        "        if True:  # marketing only",
        (f"{_T}::test_marketing_mail_carries_one_click_unsubscribe_and_transactional_mail_does_not",),
    ),
    Mutant(
        "an unsubscribe link that breaks the mail header",
        "        if self.unsubscribe_url is not None and not _LINK.fullmatch(self.unsubscribe_url):",
        "        if False:",
        (f"{_T}::test_an_unsubscribe_link_that_would_break_the_header_is_refused",),
    ),
    Mutant(
        "the one-click POST to the link not understood",
        '    customer_id, token = (form.get("c") or link.c or "")[:64], (form.get("t") or link.t or "")[:64]',
        '    customer_id, token = form.get("c", "")[:64], form.get("t", "")[:64]',
        (f"{_T}::test_marketing_mail_carries_one_click_unsubscribe_and_transactional_mail_does_not",),
    ),
    Mutant(
        "an offer pass that ran out of time goes on sending",
        "            if time.monotonic() > deadline:  # a slow channel: the page is worked again next pass",
        "            if False:",
        (f"{_T}::test_a_pass_out_of_time_leaves_the_rest_for_the_next",),
    ),
    Mutant(
        "a notes pass that ran out of time goes on sending",
        "        if time.monotonic() > deadline:  # a slow channel: the rest waits for the next pass",
        "        if False:",
        (f"{_T}::test_a_pass_out_of_time_leaves_the_rest_for_the_next",),
    ),
)
