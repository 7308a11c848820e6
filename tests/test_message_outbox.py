"""Messages a write asks for (sign-in, spend and binding codes, staff codes, links to the page) travel in the outbox
with that write: sent at once by the request, and once by the dispatcher's pass if that first send failed; the
outbox never holds a code or a link; no partner's endpoint hears of them. Over HTTP, with the notifications port
failing where a provider would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.db import outbox as outbox_db
from chalicelib.domain.events import MESSAGE_REQUESTED, subscribed
from chalicelib.notify import InvalidDestination, ProviderAccountError, ProviderUnavailable, Throttled
from chalicelib.services import customer_messages, dispatcher, message_outbox
from tests.conftest import TRUSTED, inbox, last_code, last_link, table_snapshot
from tests.staff_helpers import SIGN_IN_PURPOSE, Browser
from tests.test_api_ledger import accrue, enrol
from tests.test_customer_reach import PHONE, Customer, spend, strict  # noqa: F401 (a fixture)

AFTER_RETRY = message_outbox.RETRY + timedelta(seconds=1)


class Provider:
    """The notifications port as a provider would behave: each queued failure is raised by one send, then it works."""

    def __init__(self) -> None:
        self.failures: list[Exception] = []
        self.real = customer_messages.notifier

    def fail(self, *failures: Exception) -> None:
        self.failures += failures

    def __call__(self) -> Provider:
        return self

    def send(self, message: Any) -> Any:
        if self.failures:
            raise self.failures.pop(0)
        return self.real().send(message)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    fake = Provider()
    monkeypatch.setattr(customer_messages, "notifier", fake)
    yield fake


def down() -> ProviderUnavailable:
    return ProviderUnavailable("smsc 503", provider="smsc")


def waiting() -> list[dict[str, Any]]:
    """The messages waiting in the outbox (the fixture's accrual waits there too, for the partners)."""
    items = [i for i in table_snapshot() if i["pk"]["S"].startswith("OUTBOX#")]
    return [i for i in items if i["event_type"]["S"] == MESSAGE_REQUESTED]


def test_a_spend_code_whose_send_failed_arrives_once_after_a_dispatcher_pass(strict, provider, clock):  # noqa: F811
    s = strict
    provider.fail(down())
    r = s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    assert r.status == 503 and inbox("spend_code") == []  # the answer it always gave: the message did not go now
    assert len(waiting()) == 1  # committed with the code
    dispatcher.poll(clock.now())  # too early: the retry waits a little
    assert inbox("spend_code") == []
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())
    clock.advance(timedelta(minutes=5))
    dispatcher.poll(clock.now())
    assert len(inbox("spend_code")) == 1 and waiting() == []
    assert spend(s["store"], s["cid"], "S-1", code=last_code("spend_code", PHONE)).status == 201


def test_a_pass_that_sees_the_message_twice_sends_it_once(strict, provider, clock):  # noqa: F811
    s = strict
    provider.fail(down())
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    clock.advance(AFTER_RETRY)
    events = outbox_db.messages()
    dispatcher.dispatch(events, clock.now())
    dispatcher.dispatch(events, clock.now())  # the stream retried the batch, or the poll and the stream both
    assert len(inbox("spend_code")) == 1


def test_an_attempt_under_way_is_not_made_twice(strict, provider, clock):  # noqa: F811
    """A dispatcher that claimed the message and died: nobody sends it until its lease runs out, then one does."""
    s = strict
    provider.fail(down())
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    clock.advance(AFTER_RETRY)
    [event] = outbox_db.messages()
    now = clock.now()
    assert outbox_db.claim(event.event_id, now.isoformat(), (now + message_outbox.LEASE).isoformat(), eager=False)
    dispatcher.poll(now)
    assert message_outbox.send_now(event, now) is None  # not even the request's own replay
    assert inbox("spend_code") == []
    clock.advance(message_outbox.LEASE)
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())
    assert len(inbox("spend_code")) == 1 and waiting() == []


def test_the_tills_retry_delivers_the_waiting_message_and_the_pass_sends_nothing_more(
    strict,  # noqa: F811
    provider,
    clock,
):
    s = strict
    provider.fail(down())
    path, key = f"/v1/customers/{s['cid']}/spend-code", {"Idempotency-Key": "till-1"}
    assert s["store"].post(path, headers=key).status == 503
    again = s["store"].post(path, headers=key)
    assert again.status == 202 and again.headers.get("Idempotent-Replayed") == "true"
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now())
    assert len(inbox("spend_code")) == 1 and waiting() == []


