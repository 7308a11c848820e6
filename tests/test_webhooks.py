"""Events out: the outbox written in each change's transaction, signed webhook deliveries with exactly-once effect
per endpoint, retries for three days, partners kept apart, and the SDK's verification."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.notify import webhook_http
from chalicelib.services import dispatcher
from partner_sdk import webhooks as sdk_webhooks
from partner_sdk.errors import SignatureVerificationError
from tests.conftest import inbox, table_snapshot
from tests.test_api_ledger import accrue, enrol
from tests.test_idempotency import _interleave

pytest_plugins = ("tests.webhook_receiver",)


def _register(client, url, events=("*",), **headers):
    made = client.post("/v1/webhooks", {"url": url, "events": list(events)}, headers=headers or None)
    assert made.status == 201, made.json
    return made.json


def _outbox() -> list[dict]:
    return [i for i in table_snapshot() if i["pk"]["S"].startswith("OUTBOX#")]


def _now(clock) -> int:
    return int(clock.now().timestamp())


def test_an_accrual_reaches_the_endpoint_signed_and_the_sdk_verifies_it(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url + "/hook", ["accrual.created"])
    assert hook["secret"].startswith("whsec_")
    cid = enrol(coalition.cafe, phone="+79161110001")
    assert accrue(coalition.cafe, cid, "W-1", 100_000).status == 201
    assert len(_outbox()) == 1  # in the accrual's own transaction

    dispatcher.poll(clock.now())

    [got] = receiver.got
    event = sdk_webhooks.verify(got.body, got.headers["Loyalty-Signature"], hook["secret"], now=_now(clock))
    assert event["type"] == "accrual.created" and event["id"] == got.headers["Loyalty-Event-Id"]
    assert event["data"]["customer_id"] == cid and event["data"]["order_id"] == "W-1"
    assert event["data"]["points"] == 50 and event["data"]["amount_minor"] == 100_000
    assert set(event) == {"id", "type", "created_at", "data"}
    assert "phone" not in got.body.decode()  # no personal data beyond the customer id
    assert _outbox() == []
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert delivery["status"] == "delivered" and delivery["response_code"] == 200
    assert delivery["delivery_id"] == event["id"] and delivery["latency_ms"] >= 0

    dispatcher.poll(clock.now() + timedelta(hours=1))  # nothing left to do: nothing sent again
    assert len(receiver.got) == 1


def test_the_secret_is_shown_once(coalition, receiver):
    hook = _register(coalition.cafe, receiver.url)
    listed = coalition.cafe.get("/v1/webhooks").json["items"]
    assert [h["webhook_id"] for h in listed] == [hook["webhook_id"]]
    assert "secret" not in listed[0]
    assert hook["secret"] not in str(table_snapshot())


def test_a_replayed_request_writes_no_second_event(coalition, receiver):
    cid = enrol(coalition.cafe, phone="+79161110002")
    key = {"Idempotency-Key": "acc-replay-1"}
    assert accrue(coalition.cafe, cid, "W-2", 100_000, headers=key).status == 201
    assert accrue(coalition.cafe, cid, "W-2", 100_000, headers=key).status == 201
    assert len(_outbox()) == 1


class Killed(Exception):
    pass


def test_a_dispatcher_killed_mid_batch_delivers_every_event_once_per_endpoint(coalition, receiver, clock):
    _register(coalition.cafe, receiver.url + "/a")
    _register(coalition.cafe, receiver.url + "/b", ["accrual.created"])
    cid = enrol(coalition.cafe, phone="+79161110003")
    for n in range(4):
        assert accrue(coalition.cafe, cid, f"K-{n}", 100_000).status == 201
    sent = []

    def dies_on_the_fourth(url, body, headers):
        if len(sent) == 3:
            raise Killed  # the process dies between two deliveries
        sent.append(url)
        return dispatcher.http_sender(url, body, headers)

    with pytest.raises(Killed):
        dispatcher.poll(clock.now(), dies_on_the_fourth)
    assert len(receiver.got) == 3

    clock.advance(dispatcher.LEASE + timedelta(seconds=1))  # the dead dispatcher's claim runs out
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())  # and a second pass (or a second dispatcher) sends nothing more

    for path in ("/a", "/b"):
        ids = [r.event["id"] for r in receiver.got if r.path == path]
        assert len(ids) == 4 and len(set(ids)) == 4, (path, ids)


def test_an_event_dispatched_twice_is_delivered_once(coalition, receiver, clock):
    _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110004")
    assert accrue(coalition.cafe, cid, "D-1", 100_000).status == 201
    from chalicelib.db import outbox as outbox_db

    events = outbox_db.pending()
    dispatcher.dispatch(events, clock.now())
    dispatcher.dispatch(events, clock.now())  # the stream retried the batch
    assert len(receiver.got) == 1


def test_a_receiver_failing_three_times_gets_the_event_once(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url)
    receiver.script = [500, 500, 500]
    cid = enrol(coalition.cafe, phone="+79161110005")
    assert accrue(coalition.cafe, cid, "F-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    [failed] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert failed["status"] == "pending" and failed["response_code"] == 500
    assert failed["response_excerpt"].startswith("boom") and len(failed["response_excerpt"]) <= 200  # no more kept
    assert failed["next_attempt_at"] == (clock.now() + timedelta(minutes=1)).isoformat()
    for _ in range(10):
        clock.advance(timedelta(minutes=5))
        dispatcher.poll(clock.now())
    assert [r.status for r in receiver.got] == [500, 500, 500, 200]
    assert len({r.event["id"] for r in receiver.got}) == 1
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 4
    failed_body = "boom " * 200
    assert len(receiver.got[0].body) > 0 and failed_body not in str(table_snapshot())  # an excerpt only


def test_backoff_grows_and_stops_after_three_days():
    created = "2026-03-10T09:00:00+00:00"
    from datetime import datetime

    start = datetime.fromisoformat(created)
    assert dispatcher.next_attempt(created, 1, start) == start + timedelta(minutes=1)
    assert dispatcher.next_attempt(created, 3, start) == start + timedelta(minutes=4)
    assert dispatcher.next_attempt(created, 20, start) == start + timedelta(hours=6)
    assert dispatcher.next_attempt(created, 20, start + timedelta(days=2, hours=19)) is None


def test_an_endpoint_failing_for_three_days_is_switched_off_with_a_reason(coalition, receiver, clock):
    owner = {"phone": "+79161119900", "name": "Владелец", "role": "owner"}
    assert coalition.cafe.post("/v1/staff", owner).status == 201
    cashier = {"phone": "+79161119901", "name": "Кассир", "role": "cashier"}
    assert coalition.cafe.post("/v1/staff", cashier).status == 201
    hook = _register(coalition.cafe, receiver.url)
    receiver.script = [503] * 1000
    cid = enrol(coalition.cafe, phone="+79161110006")
    assert accrue(coalition.cafe, cid, "X-1", 100_000).status == 201
    for _ in range(4 * 24):
        dispatcher.poll(clock.now())
        clock.advance(timedelta(hours=1))
    attempts = len(receiver.got)
    assert 10 < attempts < 40
    [listed] = coalition.cafe.get("/v1/webhooks")["items"]
    assert listed["status"] == "disabled" and "three days" in listed["disabled_reason"]
    [notice] = inbox("webhook_disabled")  # the owner is told; the cashier is not
    assert notice.to == owner["phone"] and receiver.url in notice.text
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert delivery["status"] == "failed" and delivery["response_code"] == 503
    assert accrue(coalition.cafe, cid, "X-2", 100_000).status == 201
    dispatcher.poll(clock.now())
    assert len(receiver.got) == attempts  # a switched-off endpoint gets nothing more
    assert len(coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]) == 1
    resend = f"/v1/webhooks/{hook['webhook_id']}/deliveries/{delivery['delivery_id']}/resend"
    assert coalition.cafe.post(resend).status == 409  # switched off: nothing would send it


def test_a_resend_delivers_again(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110007")
    assert accrue(coalition.cafe, cid, "R-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    path = f"/v1/webhooks/{hook['webhook_id']}/deliveries/{delivery['delivery_id']}/resend"
    assert coalition.cafe.post(path).status == 202
    dispatcher.poll(clock.now())
    assert [r.event["id"] for r in receiver.got] == [delivery["event_id"]] * 2


def test_another_partner_cannot_see_delete_or_resend(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110008")
    assert accrue(coalition.cafe, cid, "P-1", 100_000).status == 201
    assert accrue(coalition.store, cid, "P-2", 100_000).status == 201  # the store's event is not the cafe's
    dispatcher.poll(clock.now())
    assert [r.event["data"]["order_id"] for r in receiver.got] == ["P-1"]
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    hid, did = hook["webhook_id"], delivery["delivery_id"]
    assert coalition.store.get("/v1/webhooks").json["items"] == []
    assert coalition.store.get(f"/v1/webhooks/{hid}/deliveries").status == 404
    assert coalition.store.post(f"/v1/webhooks/{hid}/deliveries/{did}/resend").status == 404
    assert coalition.store.post(f"/v1/webhooks/{hid}/rotate-secret", {}).status == 404
    assert coalition.store.call("DELETE", f"/v1/webhooks/{hid}").status == 404
    assert len(coalition.cafe.get("/v1/webhooks").json["items"]) == 1
    assert coalition.operator.get("/v1/webhooks").status == 403


def test_a_rotated_secret_overlaps_then_the_old_one_stops(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url)
    rotated = coalition.cafe.post(f"/v1/webhooks/{hook['webhook_id']}/rotate-secret", {"overlap_hours": 1})
    assert rotated.status == 200 and rotated["secret"] != hook["secret"]
    cid = enrol(coalition.cafe, phone="+79161110009")
    assert accrue(coalition.cafe, cid, "S-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    got = receiver.got[-1]
    for secret in (hook["secret"], rotated["secret"]):  # either verifies during the overlap
        sdk_webhooks.verify(got.body, got.headers["Loyalty-Signature"], secret, now=_now(clock))
    clock.advance(timedelta(hours=2))
    assert accrue(coalition.cafe, cid, "S-2", 100_000).status == 201
    dispatcher.poll(clock.now())
    got = receiver.got[-1]
    sdk_webhooks.verify(got.body, got.headers["Loyalty-Signature"], rotated["secret"], now=_now(clock))
    with pytest.raises(SignatureVerificationError):
        sdk_webhooks.verify(got.body, got.headers["Loyalty-Signature"], hook["secret"], now=_now(clock))


def test_the_server_signs_as_the_sdk_verifies():
    from chalicelib.domain import signing

    body, t = b'{"id":"evt_1"}', 1_800_000_000
    assert signing.header(["whsec_a"], t, body) == sdk_webhooks.sign(body, "whsec_a", t)
    two = signing.header(["whsec_new", "whsec_old"], t, body)
    for secret in ("whsec_new", "whsec_old"):
        assert sdk_webhooks.verify(body, two, secret, now=t)["id"] == "evt_1"


def test_two_dispatchers_at_once_send_an_attempt_once(coalition, receiver, clock):
    _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110014")
    assert accrue(coalition.cafe, cid, "C-1", 100_000).status == 201
    inner = []

    def meanwhile_another_dispatcher(url, body, headers):
        inner.append(dispatcher.poll(clock.now()))  # runs while this attempt is under way
        return dispatcher.http_sender(url, body, headers)

    dispatcher.poll(clock.now(), meanwhile_another_dispatcher)
    assert inner == [0] and len(receiver.got) == 1


def test_a_partner_has_at_most_ten_endpoints(coalition, receiver):
    made = [_register(coalition.cafe, f"{receiver.url}/{n}") for n in range(10)]
    r = coalition.cafe.post("/v1/webhooks", {"url": receiver.url, "events": ["*"]})
    assert r.status == 409 and r["code"] == "webhook_limit_reached"
    assert coalition.cafe.call("DELETE", f"/v1/webhooks/{made[0]['webhook_id']}").status == 204
    assert coalition.cafe.call("DELETE", f"/v1/webhooks/{made[0]['webhook_id']}").status == 204  # the same answer
    _register(coalition.cafe, receiver.url)
    assert len(coalition.cafe.get("/v1/webhooks")["items"]) == 10


def test_endpoints_registered_before_the_count_was_stored_still_count(coalition, receiver):
    """A partner whose endpoints predate the stored count: the next registration counts them first."""
    from chalicelib import db
    from chalicelib.db import keys
    from chalicelib.db.models import _Item

    made = [_register(coalition.cafe, f"{receiver.url}/{n}") for n in range(9)]
    pk, sk = keys.webhook_count(coalition.ids["cafe"])
    db.connection().client.delete_item(TableName=_Item.Meta.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    _register(coalition.cafe, receiver.url)
    refused = coalition.cafe.post("/v1/webhooks", {"url": receiver.url, "events": ["*"]})
    assert refused["code"] == "webhook_limit_reached"
    db.connection().client.delete_item(TableName=_Item.Meta.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    assert coalition.cafe.call("DELETE", f"/v1/webhooks/{made[0]['webhook_id']}").status == 204  # counts them too
    _register(coalition.cafe, receiver.url)
    assert coalition.cafe.post("/v1/webhooks", {"url": receiver.url, "events": ["*"]}).status == 409


def test_the_sdk_rejects_a_forged_altered_or_stale_delivery():
    body, secret, t = b'{"id":"evt_1","type":"accrual.created","created_at":"x","data":{}}', "whsec_abc", 1_800_000_000
    header = sdk_webhooks.sign(body, secret, t)
    assert sdk_webhooks.verify(body, header, secret, now=t + 299)["id"] == "evt_1"
    bad = [
        (body, header, "whsec_other", t),  # another secret
        (body.replace(b"evt_1", b"evt_2"), header, secret, t),  # altered body
        (body, header, secret, t + 301),  # stale
        (body, header, secret, t - 301),  # from the future
        (body, f"t={t}", secret, t),  # no signature
        (body, header.replace("t=", "x="), secret, t),  # no time
        (body, sdk_webhooks.sign(body, "forged", t), secret, t),
    ]
    for payload, value, key, now in bad:
        with pytest.raises(SignatureVerificationError):
            sdk_webhooks.verify(payload, value, key, now=now)


def test_only_public_https_endpoints_in_production():
    assert webhook_http.refusal("https://93.184.216.34/hook", production=True) is None  # a public address
    for url in (
        "http://93.184.216.34/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://user:pw@example.com/hook",
        "http://localhost:8000/hook",
    ):
        assert webhook_http.refusal(url, production=True) is not None, url
    assert webhook_http.refusal("http://127.0.0.1:9/hook", production=False) is None
    assert webhook_http.refusal("http://example.com/hook", production=False) is not None


def test_a_delivery_connects_to_the_address_its_check_vetted(monkeypatch):
    """DNS rebinding: the partner's name answers a public address to the check, then a private one. The delivery
    connects to the public address it vetted (the name resolved once), and TLS still checks the host's name."""
    import socket
    import ssl

    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    asked: list[str] = []

    def resolve(host, port, *args, **kwargs):  # the partner's DNS server, which answers as it likes
        asked.append(host)
        address = host if host[0].isdigit() else next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    connected: list[tuple[str, int]] = []

    def create_connection(address, *args, **kwargs):  # what socket.create_connection does: resolve, then connect
        host, port = address
        connected.append(resolve(host, port)[0][4])
        return socket.socket()

    names: list[str | None] = []

    class Context(ssl.SSLContext):
        def wrap_socket(self, sock, *args, server_hostname=None, **kwargs):
            names.append(server_hostname)
            sock.close()
            raise ssl.SSLError("stub")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **kw: Context(ssl.PROTOCOL_TLS_CLIENT))
    sent = webhook_http.post("https://hooks.example/loyalty", b"{}", {}, production=True)

    assert connected == [("93.184.216.34", 443)] and names == ["hooks.example"]
    assert asked.count("hooks.example") == 1 and sent.status is None and sent.error == "SSLError"


