"""Messages after an event: a note after a purchase and a tier reached (transactional: to everyone a channel
reaches), a campaign's offer when it becomes active (marketing: consent, the weekly cap, quiet hours, the unsubscribe
link). They are the dispatcher's subscribers: each test passes the dispatcher on its own clock."""

from __future__ import annotations

import email
import email.policy
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import inbox
from tests.test_api_ledger import accrue, enrol
from tests.test_campaigns import live_campaign
from tests.test_notify_smtp import Handler, free_port

ANNA, BORIS = "+79161234567", "+79161234568"
NIGHT = datetime(2026, 3, 10, 20, 30, tzinfo=UTC)  # 23:30 in Moscow: quiet hours (21 -> 9)
MORNING = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 in Moscow: they end


def poll(clock):
    from chalicelib.services import dispatcher

    dispatcher.poll(clock.now())


def texts(purpose, to=None):
    return [m.text for m in inbox(purpose, to)]


@pytest.fixture
def public_links(clock):
    """The stack's public address: without it there is no unsubscribe link, and no marketing goes out."""
    from chalicelib import runtime

    settings = runtime.get().settings
    runtime.configure(settings.__class__(**{**vars(settings), "public_base_url": "https://l.ru"}), clock)


def consenting(client, phone, consent=True, **extra):
    r = client.post("/v1/customers", {"phone": phone, "marketing_consent": consent, **extra})
    assert r.status == 201, r.json
    return r["customer_id"]


def test_an_accrual_gives_one_purchase_note_even_when_the_dispatcher_sees_it_twice(coalition, clock):
    from chalicelib.db import outbox as outbox_db
    from chalicelib.services import dispatcher

    anna = enrol(coalition.cafe, phone=ANNA)
    boris = enrol(coalition.cafe, phone=BORIS, locale="en")
    assert accrue(coalition.cafe, anna, "A-1", 200_000)["points"] == 100
    assert accrue(coalition.cafe, boris, "B-1", 200_000)["points"] == 100
    seen = outbox_db.pending()
    dispatcher.dispatch(seen, clock.now(), attempt_now=False)  # the stream's batch retried, and the poller too
    dispatcher.dispatch(seen, clock.now(), attempt_now=False)
    poll(clock)
    dispatcher.dispatch(seen, clock.now(), attempt_now=False)  # once more after the note went out
    poll(clock)
    clock.advance(timedelta(hours=1))
    poll(clock)
    assert texts("purchase_note", ANNA) == [
        "«Cafe»: +100 баллов за покупку. Теперь у вас 100 баллов в программе «Программа лояльности»."
    ]
    assert texts("purchase_note", BORIS) == [
        "Cafe: you earned 100 points. You now have 100 points at Программа лояльности."
    ]


def test_a_customer_without_consent_gets_the_purchase_note_but_no_campaign_offer(coalition, clock, public_links):
    yes = consenting(coalition.store, ANNA)
    no = consenting(coalition.store, BORIS, consent=False)
    assert accrue(coalition.store, yes, "S-1", 100_000).status == 201
    assert accrue(coalition.store, no, "S-2", 100_000).status == 201
    live_campaign(coalition)  # the cafe's offer to the store's customers of the last 30 days
    poll(clock)
    poll(clock)
    assert len(texts("purchase_note", ANNA)) == len(texts("purchase_note", BORIS)) == 1
    assert texts("campaign_offer", BORIS) == []
    (offer,) = texts("campaign_offer", ANNA)
    assert offer.startswith("«Программа лояльности»: для вас акция «Из Стиля в Уют» в «Cafe».\n")
    assert "Не присылать предложения: https://l.ru/me/unsubscribe?c=" in offer
    assert "unsubscribe" not in texts("purchase_note", ANNA)[0]


def test_no_campaign_offer_goes_without_an_unsubscribe_link(coalition, clock):
    yes = consenting(coalition.store, ANNA)
    assert accrue(coalition.store, yes, "S-1", 100_000).status == 201
    live_campaign(coalition)
    poll(clock)
    assert texts("campaign_offer") == [] and len(texts("purchase_note")) == 1


