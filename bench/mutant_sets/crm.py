"""Mutants of the Bitrix24 and amoCRM connectors' guards: the webhook's token or URL secret, the order id that binds
a deal, the exact amount, the wait of a change until the CRM took it, the rotated OAuth token written under a
condition, and the connection's secrets kept out of answers."""

from __future__ import annotations

from bench.mutant_sets import Mutant

_T = "tests/test_bitrix24.py::"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "the deal webhook's application_token not checked",
        "    if not signing.verify(given, expected) or conn is None:",
        "    if conn is None:",
        (_T + "test_a_forged_token_is_refused_and_nothing_happens",),
    ),
    Mutant(
        "another partner's connection answers a partner's events URL",
        "    conn = crm_db.get(partner_id)\n    given",
        "    conn = next(iter(crm_db.connections()), None)\n    given",
        (_T + "test_another_partners_events_url_cannot_accrue_for_this_partner",),
    ),
    Mutant(
        "a won deal's order id not bound to the deal",
        '    return f"b24-deal-{deal_id}"',
        '    return f"b24-deal-{deal_id}-{os.urandom(3).hex()}"',
        (_T + "test_a_won_deal_sent_twice_accrues_once_and_the_contact_field_follows",),
    ),
    Mutant(
        "a fraction of a kopeck rounded away",
        "    if not value.is_finite() or value != value.to_integral_value() or value <= 0 or value > MAX_AMOUNT_MINOR:",
        "    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT_MINOR:",
        (_T + "test_a_deal_amount_in_roubles_becomes_exact_kopecks",),
    ),
    Mutant(
        "a change stops waiting though the portal refused it",
        "        except Bitrix24Error as exc:  # throttled, silent or refusing: the changes wait, the others go on",
        "        except Bitrix24Error as exc:  # throttled, silent or refusing: the changes wait, the others go on\n"
        "            crm_db.done(conn.partner_id, crm_db.pending(conn.partner_id, PENDING_PER_PASS), 0)",
        (_T + "test_a_throttled_portal_is_tried_again_and_the_field_ends_right",),
    ),
    Mutant(
        "a change waits again when its event is dispatched after it was sent",
        '    tx.check(CrmSentItem, f"CRMSENT#{partner_id}", change.event_id, CrmSentItem.pk.does_not_exist(), tag="sent")',  # noqa: E501
        "    pass",
        (_T + "test_an_event_dispatched_twice_comments_once",),
    ),
    Mutant(
        "the balance sent is the event's, not the latest",
        "    balance = customers.balance(customer_id, now)  # read now: whatever changed since the event, the latest wins",  # noqa: E501
        '    balance = customers.balance(customer_id, now).model_copy(update={"available": 1})',
        (_T + "test_a_throttled_portal_is_tried_again_and_the_field_ends_right",),
    ),
    Mutant(
        "the connection's secrets in its answer",
        "        won_stage=conn.won_stage,\n        language=",
        "        won_stage=conn.won_stage + conn.application_token,\n        language=",
        (_T + "test_the_connection_keeps_its_secrets_and_each_partner_its_own",),
    ),
)
MUTANTS += (
    Mutant(
        "the portal's URL not held to public https in production",
        "    return webhook_http.refusal(url, outbound.production())",
        "    return None",
        (_T + "test_only_a_public_https_portal_in_production",),
    ),
)
MUTANTS += (
    Mutant(
        "a change whose contact is gone counted as sent",
        "        taken = [c for c in waiting if start <= last.get(c.event_id, -1) < end "
        "and c.customer_id not in refused]",
        "        taken = [c for c in waiting if start <= last.get(c.event_id, -1) < end]",
        (_T + "test_a_contact_deleted_in_the_crm_is_created_again",),
    ),
    Mutant(
        "a change counted done before the batch holding its last command went through",
        "        end = start + len(chunk)",
        "        end = len(commands)",
        (
            "tests/test_events_out_faults.py::"
            "test_a_batch_throttled_after_an_earlier_one_went_through_adds_no_comment_twice",
        ),
    ),
)

