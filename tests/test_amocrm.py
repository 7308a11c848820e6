"""amoCRM both ways, against a local account (tests/crm_standins.py): a realised lead earns once however often amoCRM
tells us, the contact's loyalty fields follow within one dispatcher pass, an expired access token is refreshed once
(and the rotated refresh token kept), a throttled account is tried again, and only the connection's secret URL moves
anything."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.db import amo as amo_db
from chalicelib.services import dispatcher
from tests.conftest import inbox, table_snapshot
from tests.crm_standins import AMO_CLIENT_ID, AMO_CLIENT_SECRET, AMO_REDIRECT
from tests.test_api_ledger import accrue, enrol, redeem

PHONE = "+79161234502"


def _connect(client, code="auth-code-0001", refresh_token=None):
    body = {
        "subdomain": "shop",
        "client_id": AMO_CLIENT_ID,
        "client_secret": AMO_CLIENT_SECRET,
        "redirect_uri": AMO_REDIRECT,
    }
    body |= {"refresh_token": refresh_token} if refresh_token else {"code": code}
    r = client.call("PUT", "/v1/integrations/amocrm", body)
    assert r.status == 200, r.json
    return r.json["events_path"]


def _lead_event(api, path, lead_id, status_id=142):
    form = {
        "leads[status][0][id]": str(lead_id),
        "leads[status][0][status_id]": str(status_id),
        "leads[status][0][pipeline_id]": "1",
        "account[subdomain]": "shop",
    }
    return api.call(
        "POST",
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
        raw=urlencode(form),
    )


def _balance(client, cid) -> int:
    return int(client.get(f"/v1/customers/{cid}/balance")["available"])


def _later(clock):
    clock.advance(timedelta(seconds=2))  # past the account's 7-a-second window


def test_a_won_lead_sent_twice_accrues_once_and_the_contact_field_follows(coalition, amocrm, clock):
    path = _connect(coalition.cafe)
    lead = amocrm.add_lead(142, 1500, PHONE)
    first = _lead_event(coalition.operator, path, lead)
    again = _lead_event(coalition.operator, path, lead)
    assert (first.status, first["outcome"]) == (200, "accrued")
    assert again.status == 200
    cid = enrol(coalition.cafe, phone=PHONE)
    earned = _balance(coalition.cafe, cid)
    assert earned > 0
    tx = coalition.cafe.get(f"/v1/customers/{cid}/transactions")["items"]
    assert [(t["type"], t["order_id"], t["amount_minor"]) for t in tx] == [("accrual", f"amo-lead-{lead}", 150000)]

    _later(clock)
    dispatcher.poll(clock.now())
    contact = amocrm.contact_by_phone(PHONE)
    assert amocrm.field(contact, "LOYALTY_BALANCE") == earned
    assert [n["params"]["text"] for n in amocrm.notes] == [f"Начислено баллов: {earned}"]
    assert {n["note_type"] for n in amocrm.notes} == {"common"}

    _later(clock)
    assert redeem(coalition.cafe, cid, "R-1", 10_000, 10).status == 201
    dispatcher.poll(clock.now())
    assert amocrm.field(amocrm.contact_by_phone(PHONE), "LOYALTY_BALANCE") == earned - 10
    assert len(amocrm.notes) == 2
    _later(clock)
    dispatcher.poll(clock.now())  # nothing waits: nothing is sent again
    assert len(amocrm.notes) == 2


def test_a_lead_lost_after_it_was_won_is_refunded_once(coalition, amocrm, clock):
    path = _connect(coalition.cafe)
    lead = amocrm.add_lead(142, 1000, PHONE)
    assert _lead_event(coalition.operator, path, lead)["outcome"] == "accrued"
    amocrm.leads[lead]["status_id"] = 143
    assert _lead_event(coalition.operator, path, lead, 143)["outcome"] == "refunded"
    assert _lead_event(coalition.operator, path, lead, 143)["outcome"] == "ignored"
    assert _balance(coalition.cafe, enrol(coalition.cafe, phone=PHONE)) == 0


def test_the_events_status_is_not_trusted_the_lead_is_re_read(coalition, amocrm):
    path = _connect(coalition.cafe)
    lead = amocrm.add_lead(55, 1000, PHONE)  # still in progress in amoCRM
    assert _lead_event(coalition.operator, path, lead, 142)["outcome"] == "ignored"
    assert coalition.cafe.get("/v1/customers/lookup?phone=%2B79161234502").status == 404


def test_an_expired_token_is_refreshed_once_and_the_rotated_refresh_token_kept(coalition, amocrm, clock):
    path = _connect(coalition.cafe)
    first = amo_db.get(coalition.ids["cafe"])
    lead = amocrm.add_lead(142, 700, PHONE)
    amocrm.expire_access()  # revoked or expired early: amoCRM answers 401
    assert _lead_event(coalition.operator, path, lead)["outcome"] == "accrued"
    assert amocrm.oauth == ["authorization_code", "refresh_token"]  # refreshed once
    stored = amo_db.get(coalition.ids["cafe"])
    assert stored.refresh_token != first.refresh_token and stored.refresh_token in amocrm.refresh
    assert first.refresh_token not in amocrm.refresh  # the old one is dead: losing the new one would disconnect

    # expiry by the clock: refreshed before the call, with the token stored last time
    clock.advance(timedelta(seconds=amocrm.expires_in + 1))
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "E-1", 10_000).status == 201
    dispatcher.poll(clock.now())
    assert amocrm.oauth == ["authorization_code", "refresh_token", "refresh_token"]
    assert amocrm.field(amocrm.contact_by_phone(PHONE), "LOYALTY_BALANCE") == _balance(coalition.cafe, cid)


def test_a_refresh_lost_to_another_instance_uses_the_winners_tokens(coalition, amocrm, clock):
    _connect(coalition.cafe)
    stale = amo_db.get(coalition.ids["cafe"])
    assert amo_db.store_tokens(stale, "access-x", "refresh-x", stale.expires_at) is not None  # the other instance
    assert amo_db.store_tokens(stale, "access-y", "refresh-y", stale.expires_at) is None  # this one loses the race
    assert amo_db.get(coalition.ids["cafe"]).refresh_token == "refresh-x"


def test_a_throttled_account_is_tried_again_and_the_field_ends_right(coalition, amocrm, clock):
    _connect(coalition.cafe)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "T-1", 100_000).status == 201
    amocrm.throttle_next = 1
    dispatcher.poll(clock.now())
    assert amocrm.contact_by_phone(PHONE) is None  # 429: it waits
    assert accrue(coalition.cafe, cid, "T-2", 50_000).status == 201
    _later(clock)
    dispatcher.poll(clock.now())
    assert amocrm.field(amocrm.contact_by_phone(PHONE), "LOYALTY_BALANCE") == _balance(coalition.cafe, cid)
    assert len(amocrm.notes) == 2 and len(amocrm.contacts) == 1


def test_seven_requests_a_second_then_429_and_the_rest_wait(coalition, amocrm, clock):
    _connect(coalition.cafe)
    for n in range(8):  # eight new contacts: more than 7 requests in one second
        cid = enrol(coalition.cafe, phone=f"+7916123460{n}")
        assert accrue(coalition.cafe, cid, f"W-{n}", 10_000).status == 201
    dispatcher.poll(clock.now())
    assert not amocrm.notes  # throttled mid-pass: nothing marked sent
    for _ in range(4):
        _later(clock)
        dispatcher.poll(clock.now())
    assert len(amocrm.contacts) == 8 and len(amocrm.notes) == 8
    assert all(amocrm.field(c, "LOYALTY_BALANCE") for c in amocrm.contacts.values())


@pytest.mark.parametrize("secret", ["wrong-secret-0000000000000000", "", "x"])
def test_a_wrong_secret_in_the_url_is_refused_and_nothing_happens(coalition, amocrm, secret):
    path = _connect(coalition.cafe)
    lead = amocrm.add_lead(142, 1500, PHONE)
    before = table_snapshot()
    r = _lead_event(coalition.operator, path.rsplit("/", 1)[0] + f"/{secret}", lead)
    assert r.status in (401, 404), r.json
    assert amocrm.requests == []  # not even the lead was read
    assert table_snapshot() == before


def test_another_partners_url_cannot_accrue_for_this_partner(coalition, amocrm):
    cafe_path = _connect(coalition.cafe)
    amocrm.codes.add("auth-code-0002")
    store_path = _connect(coalition.store, code="auth-code-0002")
    lead = amocrm.add_lead(142, 1500, PHONE)
    cafe_secret, store_secret = cafe_path.rsplit("/", 1)[1], store_path.rsplit("/", 1)[1]
    assert cafe_secret != store_secret
    for partner, secret in (("store", cafe_secret), ("salon", store_secret)):
        assert (
            _lead_event(
                coalition.operator, f"/v1/integrations/amocrm/events/{coalition.ids[partner]}/{secret}", lead
            ).status
            == 401
        )
    assert coalition.store.get("/v1/customers/lookup?phone=%2B79161234502").status == 404
    assert _lead_event(coalition.operator, store_path, lead)["outcome"] == "accrued"
    cid = enrol(coalition.store, phone=PHONE)
    assert [t["partner_id"] for t in coalition.store.get(f"/v1/customers/{cid}/transactions")["items"]] == [
        coalition.ids["store"]
    ]
    assert coalition.cafe.get(f"/v1/customers/{cid}/transactions")["items"] == []


def test_the_connection_keeps_its_secrets(coalition, amocrm):
    path = _connect(coalition.cafe)
    secret = path.rsplit("/", 1)[1]
    got = coalition.cafe.get("/v1/integrations/amocrm")
    text = got.raw.decode()
    assert got.status == 200 and secret not in text and AMO_CLIENT_SECRET not in text and "refresh-" not in text
    assert "access-" not in text
    assert coalition.store.get("/v1/integrations/amocrm").status == 404
    assert coalition.store.call("DELETE", "/v1/integrations/amocrm").status == 204
    assert coalition.cafe.get("/v1/integrations/amocrm").status == 200
    # a used authorization code is refused: nothing is connected
    assert (
        coalition.store.call(
            "PUT",
            "/v1/integrations/amocrm",
            {
                "subdomain": "shop",
                "client_id": AMO_CLIENT_ID,
                "client_secret": AMO_CLIENT_SECRET,
                "redirect_uri": AMO_REDIRECT,
                "code": "auth-code-0001",
            },
        ).status
        == 400
    )
    assert coalition.store.get("/v1/integrations/amocrm").status == 404


def test_connecting_with_a_refresh_token(coalition, amocrm):
    token = amocrm.issue_refresh()
    _connect(coalition.cafe, refresh_token=token)
    assert amocrm.oauth == ["refresh_token"] and token not in amocrm.refresh


def test_only_a_public_https_account_in_production(coalition, amocrm, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "api")  # the stand-in's http://127.0.0.1 is refused
    body = {"subdomain": "shop", "client_id": AMO_CLIENT_ID, "client_secret": AMO_CLIENT_SECRET}
    r = coalition.cafe.call(
        "PUT", "/v1/integrations/amocrm", body | {"redirect_uri": AMO_REDIRECT, "code": "auth-code-0001"}
    )
    assert r.status == 400, r.json
    assert amocrm.oauth == [] and coalition.cafe.get("/v1/integrations/amocrm").status == 404


def test_a_contact_deleted_in_amocrm_is_created_again(coalition, amocrm, clock):
    _connect(coalition.cafe)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "G-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    amocrm.contacts.clear()  # someone deleted the contact in amoCRM
    assert accrue(coalition.cafe, cid, "G-2", 100_000).status == 201
    _later(clock)
    dispatcher.poll(clock.now())  # the update is refused: the change waits, the contact is forgotten
    _later(clock)
    dispatcher.poll(clock.now())
    contact = amocrm.contact_by_phone(PHONE)
    assert contact is not None and amocrm.field(contact, "LOYALTY_BALANCE") == _balance(coalition.cafe, cid)
    assert len(amocrm.notes) == 2


def test_a_dead_refresh_token_breaks_the_connection_tells_the_owner_and_stops_calling(coalition, amocrm, clock):
    owner = {"phone": "+79161119910", "name": "Владелец", "role": "owner"}
    assert coalition.cafe.post("/v1/staff", owner).status == 201
    cashier = {"phone": "+79161119911", "name": "Кассир", "role": "cashier"}
    assert coalition.cafe.post("/v1/staff", cashier).status == 201
    path = _connect(coalition.cafe)
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "D-1", 100_000).status == 201
    amocrm.refresh.clear()  # the integration was switched off in amoCRM: its refresh token is dead
    clock.advance(timedelta(seconds=amocrm.expires_in + 1))  # the access token expires: a refresh is due
    dispatcher.poll(clock.now())
    got = coalition.cafe.get("/v1/integrations/amocrm").json
    assert got["status"] == "broken" and "refresh token" in got["broken_reason"] and got["broken_at"]
    [notice] = inbox("amocrm_broken")  # the owner is told, once; the cashier is not
    assert notice.to == owner["phone"] and "amoCRM" in notice.text
    asked = amocrm.hits
    for _ in range(3):  # nothing more is asked of amoCRM, nobody is told again
        _later(clock)
        dispatcher.poll(clock.now())
    lead = amocrm.add_lead(142, 500, "+79161234503")
    assert _lead_event(coalition.operator, path, lead).status == 503  # amoCRM sends it again after the reconnect
    assert amocrm.hits == asked and len(inbox("amocrm_broken")) == 1

    # connecting again mends it: what waited is sent
    amocrm.codes.add("auth-code-0002")
    _connect(coalition.cafe, code="auth-code-0002")
    assert coalition.cafe.get("/v1/integrations/amocrm")["status"] == "active"
    dispatcher.poll(clock.now())
    assert amocrm.field(amocrm.contact_by_phone(PHONE), "LOYALTY_BALANCE") == _balance(coalition.cafe, cid)


def test_a_chunk_refused_for_one_deleted_contact_still_writes_the_others(coalition, amocrm, clock):
    phones = [f"+7916123471{n}" for n in range(3)]
    _connect(coalition.cafe)
    cids = [enrol(coalition.cafe, phone=p) for p in phones]
    for n, cid in enumerate(cids):
        assert accrue(coalition.cafe, cid, f"K-{n}", 100_000).status == 201
    dispatcher.poll(clock.now())
    _later(clock)
    dispatcher.poll(clock.now())
    assert len(amocrm.contacts) == 3 and len(amocrm.notes) == 3
    deleted = amocrm.contact_by_phone(phones[1])
    del amocrm.contacts[deleted["id"]]  # someone deleted one contact: amoCRM refuses the whole chunk with 400
    for n, cid in enumerate(cids):
        assert accrue(coalition.cafe, cid, f"L-{n}", 200_000).status == 201
    _later(clock)
    dispatcher.poll(clock.now())
    for phone, cid in ((phones[0], cids[0]), (phones[2], cids[2])):  # the neighbours are written in this pass
        assert amocrm.field(amocrm.contact_by_phone(phone), "LOYALTY_BALANCE") == _balance(coalition.cafe, cid)
    assert len(amocrm.notes) == 5
    _later(clock)
    dispatcher.poll(clock.now())  # the deleted one is created again, and its change is not lost
    assert amocrm.field(amocrm.contact_by_phone(phones[1]), "LOYALTY_BALANCE") == _balance(coalition.cafe, cids[1])
    assert len(amocrm.notes) == 6 and len(amocrm.contacts) == 3


def test_the_notes_speak_the_language_chosen_when_connecting(coalition, amocrm, clock):
    body = {"subdomain": "shop", "client_id": AMO_CLIENT_ID, "client_secret": AMO_CLIENT_SECRET}
    body |= {"redirect_uri": AMO_REDIRECT, "code": "auth-code-0001", "language": "en"}
    assert coalition.cafe.call("PUT", "/v1/integrations/amocrm", body).status == 200
    assert coalition.cafe.get("/v1/integrations/amocrm")["language"] == "en"
    cid = enrol(coalition.cafe, phone=PHONE)
    assert accrue(coalition.cafe, cid, "EN-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    assert [n["params"]["text"] for n in amocrm.notes] == [f"Points earned: {_balance(coalition.cafe, cid)}"]


def test_a_connection_is_marked_broken_once_and_never_over_a_reconnect(coalition, amocrm, clock):
    _connect(coalition.cafe)
    read = amo_db.get(coalition.ids["cafe"])
    assert amo_db.break_off(read, "refused", clock.now().isoformat()) is True
    assert amo_db.break_off(read, "refused", clock.now().isoformat()) is False  # a pass at once: told once
    clock.advance(timedelta(minutes=1))
    amocrm.codes.add("auth-code-0002")
    _connect(coalition.cafe, code="auth-code-0002")
    assert amo_db.break_off(read, "refused", clock.now().isoformat()) is False  # read before the reconnect
    assert amo_db.get(coalition.ids["cafe"]).broken_reason is None


def test_the_account_is_called_at_the_address_its_check_vetted(monkeypatch):
    """DNS rebinding, as for the partners' webhooks: the account's name answers a public address to the check,
    then a private one; the call never goes to the private address, and otherwise connects to the address its own
    check vetted with TLS checking the account's name."""
    from chalicelib import outbound
    from chalicelib.integrations import amocrm as amo
    from tests.dns_rebinding import PUBLIC, rebinding

    url = "https://shop.amocrm.ru/api/v4/contacts"
    seen = rebinding(monkeypatch, public_answers=1)
    assert outbound.refusal("https://shop.amocrm.ru", production=True) is None  # the sync's check: public
    with pytest.raises(amo.Retryable):
        amo.http_transport("GET", url, {}, None)  # the name now answers 127.0.0.1
    assert seen.connected == []

    seen = rebinding(monkeypatch, public_answers=2)
    assert outbound.refusal("https://shop.amocrm.ru", production=True) is None
    with pytest.raises(amo.Retryable):  # the TLS stub stops at the handshake
        amo.http_transport("GET", url, {}, None)
    assert seen.connected == [(PUBLIC, 443)] and seen.names == ["shop.amocrm.ru"]
    assert seen.asked.count("shop.amocrm.ru") == 2
