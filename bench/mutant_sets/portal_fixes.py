"""Mutants of the guards around a named partner's decline and the portal's campaign buttons."""

from __future__ import annotations

from bench.mutant_sets import Mutant

DECLINE = "tests/test_campaign_lifecycle.py::test_a_named_partner_declines_and_the_sponsor_cannot_run_the_campaign"
PORTAL = "tests/test_web.py::test_an_invited_partner_reads_who_pays_declines_and_everyone_sees_each_answer"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a declined campaign can be activated",
        '    if action == "activate" and campaign.declined():',
        "    if False:",
        (
            DECLINE,
            "tests/test_campaign_lifecycle.py::test_declining_in_the_domain_keeps_the_first_answer_and_blocks_activation",
        ),
    ),
    Mutant(
        "a running campaign can be declined",
        "    if status not in ANSWERABLE:",
        "    if False:",
        (DECLINE,),
    ),
    Mutant(
        "the sponsor may decline its own campaign",
        '        raise NotYours("Only named partners decline; the sponsor ends its campaign.")',
        "        pass",
        ("tests/test_campaign_lifecycle.py::test_only_a_named_partner_declines",),
    ),
    Mutant(
        "the portal offers Activate before every named partner accepted",
        "        ready = not c.awaiting_acceptance and not c.declined_by",
        "        ready = True",
        (PORTAL,),
    ),
    Mutant(
        "ending in the portal does not ask first",
        '    if action in CONFIRM_FIRST and r.form.get("confirmed") != "yes":',
        "    if False:",
        ("tests/test_web.py::test_ending_asks_first_and_the_page_shows_dates_cost_with_fee_and_a_rounded_ratio",),
    ),
)
