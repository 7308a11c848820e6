"""The partner's spend policy, from the customer's side: what a partner may take without her code (``above N`` is a
ceiling per customer and partner over any 24 hours, holds included; a code-free hold is short), every such spend is
messaged to her, she sees and releases holds on her page, and the page says truthfully who may spend without a code.
A partner stored before the policy existed asks for the code (fail closed).

Over HTTP through Chalice's in-process client; the race of two code-free spends is made deterministic by letting
the second decide on a read taken before the first committed (exactly what a simultaneous request sees)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import inbox, last_code, table_snapshot
from tests.test_api_ledger import accrue, enrol
from tests.test_customer_reach import Customer

PHONE = "+79161234567"
WEEK = 7 * 24 * 60


def _partner(api: Any, name: str, **policy: Any) -> tuple[Any, str]:
    r = api.post("/v1/admin/partners", {"name": name, "max_redeem_share_bps": 10_000, **policy})
    assert r.status == 201, r.json
    return api.as_key(r["api_key"]), r["partner_id"]


@pytest.fixture
def above(api: Any) -> dict[str, Any]:
    """Стиль spends up to 500 points a day per customer without her code; Anna has 5,000 points."""
    store, store_id = _partner(api, "Стиль", spend_confirmation="above", spend_confirmation_above_points=500)
    market, market_id = _partner(api, "Маркет", spend_confirmation="above", spend_confirmation_above_points=500)
    cid = enrol(store, phone=PHONE, name="Анна")
    assert accrue(store, cid, "A-1", 10_000_000)["points"] == 5000
    return {"op": api, "store": store, "market": market, "cid": cid, "ids": {"store": store_id, "market": market_id}}


def spend(
    client: Any,
    cid: str,
    order_id: str,
    points: int,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Any:
    body = {"customer_id": cid, "order_id": order_id, "order_amount_minor": 10_000_000, "points": points, **extra}
    if code is not None:
        body["customer_code"] = code
    return client.post("/v1/redemptions", body, headers=headers)


def balance(client: Any, cid: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/customers/{cid}/balance").json)


# --- "above N" is a ceiling over 24 hours, per customer and partner ------------------------------------------------


def test_above_n_is_a_daily_ceiling_per_customer_and_partner_not_a_limit_per_request(above, clock):
    s = above
    answers = [spend(s["store"], s["cid"], f"S-{i}", 500) for i in range(6)]  # six orders, 500 points each
    assert [a.status for a in answers] == [201] + [403] * 5, [a.json for a in answers]
    refused = answers[1]
    assert refused["code"] == "customer_confirmation_required" and refused["code_free_points_left"] == 0
    assert "500 points a day" in refused["detail"]
    assert balance(s["store"], s["cid"])["available"] == 4500  # 500 without a code, not 3,000
    assert spend(s["market"], s["cid"], "M-1", 500).status == 201  # another partner: its own ceiling

    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")  # with her code, the till may go on
    assert spend(s["store"], s["cid"], "S-code", 700, code=last_code("spend_code")).status == 201

    clock.advance(timedelta(hours=23, minutes=59))
    assert spend(s["store"], s["cid"], "S-late", 1).status == 403  # still within the 24 hours
    clock.advance(timedelta(minutes=11))  # 24 hours after the slot of the first spend ended
    assert spend(s["store"], s["cid"], "S-next-day", 500).status == 201


def test_the_ceiling_adds_up_small_spends_and_says_what_is_left(above):
    s = above
    assert spend(s["store"], s["cid"], "S-1", 300).status == 201
    over = spend(s["store"], s["cid"], "S-2", 300)
    assert over.status == 403 and over["code_free_points_left"] == 200, over.json
    assert spend(s["store"], s["cid"], "S-3", 200).status == 201  # exactly N in the day
    assert spend(s["store"], s["cid"], "S-4", 1).status == 403  # N + 1


def test_code_free_holds_count_and_are_short_so_no_till_freezes_a_wallet_for_a_week(above, clock):
    s = above
    for i in range(5):  # five holds of 500 for a week, as in the report
        r = spend(s["store"], s["cid"], f"H-{i}", 500, capture=False, hold_minutes=WEEK)
        assert r.status == 403 and r["code"] == "customer_confirmation_required", r.json
        assert r["code_free_hold_minutes"] == 30 and "at most 30 minutes" in r["detail"]
    assert balance(s["store"], s["cid"])["held"] == 0
    held = spend(s["store"], s["cid"], "H-short", 500, capture=False, hold_minutes=30)
    assert held.status == 201 and held["expires_at"] == (clock.now() + timedelta(minutes=30)).isoformat()
    again = spend(s["store"], s["cid"], "H-more", 500, capture=False)  # the hold used the day's allowance
    assert again.status == 403 and again["code_free_points_left"] == 0
    assert s["store"].post(f"/v1/redemptions/{held['redemption_id']}/void", {}).status == 200
    assert spend(s["store"], s["cid"], "H-after-void", 100, capture=False).status == 403  # a void gives none back

    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")  # with her code a till may hold for a week
    long = spend(s["store"], s["cid"], "H-code", 500, code=last_code("spend_code"), capture=False, hold_minutes=WEEK)
    assert long.status == 201, long.json


def test_the_operator_sets_how_long_a_code_free_hold_may_last(above):
    s = above
    path = f"/v1/admin/partners/{s['ids']['store']}"
    assert s["op"].call("PATCH", path, {"code_free_hold_minutes": 0}).status == 422
    assert s["op"].call("PATCH", path, {"code_free_hold_minutes": WEEK + 1}).status == 422
    changed = s["op"].call("PATCH", path, {"code_free_hold_minutes": 45})
    assert changed.status == 200 and changed["code_free_hold_minutes"] == 45
    assert s["store"].get("/v1/partner")["code_free_hold_minutes"] == 45
    assert spend(s["store"], s["cid"], "H-1", 100, capture=False, hold_minutes=46).status == 403
    assert spend(s["store"], s["cid"], "H-2", 100, capture=False, hold_minutes=45).status == 201


def test_two_code_free_spends_decided_on_the_same_read_cannot_both_pass(above, monkeypatch):
    """The second spend decides on the allowance as it was before the first committed (two requests at once): the
    write's own condition refuses it, and deciding again on fresh data asks for the customer's code."""
    from chalicelib.db import code_free

    s = above
    assert spend(s["store"], s["cid"], "S-0", 100).status == 201
    before = code_free.from_found(_found_now(s["cid"], s["ids"]["store"]), s["cid"], s["ids"]["store"])
    assert before.total == 100
    assert spend(s["store"], s["cid"], "S-1", 300).status == 201  # 400 of 500 used now
    real = code_free.from_found
    stale = [before]

    def read_before_the_first_committed(found: Any, customer_id: str, partner_id: str) -> Any:
        return stale.pop() if stale else real(found, customer_id, partner_id)

    monkeypatch.setattr(code_free, "from_found", read_before_the_first_committed)
    second = spend(s["store"], s["cid"], "S-2", 300)
    assert second.status == 403 and second["code_free_points_left"] == 100, second.json
    assert balance(s["store"], s["cid"])["available"] == 4600


def test_simultaneous_code_free_spends_at_many_tills_stay_within_the_ceiling(live):
    """Eight tills of one partner spend 300 points each at the same moment, on the real HTTP stack: one passes."""
    from tests.test_concurrency import _race

    op = live.operator_key
    policy = {"name": "Стиль", "spend_confirmation": "above", "spend_confirmation_above_points": 500}
    key = live.request("POST", "/v1/admin/partners", op, {**policy, "max_redeem_share_bps": 10_000}).json()["api_key"]
    cid = live.request("POST", "/v1/customers", key, {"phone": PHONE}).json()["customer_id"]
    body = {"customer_id": cid, "order_id": "A-1", "amount_minor": 10_000_000}
    assert live.request("POST", "/v1/accruals", key, body).status_code == 201

    def attempt(i: int) -> Any:
        body = {"customer_id": cid, "order_id": f"R-{i}", "order_amount_minor": 10_000_000, "points": 300}
        return live.request("POST", "/v1/redemptions", key, body)

    statuses = sorted(r.status_code for r in _race(8, attempt))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 403, 503}, statuses
    assert live.request("GET", f"/v1/customers/{cid}/balance", key).json()["available"] == 5000 - 300


def _found_now(customer_id: str, partner_id: str) -> Any:
    from chalicelib import db
    from chalicelib.db import code_free

    return db.get_many([code_free.read_key(customer_id, partner_id)])


def test_the_allowance_item_stays_small_stale_slots_are_pruned(above, clock):
    s = above
    for day in range(3):
        for i in range(4):
            assert spend(s["store"], s["cid"], f"S-{day}-{i}", 100).status == 201
            clock.advance(timedelta(minutes=30))
        clock.advance(timedelta(hours=23))
    items = [i for i in table_snapshot() if i["pk"]["S"] == f"CODEFREE#{s['cid']}"]
    assert len(items) == 1
    slots = items[0]["slots"]["M"]
    assert len(slots) == 4 and int(items[0]["total"]["N"]) == 400  # only the last day's four slots are left


# --- "never" and the partners stored before the policy ---------------------------------------------------------


def test_never_has_no_ceiling_but_its_holds_are_short(api):
    salon, _ = _partner(api, "Шарм", spend_confirmation="never")
    cid = enrol(salon, phone=PHONE)
    accrue(salon, cid, "A-1", 10_000_000)
    assert [spend(salon, cid, f"N-{i}", 1000).status for i in range(3)] == [201, 201, 201]  # the operator's trust
    r = spend(salon, cid, "N-hold", 100, capture=False, hold_minutes=31)
    assert r.status == 403 and r["code_free_hold_minutes"] == 30 and "code_free_points_left" not in r.json


def test_a_partner_stored_before_the_spend_policy_existed_asks_for_the_customers_code(api):
    """An item written before ``spend_confirmation`` (and the hold length) existed: the policy fails closed."""
    from chalicelib import cache, db
    from chalicelib.db.models import PartnerItem

    client, partner_id = _partner(api, "Старый", spend_confirmation="never")
    cid = enrol(client, phone=PHONE)
    accrue(client, cid, "A-1", 1_000_000)
    raw = db.connection().client
    key = {"pk": {"S": "PARTNER"}, "sk": {"S": partner_id}}
    item = raw.get_item(TableName=PartnerItem.Meta.table_name, Key=key, ConsistentRead=True)["Item"]
    for name in ("spend_confirmation", "spend_confirmation_above_points", "code_free_hold_minutes"):
        item.pop(name, None)
    raw.put_item(TableName=PartnerItem.Meta.table_name, Item=item)
    cache.clear()
    r = spend(client, cid, "O-1", 10)
    assert r.status == 403 and r["code"] == "customer_confirmation_required", r.json
    shown = client.get("/v1/partner")
    assert shown["spend_confirmation"] == "always" and shown["code_free_hold_minutes"] == 30


# --- every spend without a code is messaged to the customer ---------------------------------------------------------


def told(clock: Any) -> None:
    """A pass of the dispatcher: the notice is its subscriber, never the till's request."""
    from chalicelib.services import dispatcher

    dispatcher.poll(clock.now())


