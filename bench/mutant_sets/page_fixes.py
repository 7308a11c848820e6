"""Mutants of the customer page's and the site's guards: the history's one line per till spend, the token leaving the
address bar (also from another site), a real 404 for every unknown path, a page for a browser."""

from __future__ import annotations

from bench.mutant_sets import Mutant

WORDS = "tests/test_customer_page_words.py"
SITE = "tests/test_site.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a captured or released hold still listed as held",
        '        if e.type == "hold" and (e.partner_id, e.order_id) not in open_holds:',
        "        if False:",
        (f"{WORDS}::test_a_captured_hold_is_one_spent_line_and_a_released_one_says_so",),
    ),
    Mutant(
        "a link from another site redirected (the Strict cookie would not follow)",
        '    if (r.call.header("sec-fetch-site") or "").lower() != "cross-site":',
        "    if True:",
        (f"{WORDS}::test_a_link_leaves_no_token_in_the_address_bar",),
    ),
    Mutant(
        "a browser gets problem+json at an unknown path",
        '    return "text/html" in (accept or "").lower()',
        "    return False",
        (f"{SITE}::test_an_unknown_path_is_a_404_page_for_a_browser_in_its_language",),
    ),
    Mutant(
        "a deeper unknown path not caught locally",
        '            if CATCH_ALL in self.route_urls and parsed.path not in ("", "/"):',
        "            if False:",
        (f"{SITE}::test_an_unknown_path_is_a_404_problem_for_an_api_client",),
    ),
)