def test_quiet_hours_defer_a_purchase_note_to_their_end_and_hold_offers_back(coalition, clock, public_links):
    clock.set(NIGHT)
    anna = consenting(coalition.store, ANNA)
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201
    live_campaign(coalition)
    poll(clock)
    clock.set(MORNING - timedelta(minutes=1))
    poll(clock)
    assert inbox("purchase_note") == [] and inbox("campaign_offer") == []
    clock.set(MORNING)
    poll(clock)
    assert len(texts("purchase_note", ANNA)) == 1  # deferred, not dropped: 23:30's purchase told at 09:00
    assert len(texts("campaign_offer", ANNA)) == 1


def test_a_note_that_could_not_go_out_for_a_day_is_dropped(coalition, clock, monkeypatch):
    from chalicelib.errors import Unavailable
    from chalicelib.services import customer_messages

    anna = enrol(coalition.cafe, phone=ANNA)
    real_send = customer_messages.send

    def down(*args, **kwargs):
        raise Unavailable("the SMS gateway is down")

    monkeypatch.setattr(customer_messages, "send", down)
    assert accrue(coalition.cafe, anna, "A-1", 200_000).status == 201
    poll(clock)
    monkeypatch.setattr(customer_messages, "send", real_send)
    clock.advance(timedelta(hours=1))
    poll(clock)  # the gateway is back: the next pass sends it
    assert len(texts("purchase_note", ANNA)) == 1
    monkeypatch.setattr(customer_messages, "send", down)
    assert accrue(coalition.cafe, anna, "A-2", 200_000).status == 201
    poll(clock)
    monkeypatch.setattr(customer_messages, "send", real_send)
    clock.advance(timedelta(hours=25))
    poll(clock)
    assert len(texts("purchase_note", ANNA)) == 1


def test_a_tier_reached_is_told_once(coalition, clock):
    anna = enrol(coalition.cafe, phone=ANNA)
    assert accrue(coalition.cafe, anna, "A-1", 3_000_000).status == 201  # 30 000 ₽ in a year: silver
    poll(clock)
    assert texts("tier_reached", ANNA) == [
        "Поздравляем: у вас уровень «silver» в программе «Программа лояльности» — баллов за покупки теперь больше."
    ]
    refund = {"order_id": "A-1", "refund_id": "R-1", "amount_minor": 1_500_000}  # back to bronze: no message
    assert coalition.cafe.post("/v1/refunds", refund).status == 201
    poll(clock)
    assert accrue(coalition.cafe, anna, "A-2", 1_500_000).status == 201  # silver again
    poll(clock)
    assert len(texts("tier_reached", ANNA)) == 1


def test_the_weekly_cap_holds_campaign_offers(coalition, clock, public_links):
    coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"marketing_per_week": 1}})
    anna = consenting(coalition.store, ANNA)
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201
    live_campaign(coalition)
    live_campaign(coalition, name="Второе предложение")
    poll(clock)
    poll(clock)
    assert len(texts("campaign_offer", ANNA)) == 1


def test_an_offer_run_is_bounded_per_pass_and_goes_on_from_its_cursor(coalition, clock, public_links, monkeypatch):
    from chalicelib.services import campaign_offers

    monkeypatch.setattr(campaign_offers, "PAGE", 1)
    monkeypatch.setattr(campaign_offers, "PAGES_PER_PASS", 1)
    phones = ["+79160000001", "+79160000002", "+79160000003"]
    for n, phone in enumerate(phones):
        assert accrue(coalition.store, consenting(coalition.store, phone), f"S-{n}", 100_000).status == 201
    cid = live_campaign(coalition)
    sent = []
    for _ in range(30):  # 8 index partitions of one month, a page of one entry per pass
        poll(clock)
        sent.append(len(inbox("campaign_offer")))
    assert sent[0] <= 1 and sent[-1] == 3
    assert all(b - a <= 1 for a, b in itertools.pairwise(sent))
    from chalicelib.db import customer_notes as runs_db

    assert [r.campaign_id for r in runs_db.open_runs()] == []  # done
    again = coalition.cafe.post(f"/v1/campaigns/{cid}/pause")
    assert again.status == 200 and coalition.cafe.post(f"/v1/campaigns/{cid}/activate").status == 200
    poll(clock)
    assert runs_db.open_runs() == []  # activated again: its run is not walked again
    assert len(inbox("campaign_offer")) == 3  # and nobody is offered it twice