def test_a_webhook_to_plain_http_elsewhere_is_refused(coalition):
    r = coalition.cafe.post("/v1/webhooks", {"url": "http://example.com/hook", "events": ["*"]})
    assert r.status == 422 and r["errors"][0]["loc"] == ["body", "url"]
    r = coalition.cafe.post("/v1/webhooks", {"url": "https://example.com/hook", "events": ["nope"]})
    assert r.status == 422
    assert [i for i in table_snapshot() if i["pk"]["S"].startswith("HOOKS#")] == []


def test_every_kind_of_change_tells_its_partner(coalition, receiver, clock):
    from chalicelib.services import jobs

    _register(coalition.cafe, receiver.url + "/cafe")
    _register(coalition.store, receiver.url + "/store")
    cafe, store = coalition.cafe, coalition.store
    cid = enrol(cafe, phone="+79161110010")
    assert accrue(cafe, cid, "E-1", 4_000_000).status == 201  # 2000 points, and silver
    spend = {"customer_id": cid, "order_amount_minor": 100_000, "points": 10}
    assert store.post("/v1/redemptions", {**spend, "order_id": "E-2"}).status == 201
    held = store.post("/v1/redemptions", {**spend, "order_id": "E-3", "capture": False}).json
    assert store.post(f"/v1/redemptions/{held['redemption_id']}/capture").status == 200
    held = store.post("/v1/redemptions", {**spend, "order_id": "E-4", "capture": False}).json
    assert store.post(f"/v1/redemptions/{held['redemption_id']}/void").status == 200
    refund = {"order_id": "E-1", "refund_id": "RF-1", "amount_minor": 1_500_000}  # back to bronze
    assert cafe.post("/v1/refunds", refund).status == 201
    bonus = {"customer_id": cid, "bonus_id": "B-1", "reason": "review", "points": 5}
    assert cafe.post("/v1/bonuses", bonus).status == 201
    adjustment = {"customer_id": cid, "adjustment_id": "ADJ-1", "points": -7, "reason": "correction"}
    assert coalition.operator.post("/v1/admin/adjustments", adjustment).status == 201
    body = {"name": "Кофе", "earn_at": [coalition.ids["cafe"]], "reward": {"type": "fixed", "points": 10}}
    campaign = cafe.post("/v1/campaigns", body).json
    assert cafe.post(f"/v1/campaigns/{campaign['campaign_id']}/activate").status == 200
    dispatcher.poll(clock.now())

    def kinds(path):
        return [r.event["type"] for r in receiver.got if r.path == path]

    assert kinds("/cafe") == [
        "accrual.created",
        "tier.changed",
        "refund.created",
        "tier.changed",
        "bonus.created",
        "adjustment.created",
        "campaign.updated",
    ]
    assert kinds("/store") == [
        "redemption.created",
        "redemption.created",
        "redemption.captured",
        "redemption.created",
        "redemption.voided",
    ]
    tier = next(r.event["data"] for r in receiver.got if r.event["type"] == "tier.changed")
    refunded = next(r.event["data"] for r in receiver.got if r.event["type"] == "refund.created")
    assert (refunded["refund_id"], refunded["points_reversed"], refunded["points_returned"]) == ("RF-1", 750, 0)
    adjusted = next(r.event for r in receiver.got if r.event["type"] == "adjustment.created")
    assert adjusted["data"]["points"] == -7 and adjusted["data"]["adjustment_id"] == "ADJ-1"
    assert adjusted["id"].endswith("." + coalition.ids["cafe"])  # the cafe's share of one adjustment
    assert (tier["tier_before"], tier["tier"]) == ("bronze", "silver")

    clock.advance(timedelta(days=400))  # the cafe's points end with their month
    jobs.expire_points(clock.now(), since="2026-01")
    period = (clock.now() - timedelta(days=40)).strftime("%Y-%m")
    assert coalition.operator.post(f"/v1/admin/settlements/{period}/close").status == 200
    dispatcher.poll(clock.now())  # the close's one event becomes one per partner, each delivered
    expired = [r.event["data"] for r in receiver.got if r.event["type"] == "points.expired"]
    assert [e["customer_id"] for e in expired] == [cid] and expired[0]["points"] > 0
    assert [r.path for r in receiver.got if r.event["type"] == "points.expired"] == ["/cafe"]
    closed = {r.path: r.event["data"] for r in receiver.got if r.event["type"] == "settlement.closed"}
    assert set(closed) == {"/cafe", "/store"} and closed["/cafe"]["period"] == period