def test_a_spend_or_hold_without_a_code_is_messaged_to_the_customer_once(above, clock):
    s = above
    key = {"Idempotency-Key": "till-1-0001"}
    first = spend(s["store"], s["cid"], "S-1", 120, headers=key)
    assert first.status == 201
    told(clock)
    notes = inbox("spend_notice", PHONE)
    assert len(notes) == 1 and "120" in notes[0].text and "Стиль" in notes[0].text and "4" in notes[0].text
    assert "4 880" in notes[0].text.replace("\u00a0", " ") or "4880" in notes[0].text  # the balance after it
    replay = spend(s["store"], s["cid"], "S-1", 120, headers=key)
    assert replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert spend(s["store"], s["cid"], "S-1", 120).status == 201  # the order's replay, without the key
    told(clock)
    assert len(inbox("spend_notice")) == 1  # a replay sends nothing

    held = spend(s["store"], s["cid"], "H-1", 80, capture=False)
    told(clock)
    assert held.status == 201 and len(inbox("spend_notice")) == 2
    assert "80" in inbox("spend_notice")[0].text and "до" in inbox("spend_notice")[0].text

    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")  # with her code she knows: no notice
    assert spend(s["store"], s["cid"], "S-code", 600, code=last_code("spend_code")).status == 201
    told(clock)
    assert len(inbox("spend_notice")) == 2


