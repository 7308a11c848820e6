"""Over HTTP against the live servers (what ``make run`` starts): a partner registers a webhook with the SDK, makes
an accrual, the dispatcher's pass delivers it to a local receiver signed, and the SDK verifies it."""

from __future__ import annotations

import pytest

from chalicelib.services import dispatcher
from partner_sdk import LoyaltyClient
from partner_sdk import webhooks as sdk_webhooks
from partner_sdk.errors import NotFound, SignatureVerificationError
from tests.conftest import TRUSTED

pytest_plugins = ("tests.webhook_receiver",)


def _partner(live, name: str) -> LoyaltyClient:
    made = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": name, **TRUSTED}).json()
    return LoyaltyClient(api_key=made["api_key"], base_url=live.url)


def test_a_webhook_receives_an_accrual_signed_over_http(live, receiver, clock):
    shop, other = _partner(live, "Стиль"), _partner(live, "Уют")
    hook = shop.webhooks.create(url=receiver.url + "/loyalty", events=["accrual.created"])
    customer = shop.customers.enroll(phone="+7 916 555-01-01")
    shop.accruals.create(customer_id=customer.customer_id, order_id="L-1", amount_minor=150_000)

    dispatcher.poll(clock.now())  # the pass the background thread makes under make run

    [got] = receiver.got
    now = int(clock.now().timestamp())
    event = sdk_webhooks.verify(got.body, got.headers["Loyalty-Signature"], hook["secret"], now=now)
    assert event["type"] == "accrual.created" and event["data"]["order_id"] == "L-1"
    with pytest.raises(SignatureVerificationError):  # forged: the body changed after signing
        forged = got.body.replace(b"L-1", b"L-2")
        sdk_webhooks.verify(forged, got.headers["Loyalty-Signature"], hook["secret"], now=now)
    with pytest.raises(SignatureVerificationError):  # stale: replayed ten minutes later
        sdk_webhooks.verify(got.body, got.headers["Loyalty-Signature"], hook["secret"], now=now + 600)
    [delivery] = shop.webhooks.deliveries(hook["webhook_id"])
    assert delivery["status"] == "delivered" and delivery["response_code"] == 200

    assert other.webhooks.list() == []
    with pytest.raises(NotFound):
        other.webhooks.resend(hook["webhook_id"], delivery["delivery_id"])
    with pytest.raises(NotFound):
        other.webhooks.delete(hook["webhook_id"])
    assert [h["webhook_id"] for h in shop.webhooks.list()] == [hook["webhook_id"]]


def _race(n: int, fn):  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier = Barrier(n)

    def run(i: int):  # type: ignore[no-untyped-def]
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_simultaneous_registrations_never_pass_ten_endpoints(live, receiver):
    """Sixteen registrations at once (each its own request, the count not stored yet), then deletions and
    registrations at once: a partner never holds more than ten endpoints, and every deletion frees exactly one."""
    made = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Стиль", **TRUSTED}).json()
    key = made["api_key"]

    def register(i: int):  # type: ignore[no-untyped-def]
        return live.request("POST", "/v1/webhooks", key, {"url": f"{receiver.url}/{i}", "events": ["*"]})

    results = _race(16, register)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 10 and statuses.count(409) == 6, statuses
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"webhook_limit_reached"}
    listed = live.request("GET", "/v1/webhooks", key).json()["items"]
    assert len(listed) == 10

    first = listed[0]["webhook_id"]  # the same endpoint deleted four times at once frees one place
    deleted = _race(4, lambda i: live.request("DELETE", f"/v1/webhooks/{first}", key))
    assert {r.status_code for r in deleted} == {204}
    again = _race(5, register)
    assert sorted(r.status_code for r in again) == [201, 409, 409, 409, 409]
    assert len(live.request("GET", "/v1/webhooks", key).json()["items"]) == 10
