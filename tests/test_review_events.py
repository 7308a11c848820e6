"""Review of "events out": hostile tests, one per defect found."""

from __future__ import annotations

import pytest

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