def test_the_till_request_calls_no_channel_the_dispatcher_tells_her(above, clock, monkeypatch):
    """The redemption's own request never waits on a message gateway: the notice leaves with the dispatcher."""
    from chalicelib.services import customer_messages

    calls: list[Any] = []
    real = customer_messages.notifier

    def watched() -> Any:
        calls.append(None)
        return real()

    monkeypatch.setattr(customer_messages, "notifier", watched)
    assert spend(above["store"], above["cid"], "S-1", 120).status == 201
    assert spend(above["store"], above["cid"], "H-1", 80, capture=False).status == 201
    assert calls == [] and inbox("spend_notice") == []
    told(clock)
    assert calls and len(inbox("spend_notice", PHONE)) == 2


def test_the_notice_goes_out_once_even_when_the_dispatcher_sees_the_event_twice(above, clock):
    from chalicelib.db import outbox as outbox_db
    from chalicelib.services import dispatcher

    assert spend(above["store"], above["cid"], "S-1", 120).status == 201
    seen = outbox_db.pending()
    dispatcher.dispatch(seen, clock.now())  # the stream's batch, retried
    dispatcher.dispatch(seen, clock.now())
    told(clock)  # and the poller
    told(clock)
    assert len(inbox("spend_notice", PHONE)) == 1


