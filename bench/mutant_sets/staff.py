"""Mutants of the staff guards: who manages staff, the last owner, staff sessions ended by removal, suspension and
time, the sign-in limits and tokens, the portal's pages by role, the API key's first sign-in only."""

from __future__ import annotations

from bench.mutant_sets import Mutant

S, P = "tests/test_staff.py", "tests/test_staff_portal.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "any role manages a partner's staff",
        '    auth.require_role(principal, *allowed["operator" if principal.operator else "partner"])',
        "    pass",
        (f"{S}::test_only_an_owner_or_the_key_manages_a_partners_staff",),
    ),
    Mutant(
        "require_role lets every role through",
        "    if principal.role not in roles:",
        "    if False:",
        (f"{S}::test_only_an_owner_or_the_key_manages_a_partners_staff",),
    ),
    Mutant(
        "the last owner removed (the service's check)",
        '    return member.role == "owner" and staff_db.owners_from(found, scope) <= 1',
        "    return False",
        (
            f"{S}::test_the_last_owner_stays_and_a_second_owner_can_leave",
            f"{S}::test_the_owner_changes_a_role_effective_at_once_and_the_last_owner_keeps_theirs",
        ),
    ),
    Mutant(
        "the last owner removed (the roster's guard in the table)",
        "    tx.update(roster, [StaffRosterItem.owners.add(-1)], condition=StaffRosterItem.owners > 1, "
        'tag="staff_roster")',
        '    tx.update(roster, [StaffRosterItem.owners.add(-1)], tag="staff_roster")',
        (f"{S}::test_two_owners_removed_at_once_leave_one",),
    ),
    Mutant(
        "a role change decided on a stale read commits",
        '    unchanged = (StaffItem.role == member.role) & (StaffItem.status == "active")',
        '    unchanged = StaffItem.status == "active"',
        (f"{S}::test_a_role_change_decided_on_a_stale_read_is_refused",),
    ),
    Mutant(
        "a removed member's session still opens",
        '    if now_s >= int(record.expires_at) or member is None or member.status != "active":',
        "    if now_s >= int(record.expires_at) or member is None:",
        (f"{S}::test_removing_a_member_ends_their_session_at_once_and_sign_out_ends_it_too",),
    ),
    Mutant(
        "a session never expires",
        '    if now_s >= int(record.expires_at) or member is None or member.status != "active":',
        '    if member is None or member.status != "active":',
        (f"{S}::test_a_session_ends_when_its_shift_is_over",),
    ),
    Mutant(
        "a suspended partner's staff stay signed in",
        '        if partner is None or partner.status != "active":',
        "        if partner is None:",
        (f"{S}::test_a_suspended_partners_staff_are_signed_out",),
    ),
    Mutant(
        "staff sign-in codes asked for without a limit",
        "    limits.signin(identifier.value, ip)  # 429 before anything is looked up: the same for anyone",
        "    pass",
        (f"{S}::test_asking_for_codes_is_limited_per_contact_and_address",),
    ),
    Mutant(
        "staff codes typed without a limit",
        "    limits.code_attempt(identifier.value, ip)  # per contact and address, on top of each code's own tries",
        "    pass",
        (f"{S}::test_codes_typed_are_limited_per_contact_and_address_even_across_new_codes",),
    ),
    Mutant(
        "one contact signs in as two members",
        "    if found.get((pk, sk)) is not None:",
        "    if False:",
        (f"{S}::test_one_phone_is_one_staff_member_and_bad_input_changes_nothing",),
    ),
    Mutant(
        "the staff sign-in form's token not checked",
        '    if not expected or not signing.verify(form.get("csrf", ""), expected):',
        "    if False:",
        (f"{S}::test_a_sign_in_form_without_its_token_does_nothing",),
    ),
    Mutant(
        "every role opens every portal page",
        "    if session.role in ROLES.get(view, OWNERS):",
        "    if True:",
        (
            f"{P}::test_each_role_sees_only_its_pages",
            f"{P}::test_a_cashier_cannot_invite_and_a_marketer_cannot_remove_the_owner",
        ),
    ),
    Mutant(
        "the API key still signs in once the partner has an owner",
        "    closed = principal is not None and not principal.operator and "
        "staff.has_owner(principal.require_partner())",
        "    closed = False",
        (f"{P}::test_the_key_signs_in_only_until_the_partner_has_an_owner",),
    ),
    Mutant(
        "a partner's keys made past the cap",
        "            if counted[0] >= MAX_ACTIVE_KEYS:",
        "            if False:",
        ("tests/test_api_partners.py::test_a_partner_has_at_most_ten_active_keys",),
    ),
    Mutant(
        "a revoked key not counted out",
        "        count.move(tx, partner_id, counted, -1)",
        "            pass",
        ("tests/test_api_partners.py::test_a_partner_has_at_most_ten_active_keys",),
    ),
    Mutant(
        "a key revoked twice at once counted out twice",
        '    tx.update(item, actions, condition=PartnerKeyItem.status == "active", tag="partner_key")',
        '    tx.update(item, actions, condition=PartnerKeyItem.pk.exists(), tag="partner_key")',
        ("tests/test_api_partners.py::test_a_key_revoked_twice_at_once_is_counted_out_once",),
    ),
)
