"""Mutants of the one signing helper (a signature checked, a message unambiguous, a link's mac) and of the webhook
guards that came with it: the endpoint cap in the registering write, the count freed once per deletion, the
delivery connecting to the address its check vetted, and the reason shown in the partner's language."""

from __future__ import annotations

from bench.mutant_sets import Mutant

SIGNING = "tests/test_signing.py"
WEBHOOKS = "tests/test_webhooks.py"
LIVE = "tests/test_webhooks_live.py"
PORTAL = "tests/test_portal_webhooks.py"
KEYS = "tests/test_api_partners.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "a signed message's separator allowed in any part",
        "    if any(separator in p for p in raw[:-1]):",
        "    if False:",
        (f"{SIGNING}::test_a_signed_message_is_unambiguous",),
    ),
    Mutant(
        "a token opened without checking its mac",
        "    if not verify(sign(key, payload), unb64url(mac_b64)):",
        "    if False:",
        (f"{SIGNING}::test_a_token_opens_with_its_key_only_and_in_its_one_spelling",),
    ),
    Mutant(
        "verify compares only the first byte",
        "    return hmac.compare_digest(_bytes(given), _bytes(expected))",
        "    return hmac.compare_digest(_bytes(given)[:1], _bytes(expected)[:1])",
        (f"{SIGNING}::test_verify_compares_bytes_and_refuses_any_alphabet",),
    ),
    Mutant(
        "a capped count (endpoints, API keys) grown without its cap guard",
        "        guard = number < cap if cap is not None else self.model.pk.exists()",
        "        guard = self.model.pk.exists()",
        (  # the one capped count's guard: the endpoints' cap and the API keys' both fail without it
            f"{WEBHOOKS}::test_a_registration_committed_after_anothers_read_of_the_count_does_not_pass_the_cap",
            f"{LIVE}::test_simultaneous_registrations_never_pass_ten_endpoints",
            f"{KEYS}::test_a_key_made_after_anothers_read_of_the_count_does_not_pass_the_cap",
        ),
    ),
    Mutant(
        "a capped count's first put over one already stored",
        "            tx.put(first, condition=self.model.pk.does_not_exist(), tag=self.tag)",
        "            tx.put(first, tag=self.tag)",
        (
            f"{WEBHOOKS}::test_two_first_registrations_at_once_are_both_counted",
            f"{LIVE}::test_simultaneous_registrations_never_pass_ten_endpoints",
            f"{KEYS}::test_two_first_counts_at_once_are_both_kept",
        ),
    ),
    Mutant(
        "a deleted endpoint not counted out",
        "        count.move(tx, partner_id, count.live(found, partner_id), -1)",
        "        pass",
        (f"{WEBHOOKS}::test_a_partner_has_at_most_ten_endpoints",),
    ),
    Mutant(
        "an endpoint deleted twice at once counted out twice",
        '        tx.update(item, actions, condition=WebhookItem.status == hook.status, tag="webhook")',
        '        tx.update(item, actions, tag="webhook")',
        (
            f"{WEBHOOKS}::test_an_endpoint_deleted_again_between_a_deletions_read_and_commit_is_counted_out_once",
            f"{LIVE}::test_simultaneous_registrations_never_pass_ten_endpoints",
        ),
    ),
    Mutant(
        "a delivery resolving the endpoint's name again (DNS rebinding)",
        '    return pinned(parts.hostname or "", parts.port, address, timeout)',
        '    return pinned(parts.hostname or "", parts.port, None, timeout)',
        (f"{WEBHOOKS}::test_a_delivery_connects_to_the_address_its_check_vetted",),
    ),
    Mutant(
        "TLS to a pinned address checked against no name",
        "        self.sock = self.context.wrap_socket(self._socket(), server_hostname=self.host)",
        "        self.sock = self.context.wrap_socket(self._socket())",
        (f"{WEBHOOKS}::test_a_delivery_connects_to_the_address_its_check_vetted",),
    ),
    Mutant(
        "a switched-off endpoint's reason shown in English only",
        "        if h.disabled_code is not None and h.disabled_at is not None:",
        "        if False:",
        (f"{PORTAL}::test_a_switched_off_endpoint_shows_why_and_offers_no_resend",),
    ),
)
