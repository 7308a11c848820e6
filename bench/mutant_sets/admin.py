"""Mutants of the operator console's guards: who may open it, what asks for a confirmation first."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "the console takes any API key as the operator's",
        "    if not principal.operator:",
        "    if False:",
        ("tests/test_admin_console.py::test_every_console_route_shows_a_stranger_the_sign_in_and_a_partner_a_refusal",),
    ),
    Mutant(
        "read-only operator staff may write",
        "    if not operator.can_write:",
        "    if False:",
        ("tests/test_admin_console.py::test_read_only_staff_sees_every_page_without_buttons_and_cannot_write",),
    ),
    Mutant(
        "a console form without its CSRF token",
        '    if operator.session is not None and not signing.verify(form.get("csrf", ""), operator.csrf):',
        "    if False:",
        ("tests/test_admin_console.py::test_operator_staff_writes_only_with_the_forms_csrf_token",),
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
    Mutant(
        "a payment from the partner recorded as the coalition's",
        '    if amount is not None and form.get("direction") == "from_partner":',
        "    if False:",
        ("tests/test_admin_console.py::test_a_payment_is_recorded_and_the_month_shows_paid_and_open",),
    ),
)