def test_a_message_is_retried_only_while_its_code_is_good_and_never_after_a_permanent_failure(
    strict,  # noqa: F811
    provider,
    clock,
):
    s = strict
    provider.fail(*[down() for _ in range(40)])
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    for _ in range(25):  # past the code's 10 minutes
        clock.advance(AFTER_RETRY)
        dispatcher.poll(clock.now())
    assert waiting() == [] and inbox("spend_code") == []  # dropped with its code
    provider.failures = [InvalidDestination("no such number", provider="smsc")]
    r = s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    assert r.status == 422 and r["code"] == "customer_unreachable"
    assert waiting() == []  # retrying cannot help: dropped at once


def test_a_message_whose_code_was_replaced_meanwhile_is_not_sent(strict, provider, clock):  # noqa: F811
    """The first code's message waits; the till asks again and the customer gets a new code, which replaces the first:
    the pass must not then send the dead code (she would read out a code that no longer works)."""
    s = strict
    provider.fail(down())
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 202
    fresh = last_code("spend_code", PHONE)
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now())
    assert [m.code for m in inbox("spend_code")] == [fresh] and waiting() == []


def test_a_failure_the_port_calls_permanent_is_not_retried(strict, provider, clock):  # noqa: F811
    s = strict
    provider.fail(ProviderAccountError("key revoked", provider="smsc"), down())
    r = s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    assert r.status == 503  # the answer it always gave
    assert waiting() == []  # nothing a retry could mend: dropped at once
    assert not subscribed(["*"], MESSAGE_REQUESTED)  # and no endpoint could ever subscribe to it


def test_a_throttled_provider_is_asked_again_after_its_own_wait(strict, provider, clock):  # noqa: F811
    s = strict
    provider.fail(Throttled("slow down", retry_after=120, provider="smsc"))
    r = s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    assert r.status == 429 and r["code"] == "rate_limited"
    clock.advance(timedelta(seconds=100))
    dispatcher.poll(clock.now())
    assert inbox("spend_code") == []
    clock.advance(timedelta(seconds=21))
    dispatcher.poll(clock.now())
    assert len(inbox("spend_code")) == 1


def test_the_sign_in_code_arrives_after_a_pass_and_signs_her_in_over_http(strict, provider, clock):  # noqa: F811
    s = strict
    provider.fail(down())
    anna = Customer(s["op"].http)

    def after_a_pass() -> str:
        assert inbox("sign_in") == []  # the page answered as always; the code did not go yet
        clock.advance(AFTER_RETRY)
        dispatcher.poll(clock.now())
        dispatcher.poll(clock.now())
        assert len(inbox("sign_in")) == 1
        return last_code("sign_in", PHONE)

    done = anna.sign_in(PHONE, code_from=after_a_pass)
    assert done.status_code == 303 and done.headers["Location"] == "/me" and "lc_session" in anna.jar


def test_a_staff_code_whose_send_failed_arrives_after_a_pass(api, provider, clock):
    owner = "+79160000001"
    made = api.post("/v1/admin/partners", {"name": "Alpha", "owner": {"phone": owner, "name": "Ольга"}})
    assert made.status == 201, made.json
    provider.fail(down())
    browser = Browser(api)
    status, page, _ = browser.send_code("portal", owner)
    assert status == 200 and inbox(SIGN_IN_PURPOSE) == []
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())
    assert len(inbox(SIGN_IN_PURPOSE)) == 1
    status, _, headers = browser.enter_code("portal", page, last_code(SIGN_IN_PURPOSE, owner))
    assert status == 303 and headers["location"] == "/portal"


def test_a_channel_change_notice_whose_send_failed_arrives_after_a_pass(api, provider, clock):
    """The notice that her codes now go elsewhere (a sign someone took over her page) commits with the change: a
    provider's outage delays it, never loses it."""
    cafe = api.as_key(api.post("/v1/admin/partners", {"name": "Уют", **TRUSTED})["api_key"])
    enrol(cafe, phone=PHONE, email="anna@example.com", name="Анна")
    anna = Customer(api.http)
    assert anna.sign_in(PHONE).status_code == 303
    provider.fail(down())
    form = anna.forms(anna.page("/me"))["/me/settings"]
    assert anna.submit("/me/settings", {**form, "locale": "ru", "channel": "email"}).status_code == 303
    assert inbox("channel_changed") == [] and len(waiting()) == 1
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now())
    dispatcher.poll(clock.now())
    (told,) = inbox("channel_changed")
    assert told.to == PHONE and told.channel == "sms" and "e-mail" in told.text  # on the old channel
    assert waiting() == []