def test_a_notice_whose_send_failed_goes_out_on_the_next_pass(above, clock, monkeypatch):
    from chalicelib.errors import Unavailable
    from chalicelib.services import customer_messages

    real = customer_messages.send

    def down(*args: Any, **kwargs: Any) -> Any:
        raise Unavailable("gateway down")

    monkeypatch.setattr(customer_messages, "send", down)
    assert spend(above["store"], above["cid"], "S-1", 120).status == 201
    told(clock)
    assert inbox("spend_notice") == []
    monkeypatch.setattr(customer_messages, "send", real)
    clock.advance(timedelta(minutes=1))
    told(clock)
    told(clock)
    assert len(inbox("spend_notice", PHONE)) == 1


def test_quiet_hours_do_not_hold_a_security_notice_back(above, clock):
    """23:30 in Moscow: a purchase note waits for the morning, a spend without her code is told at once."""
    from datetime import UTC, datetime

    clock.set(datetime(2026, 3, 10, 20, 30, tzinfo=UTC))
    assert spend(above["store"], above["cid"], "S-1", 120).status == 201
    told(clock)
    assert len(inbox("spend_notice", PHONE)) == 1


def test_the_partners_webhook_never_sees_the_internal_mark(above, clock):
    from chalicelib.db import outbox as outbox_db

    assert spend(above["store"], above["cid"], "S-1", 120).status == 201
    [event] = [e for e in outbox_db.pending() if e.type == "redemption.created"]
    assert event.data["_code_free"] is True
    assert not [k for k in event.payload()["data"] if k.startswith("_")]
    assert event.payload()["data"]["points"] == 120


def test_two_requests_with_one_key_at_once_message_the_customer_once(above, monkeypatch, clock):
    """The till's SDK resends while the first request is still in flight: the second decides on a read taken
    before the first committed, its commit is refused, and it answers with the first one's record: one message."""
    from chalicelib.db import code_free

    s = above
    key = {"Idempotency-Key": "till-1-0002"}
    real = code_free.from_found
    first: list[Any] = []

    def the_other_commits_meanwhile(found: Any, customer_id: str, partner_id: str) -> Any:
        read = real(found, customer_id, partner_id)
        if not first:
            first.append(None)
            first[0] = spend(s["store"], s["cid"], "S-1", 120, headers=key)  # in flight at the same moment
        return read

    monkeypatch.setattr(code_free, "from_found", the_other_commits_meanwhile)
    second = spend(s["store"], s["cid"], "S-1", 120, headers=key)
    assert first[0].status == 201 and second.status == 201 and second.raw == first[0].raw
    told(clock)
    assert len(inbox("spend_notice")) == 1
    assert balance(s["store"], s["cid"])["available"] == 4880


def test_the_message_is_in_the_customers_language_and_a_trusted_partner_sends_it_too(api, clock):
    salon, _ = _partner(api, "Salon", spend_confirmation="never")
    cid = enrol(salon, phone=PHONE, locale="en")
    accrue(salon, cid, "A-1", 1_000_000)
    assert spend(salon, cid, "N-1", 50).status == 201
    told(clock)
    [note] = inbox("spend_notice", PHONE)
    assert note.text.startswith("Salon spent 50 of your points without your code") and "Available: 450." in note.text


# --- her holds on her page --------------------------------------------------------------------------------------


@pytest.fixture
def trusted(api: Any) -> dict[str, Any]:
    salon, salon_id = _partner(api, "Шарм", spend_confirmation="never")
    cid = enrol(salon, phone=PHONE, name="Анна")
    boris = enrol(salon, phone="+79167654321", name="Борис")
    for who in (cid, boris):
        assert accrue(salon, who, f"A-{who}", 1_000_000).status == 201  # 500 points each
    return {"op": api, "salon": salon, "salon_id": salon_id, "cid": cid, "boris": boris}


