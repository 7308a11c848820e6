"""Events out when a partner's CRM or endpoint misbehaves: one partner's portal answering JSON of another shape
stops no other partner's sync; a batch or a notes request throttled after earlier ones went through adds nothing
twice; a resent old delivery gets its own three days; a won deal of an amount beyond any till is ignored, not a
500 the CRM retries forever."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.db import outbox as outbox_db
from chalicelib.integrations import bitrix24 as b24
from chalicelib.services import crm_sync, dispatcher
from tests.test_api_ledger import accrue, enrol

APP_TOKEN = "b24apptoken0123456789"
HOSTILE = "http://localhost:9/rest/1/hostile/"  # another partner's "portal": any server the partner names


@pytest.fixture(autouse=True)
def _real_http():
    crm_sync.set_transport(b24.http_transport)
    yield
    crm_sync.set_transport(b24.http_transport)


def _connect(client, url, token=APP_TOKEN):
    r = client.call("PUT", "/v1/integrations/bitrix24", {"webhook_url": url, "application_token": token})
    assert r.status == 200, r.json
    return r.json


@pytest.mark.parametrize("answer", [b'{"result": []}', b'{"result": true}', b'{"result": {"result": []}}'])
def test_one_partners_portal_answering_odd_json_stops_no_other_partners_sync(coalition, bitrix24, clock, answer):
    """The café's portal (an address the café chose) answers batch with valid JSON of another shape; the store's
    contacts must still follow its customers, and the rest of the pass must still run."""

    def transport(url: str, body: bytes) -> tuple[int, bytes]:
        if url.startswith(HOSTILE):
            return 200, answer
        return b24.http_transport(url, body)

    crm_sync.set_transport(transport)
    _connect(coalition.cafe, HOSTILE)
    _connect(coalition.store, bitrix24.webhook_url)
    cafe_customer = enrol(coalition.cafe, phone="+79161230001")
    assert accrue(coalition.cafe, cafe_customer, "C-1", 100_000).status == 201
    store_customer = enrol(coalition.store, phone="+79161230002")
    assert accrue(coalition.store, store_customer, "S-1", 100_000).status == 201
    try:
        dispatcher.poll(clock.now())
    except Exception as exc:  # noqa: BLE001 - the defect: the whole pass dies
        pytest.fail(f"the dispatcher's pass died on the café's portal's answer: {exc!r}")
    assert bitrix24.contact_by_phone("+79161230002") is not None


def test_a_batch_throttled_after_an_earlier_one_went_through_adds_no_comment_twice(coalition, bitrix24, clock):
    """docs/integrations.md: "When your portal answers QUERY_LIMIT_EXCEEDED ... the changes wait for the next pass;
    nothing is lost, and a timeline comment is added once per accrual or redemption". 30 customers' accruals make
    60 commands, two batches; the second is throttled."""
    throttled: list[int] = []

    def transport(url: str, body: bytes) -> tuple[int, bytes]:
        if url.endswith("/batch.json") and b"crm.timeline.comment.add" in body:
            throttled.append(1)
            if len(throttled) == 2:  # the second batch of updates and comments, once
                return 503, b'{"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}'
        return b24.http_transport(url, body)

    crm_sync.set_transport(transport)
    _connect(coalition.cafe, bitrix24.webhook_url)
    for n in range(30):
        cid = enrol(coalition.cafe, phone=f"+791612310{n:02d}")
        assert accrue(coalition.cafe, cid, f"K-{n}", 100_000).status == 201
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())
    assert len(bitrix24.comments) == 30, f"{len(bitrix24.comments)} comments for 30 accruals"


def test_amo_notes_throttled_after_an_earlier_chunk_went_through_are_not_added_twice(coalition, amocrm, clock):
    """docs/integrations.md (amoCRM): "on 429, a 5xx or no answer within 10 s the changes wait for the next pass,
    and a note is added once". 60 accruals make two POST /api/v4/contacts/notes of 50 and 10; the second is 429."""
    from chalicelib.integrations import amocrm as amo_client
    from chalicelib.services import amo_sync
    from tests.crm_standins import AMO_CLIENT_ID, AMO_CLIENT_SECRET, AMO_REDIRECT

    amocrm.per_second = 10**6  # the account's own window aside: only the one 429 below
    posts: list[int] = []
    armed: list[int] = []

    def transport(method, url, headers, body):
        if method == "POST" and url.endswith("/api/v4/contacts/notes") and armed:
            posts.append(1)
            if len(posts) == 2:
                return 429, b'{"title": "Too Many Requests", "status": 429}'
        return amo_client.http_transport(method, url, headers, body)

    amo_sync.set_transport(transport, lambda _sub: amocrm.url)
    body = {"subdomain": "shop", "client_id": AMO_CLIENT_ID, "client_secret": AMO_CLIENT_SECRET}
    body |= {"redirect_uri": AMO_REDIRECT, "code": "auth-code-0001"}
    assert coalition.cafe.call("PUT", "/v1/integrations/amocrm", body).status == 200
    for n in range(60):
        cid = enrol(coalition.cafe, phone=f"+791612320{n:02d}")
        assert accrue(coalition.cafe, cid, f"N-{n}", 100_000).status == 201
    while events := outbox_db.pending(100):  # every change waits for the CRM before its pass
        dispatcher.dispatch(events, clock.now(), attempt_now=False)
    armed.append(1)
    for _ in range(3):
        dispatcher.poll(clock.now())
    assert len(posts) >= 2, posts
    assert len(amocrm.notes) == 60, f"{len(amocrm.notes)} notes for 60 accruals"