def test_the_outbox_holds_no_code_and_no_link(strict, provider, clock):  # noqa: F811
    """What waits in the outbox (a copy of the table, a backup) re-makes no message without the server's secrets."""
    s = strict
    provider.fail(*[down() for _ in range(4)])  # each send of the four fails once
    Browser(s["op"]).send_code("portal", "+79160000009")  # nobody's: its decoy's message is dropped, nothing waits
    anna = Customer(s["op"].http)
    form = anna.forms(anna.page("/me/sign-in"))["/me/sign-in"]
    assert anna.submit("/me/sign-in", {**form, "identifier": PHONE}).status_code == 200
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    bind = s["store"].post("/v1/customers", {"phone": PHONE, "card": "CARD-0001"})
    assert bind.status == 503
    assert s["store"].post(f"/v1/customers/{s['cid']}/portal-link").status == 503
    stored = waiting()
    assert len(stored) == 4
    assert {json.loads(i["data"]["S"])["kind"] for i in stored} == {"sign_in", "spend", "bind", "link"}
    assert {i["partner_id"]["S"] for i in stored} == {"-"}  # no partner's
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now())
    codes = [last_code(purpose, PHONE) for purpose in ("sign_in", "spend_code", "bind_code")]
    token = last_link(PHONE).split("token=")[1]
    text = json.dumps(stored)
    for code in codes:
        assert code not in text
    assert token not in text and token.rsplit(".", 1)[1] not in text  # neither the link nor its signature
    assert waiting() == []


def test_no_partner_endpoint_hears_of_a_message(strict, provider, clock):  # noqa: F811
    s = strict
    made = s["store"].post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    assert made.status == 201, made.json
    sent: list[str] = []

    def sender(url: str, body: bytes, headers: dict[str, str]) -> Any:
        sent.append(headers["Loyalty-Event-Type"])
        return dispatcher.webhook_http.Sent(status=200, latency_ms=1)

    provider.fail(down())
    assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    clock.advance(AFTER_RETRY)
    dispatcher.poll(clock.now(), sender)
    assert len(inbox("spend_code")) == 1 and sent == []
    assert s["store"].get(f"/v1/webhooks/{made['webhook_id']}/deliveries")["items"] == []
    refused = s["store"].post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": [MESSAGE_REQUESTED]})
    assert refused.status == 422  # not in the catalogue a partner chooses from


def test_messages_waiting_through_a_provider_outage_never_hold_up_partners_events(
    strict,  # noqa: F811
    provider,
    clock,
    monkeypatch,
):
    """Many codes waiting for a provider to come back (more than a pass reads) and a partner's accrual after them:
    the accrual still reaches its endpoint in the next pass."""
    s = strict
    monkeypatch.setattr(dispatcher, "BATCH", 2)
    made = s["store"].post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["accrual.created"]})
    assert made.status == 201, made.json
    provider.fail(*[down() for _ in range(40)])
    for _ in range(3):
        assert s["store"].post(f"/v1/customers/{s['cid']}/spend-code").status == 503
    assert accrue(s["store"], s["cid"], "B-1", 100_000).status == 201
    sent: list[str] = []

    def sender(url: str, body: bytes, headers: dict[str, str]) -> Any:
        sent.append(headers["Loyalty-Event-Type"])
        return dispatcher.webhook_http.Sent(status=200, latency_ms=1)

    dispatcher.poll(clock.now(), sender)
    assert sent == ["accrual.created"] and len(waiting()) == 3


def test_a_decoy_sign_in_leaves_nothing_waiting(strict, provider):  # noqa: F811
    s = strict
    anna = Customer(s["op"].http)
    form = anna.forms(anna.page("/me/sign-in"))["/me/sign-in"]
    assert anna.submit("/me/sign-in", {**form, "identifier": "+79990000000"}).status_code == 200
    assert waiting() == [] and inbox("sign_in") == []