def test_a_customer_who_shopped_in_two_months_is_offered_the_campaign_once(coalition, clock, public_links, monkeypatch):
    from chalicelib.services import campaign_offers

    monkeypatch.setattr(campaign_offers, "PAGES_PER_PASS", 1)  # each month's partition in a pass of its own
    anna = consenting(coalition.store, ANNA)
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201  # March
    clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    assert accrue(coalition.store, anna, "S-2", 100_000).status == 201  # April
    live_campaign(coalition)  # the store's customers of the last 30 days: March and April
    for _ in range(20):
        poll(clock)
    assert len(texts("campaign_offer", ANNA)) == 1


def test_only_customers_in_the_audience_are_offered_the_campaign(coalition, clock, public_links):
    anna = consenting(coalition.store, ANNA)  # bronze
    boris = consenting(coalition.salon, BORIS)
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201
    assert accrue(coalition.salon, boris, "T-1", 3_000_000).status == 201  # silver
    live_campaign(coalition, audience={"min_tier": "silver"})  # anyone in the coalition this year, silver or above
    for _ in range(8):  # 3 partners x 12 months x 8 index partitions, 40 a pass
        poll(clock)
    assert texts("campaign_offer", ANNA) == [] and len(texts("campaign_offer", BORIS)) == 1


def test_quiet_hours_moved_after_a_note_waits_still_hold_it(coalition, clock):
    clock.set(NIGHT)
    anna = enrol(coalition.cafe, phone=ANNA)
    assert accrue(coalition.cafe, anna, "A-1", 200_000).status == 201
    poll(clock)  # waits for 09:00
    coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"quiet_to_hour": 10}})
    clock.set(MORNING)
    poll(clock)
    assert inbox("purchase_note") == []
    clock.set(MORNING + timedelta(hours=1))
    poll(clock)
    assert len(texts("purchase_note", ANNA)) == 1


def test_a_run_saved_by_a_pass_that_read_it_before_another_moved_it_is_refused(coalition, clock):
    from chalicelib.db import customer_notes as runs_db

    run = runs_db.OfferRun("cmp_x", "evt_x", ["ptn_x"], ["2026-03"])
    assert runs_db.open_run(run, clock.now()) and not runs_db.open_run(run, clock.now())
    (first,) = runs_db.open_runs()
    (second,) = runs_db.open_runs()
    first.unit = 3
    assert runs_db.save_run(first, clock.now())
    second.unit = 1  # a slower pass would move the cursor back
    assert not runs_db.save_run(second, clock.now())
    assert runs_db.open_runs()[0].unit == 3


def test_a_pass_out_of_time_leaves_the_rest_for_the_next(coalition, clock, public_links, monkeypatch):
    from chalicelib.db import customer_notes as runs_db
    from chalicelib.services import campaign_offers, customer_notes

    monkeypatch.setattr(campaign_offers, "PASS_SECONDS", -1.0)  # a channel so slow the pass's time is up at once
    monkeypatch.setattr(customer_notes, "PASS_SECONDS", -1.0)
    anna = consenting(coalition.store, ANNA)
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201
    live_campaign(coalition)
    poll(clock)
    assert inbox("campaign_offer") == [] and inbox("purchase_note") == []
    (run,) = runs_db.open_runs()
    assert run.considered == 0 and run.unit < 16  # the page cut short is worked again, not skipped
    monkeypatch.setattr(campaign_offers, "PASS_SECONDS", 20.0)
    monkeypatch.setattr(customer_notes, "PASS_SECONDS", 15.0)
    poll(clock)
    assert len(texts("campaign_offer", ANNA)) == 1 and len(texts("purchase_note", ANNA)) == 1


