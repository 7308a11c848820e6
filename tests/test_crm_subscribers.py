"""The CRM connectors hear of a customer from enrolment on, and read which CRMs a partner has connected once per
dispatcher batch: a contact exists in the partner's Bitrix24 or amoCRM before the customer's first purchase, and a
hundred events cost one read of the connections, not two hundred."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib import db, ids
from chalicelib.domain.events import ACCRUAL_CREATED, Event
from chalicelib.integrations import bitrix24 as b24
from chalicelib.services import crm_sync, dispatcher
from tests.crm_standins import AMO_CLIENT_ID, AMO_CLIENT_SECRET, AMO_REDIRECT
from tests.test_api_ledger import enrol

pytest_plugins = ("tests.crm_standins", "tests.webhook_receiver")

PHONE = "+79161234511"
B24_TOKEN = "b24apptoken0123456789"


@pytest.fixture(autouse=True)
def _real_http():
    crm_sync.set_transport(b24.http_transport)


def _connect_bitrix24(client: Any, portal: Any) -> None:
    body = {"webhook_url": portal.webhook_url, "application_token": B24_TOKEN}
    assert client.call("PUT", "/v1/integrations/bitrix24", body).status == 200


def _connect_amocrm(client: Any) -> None:
    body = {"subdomain": "shop", "client_id": AMO_CLIENT_ID, "client_secret": AMO_CLIENT_SECRET}
    r = client.call("PUT", "/v1/integrations/amocrm", body | {"redirect_uri": AMO_REDIRECT, "code": "auth-code-0001"})
    assert r.status == 200, r.json


def test_an_enrolled_customer_becomes_a_bitrix24_contact_before_any_purchase(coalition, bitrix24, receiver, clock):
    _connect_bitrix24(coalition.cafe, bitrix24)
    hook = {"url": receiver.url + "/all", "events": ["*"]}
    assert coalition.cafe.post("/v1/webhooks", hook).status == 201
    enrol(coalition.cafe, phone=PHONE)
    dispatcher.poll(clock.now())
    assert receiver.got == []  # the enrolment is the CRM's to hear of, not an endpoint's (not in the catalogue)
    contact = bitrix24.contact_by_phone(PHONE)
    assert contact is not None and contact["UF_CRM_LOYALTY_BALANCE"] == "0"
    assert bitrix24.comments == []  # an enrolment is no accrual: no timeline comment
    enrol(coalition.cafe, phone=PHONE)  # the same phone again: a look-up, no second contact
    dispatcher.poll(clock.now())
    assert len(bitrix24.contacts) == 1


def test_an_enrolled_customer_becomes_an_amocrm_contact_before_any_purchase(coalition, amocrm, clock):
    _connect_amocrm(coalition.cafe)
    enrol(coalition.cafe, phone=PHONE)
    dispatcher.poll(clock.now())
    contact = amocrm.contact_by_phone(PHONE)
    assert contact is not None and amocrm.field(contact, "LOYALTY_BALANCE") == 0
    assert amocrm.notes == []


def test_another_partners_enrolment_reaches_only_its_own_crm(coalition, bitrix24, clock):
    _connect_bitrix24(coalition.cafe, bitrix24)
    enrol(coalition.store, phone=PHONE)  # the store has no CRM; the cafe's hears nothing of its customers
    dispatcher.poll(clock.now())
    assert bitrix24.contacts == {} and bitrix24.requests == []


def _events(partner_id: str, n: int, clock: Any) -> list[Event]:
    now = clock.now()
    return [
        Event(ids.sortable_id("evt", now), ACCRUAL_CREATED, partner_id, now.isoformat(), {"customer_id": f"cus_{i}"})
        for i in range(n)
    ]


def _reads(action: Any) -> int:
    names: list[str] = []

    def record(model: Any, **_: Any) -> None:
        names.append(model.name)

    events = db.connection().client.meta.events
    events.register("before-call.dynamodb", record)
    try:
        action()
    finally:
        events.unregister("before-call.dynamodb", record)
    return sum(1 for n in names if n in ("GetItem", "BatchGetItem"))


def test_a_hundred_events_read_the_crm_connections_once(coalition, bitrix24, amocrm, clock):
    """Measured: two GetItems per event before (each connector read its connection), one batch read after."""
    _connect_bitrix24(coalition.cafe, bitrix24)
    _connect_amocrm(coalition.cafe)
    events = _events(coalition.ids["cafe"], 100, clock) + _events(coalition.ids["store"], 50, clock)
    reads = _reads(lambda: dispatcher.dispatch(events, clock.now() + timedelta(seconds=1), attempt_now=False))
    assert reads == 1
    from chalicelib.db import crm as crm_db

    assert len(crm_db.pending(coalition.ids["cafe"], 200)) == 100  # each change waits for Bitrix24...
    assert len(crm_db.pending(coalition.ids["cafe"], 200, "amocrm")) == 100  # ...and for amoCRM
    assert crm_db.pending(coalition.ids["store"], 200) == []