def _anna(s: dict[str, Any]) -> Customer:
    anna = Customer(s["op"].http)
    assert anna.sign_in(PHONE).status_code == 303
    return anna


def test_the_customer_sees_her_holds_and_releases_one_like_the_tills_void(trusted, clock):
    s = trusted
    held = spend(s["salon"], s["cid"], "H-1", 120, capture=False, hold_minutes=20)
    assert held.status == 201
    anna = _anna(s)
    page = anna.page("/me")
    [row] = re.findall(r'<li data-testid="hold">(.*?)</li>', page, re.S)
    assert "Шарм" in row and ">120<" in row and "10.03.2026 12:20" in row  # who, how much, until when (Moscow)
    form = anna.forms(page)["/me/holds/release"]
    assert anna.submit("/me/holds/release", {**form, "csrf": "forged"}).status_code == 403
    assert balance(s["salon"], s["cid"])["held"] == 120
    done = anna.submit("/me/holds/release", form)
    assert done.status_code == 303
    assert 'data-testid="hold"' not in anna.page("/me")
    assert balance(s["salon"], s["cid"])["held"] == 0 and balance(s["salon"], s["cid"])["available"] == 500
    late = s["salon"].post(f"/v1/redemptions/{held['redemption_id']}/capture", {})
    assert late.status == 409 and late["code"] == "hold_already_resolved", late.json
    assert anna.submit("/me/holds/release", form).status_code == 303  # a second click changes nothing
    entries = [i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{s['cid']}" and i["sk"]["S"].startswith("E#")]
    voids = [e for e in entries if e["type"]["S"] == "void"]
    assert len(voids) == 1 and voids[0]["details"]["M"]["voided_by"]["S"] == "customer"
    reconciled = s["op"].get(f"/v1/admin/settlements/{clock.now():%Y-%m}/reconciliation")
    assert reconciled.status == 200 and reconciled["matches"] is True


def test_a_customer_cannot_release_another_customers_hold(trusted):
    s = trusted
    borises = spend(s["salon"], s["boris"], "B-1", 100, capture=False, hold_minutes=20)
    assert borises.status == 201
    anna = _anna(s)
    form = anna.forms(anna.page("/me"))["/me/settings"]  # her page's CSRF token; she has no hold of her own
    r = anna.submit("/me/holds/release", {"csrf": form["csrf"], "hold": f"{s['salon_id']}|B-1"})
    assert r.status_code == 404
    assert balance(s["salon"], s["boris"])["held"] == 100
    captured = s["salon"].post(f"/v1/redemptions/{borises['redemption_id']}/capture", {})
    assert captured.status == 200 and captured["status"] == "captured"


def test_a_released_hold_lets_her_delete_her_account(trusted):
    s = trusted
    assert spend(s["salon"], s["cid"], "H-1", 50, capture=False, hold_minutes=20).status == 201
    anna = _anna(s)
    assert 'data-testid="delete-now"' not in anna.page("/me/delete")  # held at a till: not yet
    anna.submit("/me/holds/release", anna.forms(anna.page("/me"))["/me/holds/release"])
    assert 'data-testid="delete-now"' in anna.page("/me/delete")


# --- the page says who may spend without a code ---------------------------------------------------------------


def test_the_page_says_truthfully_who_may_spend_without_a_code_and_how_much(api):
    cafe, _ = _partner(api, "Уют")
    cid = enrol(cafe, phone=PHONE, name="Анна")
    accrue(cafe, cid, "A-1", 100_000)
    anna = Customer(api.http)
    assert anna.sign_in(PHONE).status_code == 303
    page = anna.page("/me")
    assert "Без вашего кода никто не спишет и не заморозит ваши баллы" in page and 'data-testid="code-free"' not in page

    _partner(api, "Стиль", spend_confirmation="above", spend_confirmation_above_points=500)
    _partner(api, "Шарм", spend_confirmation="never", code_free_hold_minutes=20)
    page = anna.page("/me")
    assert "никто не спишет" not in page
    rules = [
        re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", r)).strip()
        for r in re.findall(r'<li data-testid="code-free">(.*?)</li>', page, re.S)
    ]
    assert rules == [
        "Стиль до 500 баллов за 24 часа; заморозка без кода — не дольше 30 мин.",
        "Шарм без ограничения суммы: им доверяет программа; заморозка без кода — не дольше 20 мин.",
    ], rules
    english = anna.page("/me?lang=en")
    assert "up to 500 points in 24 hours" in english and "no limit: the program trusts them" in english
    assert "Nobody can spend" not in english