_A = "tests/test_amocrm.py::"
MUTANTS += (
    Mutant(
        "amoCRM's webhook URL secret not checked",
        "    if not signing.verify(secret, expected) or conn is None:",
        "    if conn is None:",
        (_A + "test_a_wrong_secret_in_the_url_is_refused_and_nothing_happens",),
    ),
    Mutant(
        "another partner's amoCRM connection answers a partner's webhook URL",
        "    conn = amo_db.get(partner_id)\n    expected",
        "    conn = next(iter(amo_db.connections()), None)\n    expected",
        (_A + "test_another_partners_url_cannot_accrue_for_this_partner",),
    ),
    Mutant(
        "a won lead's order id not bound to the lead",
        '    return f"amo-lead-{lead_id}"',
        '    return f"amo-lead-{lead_id}-{secrets.token_hex(3)}"',
        (_A + "test_a_won_lead_sent_twice_accrues_once_and_the_contact_field_follows",),
    ),
    Mutant(
        "the webhook's status trusted instead of the lead re-read",
        '        status = lead.get("status_id")',
        '        status = int(form.get("leads[status][0][status_id]", "0"))',
        (_A + "test_the_events_status_is_not_trusted_the_lead_is_re_read",),
    ),
    Mutant(
        "a rotated refresh token written over another instance's",
        '    tx.put(_item(new), condition=AmoConnectionItem.version == conn.version, tag="tokens")',
        '    tx.put(_item(new), tag="tokens")',
        (_A + "test_a_refresh_lost_to_another_instance_uses_the_winners_tokens",),
    ),
    Mutant(
        "a 401 not refreshed and tried again",
        "        except amocrm.Expired:",
        "        except amocrm.Retryable:",
        (_A + "test_an_expired_token_is_refreshed_once_and_the_rotated_refresh_token_kept",),
    ),
    Mutant(
        "an amoCRM change stops waiting though amoCRM throttled it",
        "        except amocrm.AmoError:  # throttled (429), silent, refusing or disconnected: the changes wait",
        "        except amocrm.AmoError:  # throttled (429), silent, refusing or disconnected: the changes wait\n"
        "            crm_db.done(conn.partner_id, crm_db.pending(conn.partner_id, 100, amo_db.AMOCRM), 0, amo_db.AMOCRM)",  # noqa: E501
        (_A + "test_a_throttled_account_is_tried_again_and_the_field_ends_right",),
    ),
    Mutant(
        "the amoCRM webhook secret shown after connecting",
        '        events_path=f"/v1/integrations/amocrm/events/{conn.partner_id}/{secret}",',
        '        events_path=f"/v1/integrations/amocrm/events/{conn.partner_id}/{conn.webhook_secret}",',
        (_A + "test_the_connection_keeps_its_secrets",),
    ),
    Mutant(
        "the amoCRM account not held to public https in production",
        "    return webhook_http.refusal(_base(subdomain), outbound.production())",
        "    return None",
        (_A + "test_only_a_public_https_account_in_production",),
    ),
)
MUTANTS += (
    Mutant(
        "an amoCRM contact refused by PATCH kept (its changes wait forever)",
        "            crm_db.forget_contact(partner_id, c, amo_db.AMOCRM)",
        "            pass",
        (_A + "test_a_contact_deleted_in_amocrm_is_created_again",),
    ),
)

