"""Mutants of the operator console's guards: who may open it, what asks for a confirmation first."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "the console takes any API key as the operator's",
        '    if principal.role != "operator":',
        "    if False:",
        ("tests/test_admin_console.py::test_every_console_route_refuses_a_partner_and_a_stranger_with_a_page",),
    ),
    Mutant(
        "suspend, end and close without a confirmation",
        '    return r.form.get("confirmed") == "yes"',
        "    return True",
        (
            "tests/test_admin_console.py::test_suspending_a_partner_asks_first_and_its_key_stops_working",
            "tests/test_admin_console.py::test_the_operator_ends_any_campaign_after_a_confirmation",
            "tests/test_admin_console.py::test_a_month_closes_after_it_ended_and_a_confirmation",
        ),
    ),
)
