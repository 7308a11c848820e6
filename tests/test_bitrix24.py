"""Bitrix24 both ways, against a local portal (tests/crm_standins.py): a won deal earns once however often Bitrix24
tells us, the contact's loyalty fields follow every balance change within one dispatcher pass, a throttled or silent
portal is tried again, and only the connected portal's token moves anything."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.db import outbox as outbox_db
from chalicelib.integrations import bitrix24 as b24
from chalicelib.services import crm_sync, dispatcher
from tests.conftest import table_snapshot
from tests.test_api_ledger import accrue, enrol, redeem

APP_TOKEN = "b24apptoken0123456789"
PHONE = "+79161234501"


@pytest.fixture(autouse=True)
def _real_http():
    crm_sync.set_transport(b24.http_transport)


def _connect(client, portal, token=APP_TOKEN):
    r = client.call("PUT", "/v1/integrations/bitrix24", {"webhook_url": portal.webhook_url, "application_token": token})
    assert r.status == 200, r.json
    return r.json


def _deal_event(api, partner_id, deal_id, token=APP_TOKEN):
    form = {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": deal_id, "auth[application_token]": token}
    return api.call(
        "POST",
        f"/v1/integrations/bitrix24/events/{partner_id}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
        raw=urlencode(form),
    )


def _balance(client, cid) -> int:
    return int(client.get(f"/v1/customers/{cid}/balance")["available"])


def test_a_won_deal_sent_twice_accrues_once_and_the_contact_field_follows(coalition, bitrix24, clock):
    _connect(coalition.cafe, bitrix24)
    deal = bitrix24.add_deal("WON", "1500.50", PHONE)
    first = _deal_event(coalition.operator, coalition.ids["cafe"], deal)
    again = _deal_event(coalition.operator, coalition.ids["cafe"], deal)
    assert (first.status, first["outcome"]) == (200, "accrued")
    assert again.status == 200
    cid = enrol(coalition.cafe, phone=PHONE)
    earned = _balance(coalition.cafe, cid)
    assert earned > 0
    tx = coalition.cafe.get(f"/v1/customers/{cid}/transactions")["items"]
    assert [(t["type"], t["order_id"], t["amount_minor"]) for t in tx] == [("accrual", f"b24-deal-{deal}", 150050)]

    dispatcher.poll(clock.now())
    contact = bitrix24.contact_by_phone(PHONE)
    assert contact is not None and contact["UF_CRM_LOYALTY_BALANCE"] == str(earned)
    assert [c["COMMENT"] for c in bitrix24.comments] == [f"Начислено баллов: {earned}"]

    # every later change reaches the field within one pass, a redemption with its comment
    assert redeem(coalition.cafe, cid, "R-1", 10_000, 10).status == 201
    dispatcher.poll(clock.now())
    assert bitrix24.contact_by_phone(PHONE)["UF_CRM_LOYALTY_BALANCE"] == str(earned - 10)
    assert len(bitrix24.comments) == 2
    dispatcher.poll(clock.now())  # nothing waits: nothing is sent again
    assert len(bitrix24.comments) == 2


def test_a_deal_moved_from_won_to_lost_is_refunded_once(coalition, bitrix24, clock):
    _connect(coalition.cafe, bitrix24)
    deal = bitrix24.add_deal("WON", "1000", PHONE)
    assert _deal_event(coalition.operator, coalition.ids["cafe"], deal)["outcome"] == "accrued"
    bitrix24.deals[deal]["STAGE_ID"] = "LOSE"
    assert _deal_event(coalition.operator, coalition.ids["cafe"], deal)["outcome"] == "refunded"
    assert _deal_event(coalition.operator, coalition.ids["cafe"], deal)["outcome"] == "ignored"
    cid = enrol(coalition.cafe, phone=PHONE)
    assert _balance(coalition.cafe, cid) == 0


def test_a_throttled_portal_is_tried_again_and_the_field_ends_right(coalition, bitrix24, clock):
    _connect(coalition.cafe, bitrix24)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "T-1", 100_000).status == 201
    bitrix24.throttle_next = 1
    dispatcher.poll(clock.now())
    assert bitrix24.contact_by_phone(PHONE) is None  # refused: it waits
    assert accrue(coalition.cafe, cid, "T-2", 50_000).status == 201
    dispatcher.poll(clock.now())
    contact = bitrix24.contact_by_phone(PHONE)
    assert contact["UF_CRM_LOYALTY_BALANCE"] == str(_balance(coalition.cafe, cid))  # the latest balance
    assert len(bitrix24.comments) == 2  # one per accrual, none twice
    assert len(bitrix24.contacts) == 1


def test_an_event_dispatched_twice_comments_once(coalition, bitrix24, clock):
    """At least once into the dispatcher (a stream batch retried, the poller too): one comment in the CRM."""
    _connect(coalition.cafe, bitrix24)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "D-1", 100_000).status == 201
    events = outbox_db.pending()
    dispatcher.dispatch(events, clock.now())
    dispatcher.dispatch(events, clock.now())
    dispatcher.poll(clock.now())
    dispatcher.dispatch(events, clock.now())  # again after the CRM took it (a stream record retried late)
    dispatcher.poll(clock.now())
    assert len(bitrix24.comments) == 1


def test_a_contact_deleted_in_the_crm_is_created_again(coalition, bitrix24, clock):
    _connect(coalition.cafe, bitrix24)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "G-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    bitrix24.contacts.clear()  # someone deleted the contact in Bitrix24
    assert accrue(coalition.cafe, cid, "G-2", 100_000).status == 201
    dispatcher.poll(clock.now())  # the update is refused: the change waits, the contact is forgotten
    dispatcher.poll(clock.now())
    contact = bitrix24.contact_by_phone(PHONE)
    assert contact is not None and contact["UF_CRM_LOYALTY_BALANCE"] == str(_balance(coalition.cafe, cid))


def test_a_portal_that_does_not_answer_is_tried_again(coalition, bitrix24, clock, monkeypatch):
    monkeypatch.setattr(b24, "TIMEOUT_SECONDS", 0.2)
    bitrix24.stall_seconds = 0.6
    _connect(coalition.cafe, bitrix24)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "S-1", 100_000).status == 201
    bitrix24.stall_next = 1
    dispatcher.poll(clock.now())
    assert bitrix24.contact_by_phone(PHONE) is None
    dispatcher.poll(clock.now())
    assert bitrix24.contact_by_phone(PHONE)["UF_CRM_LOYALTY_BALANCE"] == str(_balance(coalition.cafe, cid))


def test_many_customers_go_in_batches_of_fifty(coalition, bitrix24, clock):
    _connect(coalition.cafe, bitrix24)
    for n in range(60):
        cid = enrol(coalition.cafe, phone=f"+791612350{n:02d}")
        assert accrue(coalition.cafe, cid, f"M-{n}", 10_000).status == 201
    dispatcher.poll(clock.now())  # 120 events (an enrolment and an accrual each): the dispatcher takes 100 a pass
    dispatcher.poll(clock.now())
    assert len(bitrix24.contacts) == 60
    assert all(c.get("UF_CRM_LOYALTY_BALANCE") for c in bitrix24.contacts.values())
    assert set(bitrix24.requests) == {"batch"}
    assert len(bitrix24.requests) <= 8  # finds, adds, updates and comments, 50 a request


def test_a_forged_token_is_refused_and_nothing_happens(coalition, bitrix24):
    _connect(coalition.cafe, bitrix24)
    deal = bitrix24.add_deal("WON", "1500", PHONE)
    before = table_snapshot()
    for token in ("forged-token-0000000000", "", APP_TOKEN[:-1]):
        r = _deal_event(coalition.operator, coalition.ids["cafe"], deal, token=token)
        assert r.status == 401, r.json
    assert bitrix24.requests == []  # not even the deal was read
    assert table_snapshot() == before


def test_another_partners_events_url_cannot_accrue_for_this_partner(coalition, bitrix24):
    _connect(coalition.cafe, bitrix24)
    _connect(coalition.store, bitrix24, token="storetoken0123456789")
    deal = bitrix24.add_deal("WON", "1500", PHONE)
    # the cafe's token on the store's URL, and the store's token on an unconnected partner's URL
    assert _deal_event(coalition.operator, coalition.ids["store"], deal).status == 401
    assert _deal_event(coalition.operator, coalition.ids["salon"], deal, token="storetoken0123456789").status == 401
    assert coalition.store.get("/v1/customers/lookup?phone=%2B79161234501").status == 404  # nobody enrolled
    # the store's own event accrues for the store only
    assert _deal_event(coalition.operator, coalition.ids["store"], deal, token="storetoken0123456789").status == 200
    cid = enrol(coalition.store, phone=PHONE)
    tx = coalition.store.get(f"/v1/customers/{cid}/transactions")["items"]
    assert [t["partner_id"] for t in tx] == [coalition.ids["store"]]
    assert coalition.cafe.get(f"/v1/customers/{cid}/transactions")["items"] == []


def test_the_connection_keeps_its_secrets_and_each_partner_its_own(coalition, bitrix24):
    shown = _connect(coalition.cafe, bitrix24)
    assert APP_TOKEN not in str(shown) and "standin0token42" not in str(shown)
    got = coalition.cafe.get("/v1/integrations/bitrix24")
    assert got.status == 200 and APP_TOKEN not in got.raw.decode() and "token42" not in got.raw.decode()
    assert coalition.store.get("/v1/integrations/bitrix24").status == 404
    assert coalition.store.call("DELETE", "/v1/integrations/bitrix24").status == 204
    assert coalition.cafe.get("/v1/integrations/bitrix24").status == 200  # the store's delete was its own
    wrong = {"webhook_url": "https://x.bitrix24.ru/crm/", "application_token": APP_TOKEN}
    bad = coalition.cafe.call("PUT", "/v1/integrations/bitrix24", wrong)
    assert bad.status in (400, 422)


@pytest.mark.parametrize(
    ("text", "minor"), [("1500.50", 150050), ("1500", 150000), ("0.01", 1), ("1.005", None), ("0", None), ("x", None)]
)
def test_a_deal_amount_in_roubles_becomes_exact_kopecks(text, minor):
    assert crm_sync.amount_minor(text) == minor


def test_only_a_public_https_portal_in_production(coalition, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "api")
    for url in ("https://169.254.169.254/rest/1/token/", "https://127.0.0.1/rest/1/token/", "http://x.ru/rest/1/t/"):
        body = {"webhook_url": url, "application_token": APP_TOKEN}
        r = coalition.cafe.call("PUT", "/v1/integrations/bitrix24", body)
        assert r.status == 400, (url, r.json)
    assert coalition.cafe.get("/v1/integrations/bitrix24").status == 404


def test_the_timeline_comments_speak_the_language_chosen_when_connecting(coalition, bitrix24, clock):
    body = {"webhook_url": bitrix24.webhook_url, "application_token": APP_TOKEN, "language": "en"}
    assert coalition.cafe.call("PUT", "/v1/integrations/bitrix24", body)["language"] == "en"
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "EN-1", 100_000).status == 201
    assert redeem(coalition.cafe, cid, "EN-2", 10_000, 10).status == 201
    dispatcher.poll(clock.now())
    earned = _balance(coalition.cafe, cid) + 10
    assert [c["COMMENT"] for c in bitrix24.comments] == [f"Points earned: {earned}", "Points spent: 10"]


def test_the_portal_is_called_at_the_address_its_check_vetted(monkeypatch):
    """DNS rebinding: the portal's name answers a public address to the check before a call, then a private one.
    The call never goes to the private address; when the name still answers public, the call connects to the very
    address its own check vetted (the name resolved once), and TLS still checks the portal's name."""
    from chalicelib import outbound
    from tests.dns_rebinding import PUBLIC, rebinding

    url = "https://shop.bitrix24.ru/rest/1/token/"
    seen = rebinding(monkeypatch, public_answers=1)
    assert outbound.refusal(url, production=True) is None  # the sync's check before each use: public
    with pytest.raises(b24.Retryable):
        b24.http_transport(url, b"fields[NAME]=x")  # the name now answers 127.0.0.1
    assert seen.connected == []

    seen = rebinding(monkeypatch, public_answers=2)
    assert outbound.refusal(url, production=True) is None
    with pytest.raises(b24.Retryable):  # the TLS stub stops at the handshake
        b24.http_transport(url, b"fields[NAME]=x")
    assert seen.connected == [(PUBLIC, 443)] and seen.names == ["shop.bitrix24.ru"]
    assert seen.asked.count("shop.bitrix24.ru") == 2  # the check, and the call's own check: never a third