_S = "tests/test_crm_subscribers.py::"
_P = "tests/test_portal_integrations.py::"
_W = "tests/test_faults_wire.py::test_a_fault_at_the_wire_has_one_effect_and_the_fault_free_answer"
MUTANTS += (
    Mutant(
        "an enrolment not told to the partner's CRM",
        "            if crm_db.any_connected(found, partner_id, crms):  # in the enrolment's own transaction",
        "            if False:",
        (_S + "test_an_enrolled_customer_becomes_a_bitrix24_contact_before_any_purchase",),
    ),
    Mutant(
        "an enrolment told to the partner's webhook endpoints too",
        "INTERNAL_EVENTS = frozenset({MESSAGE_REQUESTED, CUSTOMER_ENROLLED})",
        "INTERNAL_EVENTS = frozenset({MESSAGE_REQUESTED})",
        (_S + "test_an_enrolled_customer_becomes_a_bitrix24_contact_before_any_purchase",),
    ),
    Mutant(
        "a partner's change queued for another partner's CRMs",
        "        for crm in sorted(self._connected.get(event.partner_id, ()))",
        "        for crm in sorted(set().union(*self._connected.values()))",
        (_S + "test_a_hundred_events_read_the_crm_connections_once",),
    ),
    Mutant(
        "the timeline comments always in Russian",
        '    return TEXTS["en" if language == "en" else "ru"][name].format(points=points) if name is not None else None',  # noqa: E501
        '    return TEXTS["ru"][name].format(points=points) if name is not None else None',
        (_T + "test_the_timeline_comments_speak_the_language_chosen_when_connecting",),
    ),
    Mutant(
        "a dead refresh token taken for a passing failure (the connection never broken)",
        '        raise Revoked(f"OAuth HTTP {status}")',
        '        raise AmoError(f"OAuth HTTP {status}")',
        (_A + "test_a_dead_refresh_token_breaks_the_connection_tells_the_owner_and_stops_calling",),
    ),
    Mutant(
        "a broken amoCRM connection still called",
        "        if self.conn.broken_reason is not None:  # only the partner connecting again mends it: amoCRM is not called",  # noqa: E501
        "        if False:",
        (_A + "test_a_dead_refresh_token_breaks_the_connection_tells_the_owner_and_stops_calling",),
    ),
    Mutant(
        "a connection marked broken twice (the owners told twice)",
        "    condition &= AmoConnectionItem.broken_reason.does_not_exist()",
        "    pass",
        (_A + "test_a_connection_is_marked_broken_once_and_never_over_a_reconnect",),
    ),
    Mutant(
        "a reconnected amoCRM marked broken by a pass that read the old connection",
        "    condition = (AmoConnectionItem.version == conn.version) & (AmoConnectionItem.created_at == conn.created_at)",  # noqa: E501
        "    condition = AmoConnectionItem.version == conn.version",
        (_A + "test_a_connection_is_marked_broken_once_and_never_over_a_reconnect",),
    ),
    Mutant(
        "a chunk refused for one contact forgets all of them",
        "        if len(chunk) == 1:\n            return chunk, []",
        "        return chunk, []",
        (_A + "test_a_chunk_refused_for_one_deleted_contact_still_writes_the_others",),
    ),
    Mutant(
        "amoCRM's one-time code exchanged again by each attempt of the request",
        "        if not exchanged:",
        "        if True:",
        (f"{_W}[connect_amocrm-conflicts, then through, key]",),
    ),
    Mutant(
        "the amoCRM webhook secret shown is not the one stored",
        "        return body.replace(SECRET_PLACEHOLDER, _webhook_secret(seed, partner_id))",
        '        return body.replace(SECRET_PLACEHOLDER, _webhook_secret(seed + "x", partner_id))',
        (_P + "test_the_owner_connects_amocrm_sees_the_url_once_and_the_broken_state",),
    ),
    Mutant(
        "the CRM page open to every role",
        '    **dict.fromkeys(("integrations", "connect_bitrix24", "connect_amocrm", "disconnect_crm"), OWNERS),',
        '    **dict.fromkeys(("integrations", "connect_bitrix24", "connect_amocrm", "disconnect_crm"), EVERYONE),',
        (_P + "test_other_roles_and_partners_are_kept_out_and_a_form_needs_its_token",),
    ),
    Mutant(
        "a Bitrix24 pass's failure not shown to the partner",
        "            crm_db.note_error(conn.partner_id, exc.code[:60], now.isoformat())  # the portal page shows it",
        "            pass",
        (_P + "test_the_owner_connects_bitrix24_sees_its_last_error_and_disconnects",),
    ),
    Mutant(
        "a Bitrix24 error shown after a pass went through",
        "        if took and conn.last_error is not None:",
        "        if False:",
        (_P + "test_the_owner_connects_bitrix24_sees_its_last_error_and_disconnects",),
    ),
    Mutant(
        "the Bitrix24 portal called by name after its check (DNS rebinding)",
        "        conn = outbound.connection(url, outbound.production(), TIMEOUT_SECONDS)\n"
        "    except outbound.Refused:  # the services check first (crm_sync)",
        "        conn = outbound.connection(url, False, TIMEOUT_SECONDS)\n"
        "    except outbound.Refused:  # the services check first (crm_sync)",
        (_T + "test_the_portal_is_called_at_the_address_its_check_vetted",),
    ),
    Mutant(
        "the amoCRM account called by name after its check (DNS rebinding)",
        "        conn = outbound.connection(url, outbound.production(), TIMEOUT_SECONDS)\n"
        "    except outbound.Refused:  # the services check first (amo_sync)",
        "        conn = outbound.connection(url, False, TIMEOUT_SECONDS)\n"
        "    except outbound.Refused:  # the services check first (amo_sync)",
        (_A + "test_the_account_is_called_at_the_address_its_check_vetted",),
    ),
    Mutant(
        "an outbound call connects by name, not to the vetted address",
        "        return socket.create_connection((self.address or self.host, self.port), self.timeout)",
        "        return socket.create_connection((self.host, self.port), self.timeout)",
        (
            _T + "test_the_portal_is_called_at_the_address_its_check_vetted",
            _A + "test_the_account_is_called_at_the_address_its_check_vetted",
            "tests/test_webhooks.py::test_a_delivery_connects_to_the_address_its_check_vetted",
        ),
    ),
    Mutant(
        "a CRM amount past the API's limit taken",
        "    if not value.is_finite() or value != value.to_integral_value() or value <= 0 or value > MAX_AMOUNT_MINOR:",
        "    if not value.is_finite() or value != value.to_integral_value() or value <= 0:",
        ("tests/test_events_out_faults.py::test_a_crm_amount_is_taken_up_to_the_apis_own_limit_and_never_past_it",),
    ),
    Mutant(
        "a CRM accrual past the API's limit enrols the customer",
        "    if not isinstance(phone, str) or not 1 <= amount <= MAX_AMOUNT_MINOR:",
        "    if not isinstance(phone, str):",
        ("tests/test_events_out_faults.py::test_an_accrual_from_a_crm_of_an_amount_past_the_limit_enrols_nobody",),
    ),
    Mutant(
        "a portal's batch answer of another shape read as one",
        "        if not isinstance(result, dict):  # the portal's address is the partner's: any JSON may come back",
        "        if False:",
        (
            "tests/test_events_out_faults.py::test_a_portals_batch_answer_that_is_not_an_object_is_a_retryable_bad_answer",
        ),
    ),
    Mutant(
        "one partner's unforeseen Bitrix24 error ends every partner's pass",
        "        except Exception:  # an answer of a shape nobody foresaw: "
        "this partner's changes wait, no other partner's\n"
        '            log.exception("Bitrix24 pass of %s failed", conn.partner_id)',
        '        except Bitrix24Error:\n            log.exception("Bitrix24 pass of %s failed", conn.partner_id)',
        (
            "tests/test_events_out_faults.py::"
            "test_an_error_nobody_foresaw_in_one_partners_crm_pass_lets_every_other_partners_run",
        ),
    ),
    Mutant(
        "one partner's unforeseen amoCRM error ends every partner's pass",
        "        except Exception:  # an answer of a shape nobody foresaw: "
        "this partner's changes wait, no other partner's\n"
        '            log.exception("amoCRM pass of %s failed", conn.partner_id)',
        '        except amocrm.AmoError:\n            log.exception("amoCRM pass of %s failed", conn.partner_id)',
        (
            "tests/test_events_out_faults.py::"
            "test_an_error_nobody_foresaw_in_one_partners_crm_pass_lets_every_other_partners_run",
        ),
    ),
    Mutant(
        "a resent old delivery's three days counted from its creation",
        "    later = None if sent.ok else next_attempt(d.retry_from or d.created_at, claimed.attempts, now)",
        "    later = None if sent.ok else next_attempt(d.created_at, claimed.attempts, now)",
        (
            "tests/test_events_out_faults.py::"
            "test_a_resend_of_a_week_old_delivery_that_fails_once_does_not_switch_the_endpoint_off",
        ),
    ),
)