pytest_plugins = ("tests.webhook_receiver",)


def test_a_resend_of_a_week_old_delivery_that_fails_once_does_not_switch_the_endpoint_off(coalition, receiver, clock):
    """The docs: "after three days without success the endpoint is switched off". A partner who resends a
    week-old (delivered) event and whose endpoint answers one 500 has not been failing for three days."""
    from datetime import timedelta

    hook = _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161239001")
    assert accrue(coalition.cafe, cid, "OLD-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert delivery["status"] == "delivered"
    clock.advance(timedelta(days=7))
    path = f"/v1/webhooks/{hook['webhook_id']}/deliveries/{delivery['delivery_id']}/resend"
    assert coalition.cafe.post(path).status == 202
    receiver.script = [500]  # one hiccup
    dispatcher.poll(clock.now())
    [listed] = coalition.cafe.get("/v1/webhooks")["items"]
    assert listed["status"] == "active", listed
    clock.advance(timedelta(minutes=5))
    dispatcher.poll(clock.now())
    assert [r.status for r in receiver.got] == [200, 500, 200]


def _register(client, url, events=("*",)):
    made = client.post("/v1/webhooks", {"url": url, "events": list(events)})
    assert made.status == 201, made.json
    return made.json


@pytest.mark.parametrize("opportunity", ["1e30", "100000000001"])
def test_a_won_deal_of_an_amount_beyond_any_till_is_ignored_not_a_500(coalition, bitrix24, opportunity):
    """A deal amount over the API's own limit (MAX_AMOUNT_MINOR, 100 billion roubles): Bitrix24 would get a 500 and
    send the event again forever; nothing can ever accrue for it."""
    from urllib.parse import urlencode

    _connect(coalition.cafe, bitrix24.webhook_url)
    deal = bitrix24.add_deal("WON", opportunity, "+79161239101")
    form = {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": deal, "auth[application_token]": APP_TOKEN}
    r = coalition.operator.call(
        "POST",
        f"/v1/integrations/bitrix24/events/{coalition.ids['cafe']}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
        raw=urlencode(form),
    )
    assert r.status == 200, (r.status, r.json)
    assert r["outcome"] == "ignored"
    assert coalition.cafe.get("/v1/customers/lookup?phone=%2B79161239101").status == 404  # nothing changed


def test_a_portals_batch_answer_that_is_not_an_object_is_a_retryable_bad_answer():
    """The check in the client itself (the pass's own guard, below, catches what no check foresaw)."""
    client = b24.Bitrix24(HOSTILE, lambda url, body: (200, b'{"result": true}'))
    with pytest.raises(b24.Retryable) as raised:
        client.batch({"u_1": ("crm.contact.update", {"id": 1})})
    assert raised.value.code == "BAD_ANSWER"


@pytest.mark.parametrize("module", ["crm_sync", "amo_sync"])
def test_an_error_nobody_foresaw_in_one_partners_crm_pass_lets_every_other_partners_run(module, monkeypatch):
    """Whatever one partner's pass raises, the next partner's runs (each CRM's pass, its own loop)."""
    from types import SimpleNamespace

    from chalicelib.services import amo_sync

    sync = crm_sync if module == "crm_sync" else amo_sync
    partners = [SimpleNamespace(partner_id=p, last_error=None, broken_reason=None) for p in ("ptn_a", "ptn_b")]
    db_module = "chalicelib.services.crm_sync.crm_db" if module == "crm_sync" else "chalicelib.services.amo_sync.amo_db"
    monkeypatch.setattr(f"{db_module}.connections", lambda: partners)
    monkeypatch.setattr("chalicelib.services.crm_sync.crm_db.note_error", lambda *_: None)
    ran: list[str] = []

    def one_pass(conn_or_session, _now):
        partner_id = getattr(conn_or_session, "partner_id", None) or conn_or_session.conn.partner_id
        ran.append(partner_id)
        if partner_id == "ptn_a":
            raise KeyError("an answer of a shape nobody foresaw")
        return 1

    monkeypatch.setattr(sync, "_flush_partner", one_pass)
    if module == "amo_sync":
        monkeypatch.setattr(amo_sync, "_Session", lambda conn, now: SimpleNamespace(conn=conn))
    assert sync.flush(datetime(2026, 3, 10, tzinfo=UTC)) == 1 and ran == ["ptn_a", "ptn_b"]


def test_a_crm_amount_is_taken_up_to_the_apis_own_limit_and_never_past_it():
    """Roubles to kopecks exactly, up to MAX_AMOUNT_MINOR; above it nothing (and no int() of a huge exponent)."""
    from chalicelib.schemas.common import MAX_AMOUNT_MINOR

    assert crm_sync.amount_minor(str(MAX_AMOUNT_MINOR // 100)) == MAX_AMOUNT_MINOR
    assert crm_sync.amount_minor("1e30") is None
    assert crm_sync.amount_minor("1e999999999") is None


def test_an_accrual_from_a_crm_of_an_amount_past_the_limit_enrols_nobody(coalition, clock):
    """amoCRM's price is whole roubles, multiplied here: past the API's limit no accrual can take it, so the
    customer is not enrolled for it either."""
    from chalicelib.schemas.common import MAX_AMOUNT_MINOR

    phone = "+79161239102"
    pid = coalition.ids["cafe"]
    assert crm_sync.accrue_by_phone(pid, phone, "amo-lead-1", MAX_AMOUNT_MINOR + 100, clock.now(), "amocrm") is None
    assert coalition.cafe.post("/v1/customers", {"phone": phone}).json["created"] is True  # she was not there