def test_a_paused_campaign_offers_nothing_until_it_runs_again(coalition, clock, public_links):
    anna = consenting(coalition.store, ANNA)
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201
    cid = live_campaign(coalition)
    assert coalition.cafe.post(f"/v1/campaigns/{cid}/pause").status == 200
    poll(clock)
    assert inbox("campaign_offer") == []
    assert coalition.cafe.post(f"/v1/campaigns/{cid}/activate").status == 200
    poll(clock)
    assert len(texts("campaign_offer", ANNA)) == 1


def test_the_operator_replaces_the_purchase_note(coalition, clock):
    templates = {"ru": {"purchase_note": "+{points} в «{partner}», всего {balance}"}}
    r = coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"templates": templates}})
    assert r.status == 200, r.json
    anna = enrol(coalition.cafe, phone=ANNA)
    assert accrue(coalition.cafe, anna, "A-1", 200_000).status == 201
    poll(clock)
    assert texts("purchase_note", ANNA) == ["+100 баллов в «Cafe», всего 100 баллов"]
    bad = {"ru": {"tier_reached": "{tier} {level}"}}
    refused = coalition.operator.call("PUT", "/v1/admin/program", {"messages": {"templates": bad}})
    assert refused.status == 422


# ---- e-mail: List-Unsubscribe on marketing, not on transactional mail ----


@pytest.fixture
def mailbox():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, handler
    controller.stop()


def mails(handler):
    return [email.message_from_bytes(content, policy=email.policy.default) for _, _, content in handler.received]


def test_marketing_mail_carries_one_click_unsubscribe_and_transactional_mail_does_not(
    coalition, clock, public_links, mailbox
):
    from chalicelib.db import customers as customers_db

    port, handler = mailbox
    channels = {
        "channels": ["email"],
        "email": {"host": "127.0.0.1", "port": port, "security": "none", "from_address": "noreply@l.ru"},
    }
    r = coalition.operator.call("PUT", "/v1/admin/program", {"notifications": channels})
    assert r.status == 200, r.json
    r = coalition.store.post("/v1/customers", {"email": "anna@example.com", "marketing_consent": True})
    assert r.status == 201, r.json
    anna = r["customer_id"]
    assert accrue(coalition.store, anna, "S-1", 100_000).status == 201
    live_campaign(coalition)
    poll(clock)
    got = {m["Subject"].split(": ", 1)[1]: m for m in mails(handler)}
    assert sorted(got) == ["Начислены баллы", "Предложение для вас"]
    note, offer = got["Начислены баллы"], got["Предложение для вас"]
    assert note["List-Unsubscribe"] is None and note["List-Unsubscribe-Post"] is None
    link = offer["List-Unsubscribe"]
    assert link.startswith("<https://l.ru/me/unsubscribe?c=") and link.endswith(">")
    assert offer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the mailbox's one-click: a POST to the link itself, RFC 8058's body, no page and no form fields
    one_click = coalition.operator.http.post(
        link[1:-1][len("https://l.ru") :],
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    assert customers_db.load(anna).marketing_consent is False


def test_a_forged_one_click_unsubscribe_changes_nothing(coalition, clock):
    from chalicelib.db import customers as customers_db

    anna = consenting(coalition.store, ANNA)
    r = coalition.operator.http.post(
        f"/me/unsubscribe?c={anna}&t={'0' * 32}",
        body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    assert customers_db.load(anna).marketing_consent is True


@pytest.mark.parametrize(
    "url",
    ["https://l.ru/u?c=1\r\nBcc: all@example.com", "javascript:alert(1)", "https://l.ru/u?c=<1>", "https://l.ru/ x"],
)
def test_an_unsubscribe_link_that_would_break_the_header_is_refused(url):
    from pydantic import ValidationError

    from chalicelib.notify import Message

    with pytest.raises(ValidationError):
        Message(channel="email", to="anna@example.com", text="Акция", purpose="campaign_offer", unsubscribe_url=url)