def test_a_hold_that_time_releases_is_told_as_voided(coalition, receiver, clock):
    _register(coalition.store, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110011")
    assert accrue(coalition.cafe, cid, "H-0", 1_000_000).status == 201
    body = {"customer_id": cid, "order_id": "H-1", "order_amount_minor": 100_000, "points": 30, "capture": False}
    assert coalition.store.post("/v1/redemptions", body).status == 201
    clock.advance(timedelta(days=8))  # past the longest hold
    assert accrue(coalition.cafe, cid, "H-2", 100_000).status == 201  # any write settles what time did
    dispatcher.poll(clock.now())
    voided = [r.event["data"] for r in receiver.got if r.event["type"] == "redemption.voided"]
    assert voided == [{"customer_id": cid, "order_id": "H-1", "points": 30, "status": "expired"}]


def test_a_replayed_registration_shows_the_same_secret(coalition, receiver):
    key = {"Idempotency-Key": "hook-1"}
    first = _register(coalition.cafe, receiver.url, **key)
    again = coalition.cafe.post("/v1/webhooks", {"url": receiver.url, "events": ["*"]}, headers=key)
    assert again.status == 201 and again.json == first
    other = coalition.cafe.post("/v1/webhooks", {"url": receiver.url, "events": ["*"]}).json
    assert other["secret"] != first["secret"]


def test_expiry_across_many_partners_is_one_outbox_item_split_per_partner(coalition, receiver, clock):
    cid = enrol(coalition.cafe, phone="+79161110012")
    partners = []
    for n in range(12):
        made = coalition.operator.post("/v1/admin/partners", {"name": f"P{n}", "earn_rate_bps": 500}).json
        partners.append(made["partner_id"])
        client = coalition.operator.as_key(made["api_key"])
        assert accrue(client, cid, f"M-{n}", 100_000).status == 201
        if n < 2:
            _register(client, f"{receiver.url}/p{n}", ["points.expired"])
    dispatcher.poll(clock.now())
    clock.advance(timedelta(days=400))
    assert accrue(coalition.cafe, cid, "M-late", 100_000).status == 201  # settles the expiry of all twelve
    expiring = [i for i in _outbox() if i["event_type"]["S"] == "points.expired"]
    assert len(expiring) == 1  # one item in the accrual's transaction, whatever the number of partners
    dispatcher.poll(clock.now())
    got = {r.path: r.event["data"] for r in receiver.got}
    assert got == {f"/p{n}": {"customer_id": cid, "points": 50} for n in range(2)}


def test_the_stream_handler_dispatches_inserts_and_reports_the_record_that_failed(coalition, receiver, clock):
    from chalicelib.db.models import _Item

    _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110013")
    for n in range(2):
        assert accrue(coalition.cafe, cid, f"S-{n}", 100_000).status == 201
    images = _outbox()
    records = [
        {"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": str(n)}}
        for n, image in enumerate(images)
    ]
    modify = {"eventName": "MODIFY", "dynamodb": {"NewImage": images[0], "SequenceNumber": "9"}}
    table = _Item.Meta.table_name
    _Item.Meta.table_name = "no-such-table"  # the database fails under the first record
    try:
        answer = dispatcher.handle_stream({"Records": records}, clock.now())
    finally:
        _Item.Meta.table_name = table
    assert answer == {"batchItemFailures": [{"itemIdentifier": "0"}]}
    assert dispatcher.handle_stream({"Records": [modify, *records]}, clock.now()) == {"batchItemFailures": []}
    assert sorted(r.event["data"]["order_id"] for r in receiver.got) == ["S-0", "S-1"]
    assert _outbox() == []


