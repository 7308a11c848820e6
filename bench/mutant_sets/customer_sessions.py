"""Mutants of customer sessions and links: link-session powers, sign-in buckets, deletion, CSRF."""

from __future__ import annotations

from bench.mutant_sets import Mutant

T = "tests/test_customer_sessions.py::"
READ_ONLY = (T + "test_a_link_opens_a_read_only_page_and_a_code_confirms_it",)

MUTANTS: tuple[Mutant, ...] = (
    # --- what a link may do -------------------------------------------------------------------------------------
    Mutant(
        "a link session counted as a code sign-in",
        '        return self.session and self.via == "code"',
        "        return self.session",
        READ_ONLY,
    ),
    Mutant(
        "page forms do not ask for a code sign-in",
        "    if confirmed and not access.confirmed:",
        "    if False:",
        READ_ONLY,
    ),
    Mutant(
        "the data export does not ask for a code sign-in",
        "    if not access.confirmed:\n        raise CodeSignInRequired",
        "    if False:\n        raise CodeSignInRequired",
        READ_ONLY,
    ),
    Mutant(
        "the channel changed from a link session",
        "def _settings(r: Request) -> Any:\n    access = require_session(r)",
        "def _settings(r: Request) -> Any:\n    access = require_session(r, confirmed=False)",
        (T + "test_a_link_session_cannot_move_the_codes_to_another_channel_and_then_receive_them",),
    ),
    Mutant(
        "Telegram connected from a link session",
        "    access = require_session(r)\n    offer = telegram_link.start_link",
        "    access = require_session(r, confirmed=False)\n    offer = telegram_link.start_link",
        READ_ONLY,
    ),
    Mutant(
        "the account deleted from a link session",
        '    access = require_session(r)\n    if r.form.get("confirm") != "on":',
        '    access = require_session(r, confirmed=False)\n    if r.form.get("confirm") != "on":',
        READ_ONLY,
    ),
    Mutant(
        "a channel change not announced on the old channel",
        "    if before is None or after is None or after == before:",
        "    if True:",
        (T + "test_a_channel_change_is_announced_on_the_old_channel",),
    ),
    # --- the operator's cutoff ----------------------------------------------------------------------------------
    Mutant(
        "the link cutoff ignored",
        "    return issued_at is None or int(issued_at.timestamp()) < cutoff",
        "    return False",
        (T + "test_the_operator_ends_every_link_issued_before_an_instant",),
    ),
    Mutant(
        "a link checked without the cutoff",
        "    if links_ended(access.issued_at):",
        "    if False:",
        (T + "test_the_operator_ends_every_link_issued_before_an_instant",),
    ),
    Mutant(
        "a session opened from an ended link lives on",
        '    if via == "link" and links_ended(link_issued_at):',
        "    if False:",
        (T + "test_the_operator_ends_every_link_issued_before_an_instant",),
    ),
    Mutant(
        "the link cutoff moves back",
        "        condition=LinkCutoffItem.pk.does_not_exist() | (LinkCutoffItem.issued_before < issued_before),",
        "        condition=None,",
        (T + "test_the_operator_ends_every_link_issued_before_an_instant",),
    ),
    # --- sign-in buckets and decoys -----------------------------------------------------------------------------
    Mutant(
        "sign-in codes counted per phone only",
        '    check("signin_pair", _pair(phone, ip))',
        '    check("signin_pair", _pair(phone, None))',
        (T + "test_an_outsider_typing_her_phone_elsewhere_does_not_lock_her_out",),
    ),
    Mutant(
        "no per-phone ceiling on sign-in codes",
        '    check("signin_phone", phone)',
        "    pass",
        (T + "test_an_outsider_typing_her_phone_elsewhere_does_not_lock_her_out",),
    ),
    Mutant(
        "a made-up device cookie accepted",
        "    if not device or not mac or not signing.verify(mac, _device_mac(identifier, device)):",
        "    if not device or not mac:",
        (T + "test_an_outsider_typing_her_phone_elsewhere_does_not_lock_her_out",),
    ),
    Mutant(
        "typed codes counted per phone only",
        '    check("code_pair", _pair(phone, ip))',
        '    check("code_pair", _pair(phone, None))',
        (T + "test_wrong_codes_typed_elsewhere_do_not_use_up_her_tries",),
    ),
    Mutant(
        "no decoy code for an unknown identifier",
        "    owner, _ = _owner(identifier)\n    message = _issue_sign_in_code(owner, now, prefer=identifier.channel)\n",
        "    owner, customer = _owner(identifier)\n    if customer is None:\n        return\n"
        "    message = _issue_sign_in_code(owner, now, prefer=identifier.channel)\n",
        (T + "test_sign_in_answers_and_work_are_the_same_for_an_unknown_phone",),
    ),
    Mutant(
        "the locked sign-in page without Retry-After",
        "        return with_retry_after(page, error)",
        "        return page",
        (T + "test_the_locked_sign_in_page_says_when_to_try_again",),
    ),
    Mutant(
        "no limit on the partner portal's sign-in",
        "    limits.portal_login(r.call.source_ip, typed)",
        "    pass",
        (T + "test_wrong_portal_keys_are_limited_per_address_and_per_key_prefix",),
    ),
    Mutant(
        "no per-key-prefix limit on the partner portal's sign-in",
        '    check("portal_login_prefix", typed_key[:PORTAL_KEY_PREFIX])',
        "    pass",
        (T + "test_wrong_portal_keys_are_limited_per_address_and_per_key_prefix",),
    ),
    # --- sessions -----------------------------------------------------------------------------------------------
    Mutant(
        "a session's expiry not checked server-side",
        "    if now >= expires_at:  # the item outlives its expiry",
        "    if False:  # the item outlives its expiry",
        (T + "test_a_session_expires_server_side_whatever_the_browser_keeps",),
    ),
    Mutant(
        "a link's session outlives the link",
        '    tx, session = _session_tx(access.customer_id, now, "link", until=access.expires_at, '
        "link_issued_at=access.issued_at)",
        '    tx, session = _session_tx(access.customer_id, now, "link", until=None, link_issued_at=access.issued_at)',
        (T + "test_a_one_minute_link_gives_at_most_a_one_minute_session",),
    ),
    Mutant(
        "deleting the account leaves other sessions alive",
        "        codes_db.end_every_session(customer_id, now.isoformat())\n        return",
        "        return",
        (T + "test_deleting_the_account_ends_the_sessions_of_every_device",),
    ),
    Mutant(
        "a page form's CSRF token not checked",
        '    if not signing.verify(r.form.get("csrf", ""), csrf_for(r.session_value)):',
        "    if False:",
        (T + "test_every_form_of_the_page_refuses_a_forged_or_missing_csrf_token",),
    ),
    Mutant(
        "the delete-my-account POST takes any CSRF token",
        '    access = require_session(r)\n    if r.form.get("confirm") != "on":',
        "    access = customer_http.customer_auth.session_access(r.session_value, r.now)  # type: ignore\n"
        '    if r.form.get("confirm") != "on":',
        (T + "test_every_form_of_the_page_refuses_a_forged_or_missing_csrf_token",),
    ),
    Mutant(
        "a link silently replaces the signed-in customer",
        "            return _switch_page(r, current, view, token)",
        "            pass",
        (T + "test_a_link_never_silently_replaces_who_is_signed_in",),
    ),
    # --- deletion -----------------------------------------------------------------------------------------------
    Mutant(
        "the hold check dropped from account deletion",
        "        if s.current.holds:\n            raise Conflict(",
        "        if False:\n            raise Conflict(",
        (T + "test_an_account_is_not_deleted_while_a_till_holds_its_points",),
    ),
    Mutant(
        "pending points left maturing on a deleted account",
        "            matured = mature_now(s.current)\n"
        "            expired = take(matured.applied_to(s.current), s.current.available + s.current.pending)",
        "            matured = Change()\n            expired = take(s.current, s.current.available)",
        (T + "test_deleting_the_account_forfeits_pending_points_and_the_books_still_add_up",),
    ),
    # --- HSTS ---------------------------------------------------------------------------------------------------
    Mutant(
        "no HSTS on HTTPS answers",
        "    if is_https(header):\n        response.headers",
        "    if False:\n        response.headers",
        (T + "test_https_answers_carry_hsts_pages_and_api_alike",),
    ),
    Mutant(
        "a link's session that escaped sign-out-everywhere still opens the page",
        '        if not signed_out_at or (self.session and self.via == "code"):',
        "        if not signed_out_at or self.session:",
        (T + "test_a_link_session_written_while_she_signed_out_everywhere_is_ended_by_its_links_age",),
    ),
    Mutant(
        "a link ended by sign-out-everywhere still asks for codes and signs out (only its page refused)",
        "    if access.revoked(customer.signed_out_at):",
        "    if False:",
        (T + "test_a_link_session_that_escaped_sign_out_everywhere_asks_for_no_code",),
    ),
    Mutant(
        "a customer's link built under a Host the caller chose",
        "    if not _PLAIN_HOST.fullmatch(host):",
        "    if False:",
        (T + "test_a_partner_cannot_have_the_customers_link_sent_under_another_host",),
    ),
    Mutant(
        "behind API Gateway, a customer's link built from the caller's headers, not the gateway's address",
        '    domain, stage = call.gateway.get("domainName"), call.gateway.get("stage")',
        "    domain, stage = None, None",
        (T + "test_behind_api_gateway_the_customers_link_goes_under_the_address_it_was_called_at",),
    ),
)
