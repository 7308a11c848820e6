"""Mutants of the events' guards: the outbox in the change's transaction, one delivery per (endpoint, event), one
dispatcher per attempt, the backoff's end, secrets' overlap, where an endpoint may point, what is kept of an
answer, and which endpoints hear of an event."""

from __future__ import annotations

from bench.mutant_sets import Mutant

WEBHOOKS = "tests/test_webhooks.py"
PORTAL = "tests/test_portal_webhooks.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "events not put in the change's transaction",
        "        outbox_db.stage(plan.tx, plan.events)",
        "        pass",
        (f"{WEBHOOKS}::test_an_accrual_reaches_the_endpoint_signed_and_the_sdk_verifies_it",),
    ),
    Mutant(
        "a delivery created again for an event dispatched twice",
        '    tx.put(item, condition=DeliveryItem.pk.does_not_exist(), tag="delivery")',
        '    tx.put(item, tag="delivery")',
        (f"{WEBHOOKS}::test_an_event_dispatched_twice_is_delivered_once",),
    ),
    Mutant(
        "an attempt claimed without its guard",
        '    tx.update(item, actions, condition=_guard(d) & free & (DeliveryItem.status == "pending"), tag="claim")',
        '    tx.update(item, actions, tag="claim")',
        (f"{WEBHOOKS}::test_two_dispatchers_at_once_send_an_attempt_once",),
    ),
    Mutant(
        "a running attempt's lease ignored",
        "    free = DeliveryItem.lease_until.does_not_exist() | (DeliveryItem.lease_until <= now_iso)",
        "    free = DeliveryItem.pk.exists()",
        (f"{WEBHOOKS}::test_two_dispatchers_at_once_send_an_attempt_once",),
    ),
    Mutant(
        "retries never give up",
        "    if at - datetime.fromisoformat(created_at) > GIVE_UP_AFTER:",
        "    if False:",
        (
            f"{WEBHOOKS}::test_backoff_grows_and_stops_after_three_days",
            f"{WEBHOOKS}::test_an_endpoint_failing_for_three_days_is_switched_off_with_a_reason",
        ),
    ),
    Mutant(
        "a switched-off or unsubscribed endpoint still hears events",
        '            if hook.status == "active" and subscribed(hook.events, event.type):',
        "            if True:",
        (
            f"{WEBHOOKS}::test_an_endpoint_failing_for_three_days_is_switched_off_with_a_reason",
            f"{WEBHOOKS}::test_an_endpoint_hears_only_the_types_it_asked_for",
        ),
    ),
    Mutant(
        "the previous secret signs after its overlap",
        '    return [_secret(s["salt"]) for s in hook.secrets if s.get("until") is None or str(s["until"]) > iso]',
        '    return [_secret(s["salt"]) for s in hook.secrets]',
        (f"{WEBHOOKS}::test_a_rotated_secret_overlaps_then_the_old_one_stops",),
    ),
    Mutant(
        "private and link-local addresses allowed in production",
        "    if not addresses or not all(_public(text) for text in addresses):",
        "    if not addresses:",
        (f"{WEBHOOKS}::test_only_public_https_endpoints_in_production",),
    ),
    Mutant(
        "plain http allowed in production",
        '    if parts.scheme != "https":',
        "    if False:",
        (f"{WEBHOOKS}::test_only_public_https_endpoints_in_production",),
    ),
    Mutant(
        "http to localhost allowed in production",
        '    if parts.scheme == "http" and not production and host in _LOCAL_HOSTS:',
        '    if parts.scheme == "http" and host in _LOCAL_HOSTS:',
        (f"{WEBHOOKS}::test_only_public_https_endpoints_in_production",),
    ),
    Mutant(
        "an endpoint's URL not checked when it is registered",
        "    reason = webhook_http.refusal(body.url, outbound.production())\n    if reason is not None:",
        "    reason = webhook_http.refusal(body.url, outbound.production())\n    if False:",
        (f"{WEBHOOKS}::test_a_webhook_to_plain_http_elsewhere_is_refused",),
    ),
    Mutant(
        "a receiver's whole answer kept",
        '        excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]',
        '        excerpt = response.read().decode("utf-8", "replace")',
        (f"{WEBHOOKS}::test_a_receiver_failing_three_times_gets_the_event_once",),
    ),
    Mutant(
        "no cap on a partner's endpoints",
        "        if counted[0] >= MAX_WEBHOOKS:",
        "        if False:",
        (f"{WEBHOOKS}::test_a_partner_has_at_most_ten_endpoints",),
    ),
    Mutant(
        "a deleted endpoint still managed",
        '    if hook is None or hook.status == "deleted":\n'
        '        raise NotFound(f"No webhook {webhook_id}.")\n    return hook',
        '    if hook is None:\n        raise NotFound(f"No webhook {webhook_id}.")\n    return hook',
        (f"{WEBHOOKS}::test_a_deleted_endpoint_is_gone",),
    ),
    Mutant(
        "a switched-off endpoint told to every staff member, not the owners",
        '        if member.role == "owner" and member.contact_kind in ("phone", "email"):',
        '        if member.contact_kind in ("phone", "email"):',
        (f"{WEBHOOKS}::test_an_endpoint_failing_for_three_days_is_switched_off_with_a_reason",),
    ),
    Mutant(
        "the owners not told of a switched-off endpoint",
        "    for member in staff_db.list_members(partner_id):",
        "    for member in []:",
        (f"{WEBHOOKS}::test_an_endpoint_failing_for_three_days_is_switched_off_with_a_reason",),
    ),
    Mutant(
        "the portal's webhook pages open to every role",
        '    **dict.fromkeys(("webhooks", "create_webhook", "webhook", "rotate_webhook", "delete_webhook"), OWNERS),',
        '    **dict.fromkeys(("webhooks", "create_webhook", "webhook", "rotate_webhook", "delete_webhook"), EVERYONE),',
        (f"{PORTAL}::test_other_roles_are_kept_out",),
    ),
    Mutant(
        "the portal's Resend sent again on the same press",
        "    webhooks.resend_once(write, session.partner_id, webhook_id, delivery_id, r.call.now)",
        "    webhooks.resend(session.partner_id, webhook_id, delivery_id, r.call.now)",
        (f"{PORTAL}::test_the_owner_registers_sees_a_delivery_and_resends_it",),
    ),
    Mutant(
        "the portal deletes an endpoint without asking",
        '    if r.form.get("confirmed") != "yes":  # no way back: first the question, then its own form does it',
        "    if False:",
        (f"{PORTAL}::test_rotate_shows_the_new_secret_once_and_delete_asks_first",),
    ),
)