def test_a_deleted_endpoint_is_gone(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url)
    cid = enrol(coalition.cafe, phone="+79161110015")
    assert accrue(coalition.cafe, cid, "G-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    hid = hook["webhook_id"]
    [delivery] = coalition.cafe.get(f"/v1/webhooks/{hid}/deliveries")["items"]
    assert coalition.cafe.call("DELETE", f"/v1/webhooks/{hid}").status == 204
    assert coalition.cafe.get("/v1/webhooks")["items"] == []
    assert coalition.cafe.get(f"/v1/webhooks/{hid}/deliveries").status == 404
    assert coalition.cafe.post(f"/v1/webhooks/{hid}/deliveries/{delivery['delivery_id']}/resend").status == 404
    assert accrue(coalition.cafe, cid, "G-2", 100_000).status == 201
    dispatcher.poll(clock.now())
    assert len(receiver.got) == 1


def test_an_endpoint_hears_only_the_types_it_asked_for(coalition, receiver, clock):
    hook = _register(coalition.cafe, receiver.url, ["refund.created"])
    cid = enrol(coalition.cafe, phone="+79161110016")
    assert accrue(coalition.cafe, cid, "T-1", 100_000).status == 201
    dispatcher.poll(clock.now())
    assert receiver.got == []
    assert coalition.cafe.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"] == []
    assert (
        coalition.cafe.post("/v1/refunds", {"order_id": "T-1", "refund_id": "T-R", "amount_minor": 100}).status == 201
    )
    dispatcher.poll(clock.now())
    assert [r.event["type"] for r in receiver.got] == ["refund.created"]


# A registration or deletion committed between another one's read and its commit, replayed in one thread the same way
# every run (tests/test_webhooks_live.py races them over HTTP, which finds it only when the machine interleaves them).


def test_a_registration_committed_after_anothers_read_of_the_count_does_not_pass_the_cap(
    coalition, receiver, monkeypatch
):
    for n in range(9):
        _register(coalition.cafe, f"{receiver.url}/{n}")
    # the tenth, registered after this one read the count (nine) and before it commits
    tenth = {"url": receiver.url, "events": ["*"]}
    raced = _interleave(monkeypatch, lambda plan: len(plan.tx) > 0, lambda: coalition.cafe.post("/v1/webhooks", tenth))
    late = coalition.cafe.post("/v1/webhooks", {"url": f"{receiver.url}/late", "events": ["*"]})
    monkeypatch.undo()
    assert raced[0].status == 201, raced[0].json
    assert late.status == 409 and late["code"] == "webhook_limit_reached", late.json
    assert len(coalition.cafe.get("/v1/webhooks")["items"]) == 10


def test_two_first_registrations_at_once_are_both_counted(coalition, receiver, monkeypatch):
    """The count is not stored before a partner's first endpoint: the one that puts it second is sent back to read
    it, not let write over it (else the cap would be off by one for good)."""
    other = {"url": receiver.url, "events": ["*"]}
    raced = _interleave(monkeypatch, lambda plan: len(plan.tx) > 0, lambda: coalition.cafe.post("/v1/webhooks", other))
    first = coalition.cafe.post("/v1/webhooks", {"url": f"{receiver.url}/first", "events": ["*"]})
    monkeypatch.undo()
    assert raced[0].status == 201 and first.status == 201, (raced[0].json, first.json)
    for n in range(8):
        _register(coalition.cafe, f"{receiver.url}/{n}")
    r = coalition.cafe.post("/v1/webhooks", {"url": f"{receiver.url}/eleventh", "events": ["*"]})
    assert r.status == 409 and r["code"] == "webhook_limit_reached", r.json
    assert len(coalition.cafe.get("/v1/webhooks")["items"]) == 10


def test_an_endpoint_deleted_again_between_a_deletions_read_and_commit_is_counted_out_once(
    coalition, receiver, monkeypatch
):
    from chalicelib.db import webhooks as webhooks_db

    made = [_register(coalition.cafe, f"{receiver.url}/{n}") for n in range(10)]
    path = f"/v1/webhooks/{made[0]['webhook_id']}"
    real, again = webhooks_db.get_many, []

    def read_then_another_deletes(keys):  # type: ignore[no-untyped-def]
        found = real(keys)
        if not again:  # once: the other deletion's own read passes straight through
            again.append(None)
            again[0] = coalition.cafe.call("DELETE", path)
        return found

    monkeypatch.setattr(webhooks_db, "get_many", read_then_another_deletes)
    assert coalition.cafe.call("DELETE", path).status == 204
    assert again[0].status == 204
    monkeypatch.undo()
    # One place freed, not two.
    _register(coalition.cafe, f"{receiver.url}/new")
    r = coalition.cafe.post("/v1/webhooks", {"url": f"{receiver.url}/eleventh", "events": ["*"]})
    assert r.status == 409 and r["code"] == "webhook_limit_reached", r.json
    assert len(coalition.cafe.get("/v1/webhooks")["items"]) == 10
