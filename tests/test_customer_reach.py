"""The customer holds the keys: spending and binding need the customer's one-time code, links and codes
go to the customer and never to the partner, and the customer signs in to a session they can end.

Over HTTP: Chalice's in-process client for the flows, the real HTTP stack in front of a serialized moto server for
the races, and a real SMTP server (aiosmtpd) for the sign-in by e-mail."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import TRUSTED, inbox, last_code, last_link, table_snapshot
from tests.test_api_ledger import accrue, enrol
from tests.test_concurrency import _race
from tests.test_edges_input_portal import Portal

PHONE = "+79161234567"


@pytest.fixture
def strict(api):
    """Two partners with the default policy (the customer's code for every spend), and Anna with 500 points."""
    made = {}
    for name in ("Уют", "Стиль"):
        r = api.post("/v1/admin/partners", {"name": name, "max_redeem_share_bps": 10_000})
        assert r.status == 201 and r["spend_confirmation"] == "always", r.json
        made[name] = (api.as_key(r["api_key"]), r["partner_id"])
    cafe, store = made["Уют"][0], made["Стиль"][0]
    cid = enrol(cafe, phone=PHONE, name="Анна")
    assert accrue(cafe, cid, "A-1", 1_000_000)["points"] == 500
    return {"op": api, "cafe": cafe, "store": store, "cid": cid, "ids": {k: v[1] for k, v in made.items()}}


def spend(client, cid, order_id, points=100, code=None, capture=True, headers=None):
    body = {"customer_id": cid, "order_id": order_id, "order_amount_minor": 100_000, "points": points}
    if code is not None:
        body["customer_code"] = code
    if not capture:
        body["capture"] = False
    return client.post("/v1/redemptions", body, headers=headers)


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def available(client, cid) -> int:
    return int(client.get(f"/v1/customers/{cid}/balance")["available"])


# --- spending needs the customer -----------------------------------------------------------------------------------


def test_without_the_code_a_partner_can_quote_but_neither_spend_nor_hold(strict):
    s = strict
    quote = s["store"].post("/v1/redemptions/quote", {"customer_id": s["cid"], "order_amount_minor": 100_000})
    assert quote.status == 200 and quote["available"] == 500  # the quote stays free
    for capture in (True, False):
        r = spend(s["store"], s["cid"], f"S-{capture}", capture=capture)
        assert r.status == 403 and r["code"] == "customer_confirmation_required", r.json
    assert available(s["store"], s["cid"]) == 500


def test_the_code_the_till_asks_for_goes_to_the_customer_and_works_once(strict):
    s = strict
    sent = s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    assert sent.status == 202
    assert sent.json == {
        "channel": "sms",
        "destination": "+7 916 ***-**-67",
        "expires_at": "2026-03-10T09:10:00+00:00",
        "points": 500,  # without a body: what she has available now
    }
    code = last_code("spend_code", PHONE)
    assert code not in sent.raw.decode()  # the partner never sees the code
    assert "Стиль" in inbox("spend_code")[0].text  # the customer is told who asks
    held = spend(s["store"], s["cid"], "S-1", code=code, capture=False)
    assert held.status == 201 and held["status"] == "held", held.json
    assert s["store"].post(f"/v1/redemptions/{held['redemption_id']}/capture", {}).status == 200  # no second code
    again = spend(s["store"], s["cid"], "S-2", code=code)
    assert again.status == 403 and again["code"] == "customer_code_invalid"
    assert available(s["store"], s["cid"]) == 400


def test_a_retry_of_the_spend_code_request_delivers_the_same_code_not_a_new_one(strict):
    """The till's SDK retries with the same Idempotency-Key after a lost answer: the customer gets the same code
    again (the one they may be reading out stays good) and the till the same answer, marked as a replay."""
    s = strict
    path, key = f"/v1/customers/{s['cid']}/spend-code", {"Idempotency-Key": "till-7-0001"}
    first = s["store"].post(path, headers=key)
    code = last_code("spend_code", PHONE)
    again = s["store"].post(path, headers=key)
    assert again.status == 202 and again.raw == first.raw and again.headers.get("Idempotent-Replayed") == "true"
    assert [m.code for m in inbox("spend_code")] == [code, code]  # the same code twice, never a second one
    boris = enrol(s["store"], phone="+79167654321")
    other = s["store"].post(f"/v1/customers/{boris}/spend-code", headers=key)  # the key is bound to its request
    assert other.status == 409 and other["code"] == "idempotency_key_reused" and len(inbox("spend_code")) == 2
    assert spend(s["store"], s["cid"], "S-1", code=code).status == 201
    s["store"].post(path, headers=key)  # a replay once the code is used sends nothing
    assert len(inbox("spend_code")) == 2
    fresh = s["store"].post(path, headers={"Idempotency-Key": "till-7-0002"})  # a new request: a new code
    assert fresh.status == 202 and last_code("spend_code", PHONE) != code


def test_a_spend_code_whose_message_failed_is_delivered_by_the_retry(strict, monkeypatch):
    """The first send fails after the code was stored (503): the SDK's retry with the same key delivers that code."""
    from chalicelib.notify import ProviderUnavailable
    from chalicelib.services import customer_messages

    s = strict
    real = customer_messages.notifier
    failures = [ProviderUnavailable("smsc 503", provider="smsc")]

    class Flaky:
        def send(self, message):
            if failures:
                raise failures.pop()
            return real().send(message)

    monkeypatch.setattr(customer_messages, "notifier", Flaky)
    path, key = f"/v1/customers/{s['cid']}/spend-code", {"Idempotency-Key": "till-7-0003"}
    assert s["store"].post(path, headers=key).status == 503 and inbox("spend_code") == []
    retried = s["store"].post(path, headers=key)
    assert retried.status == 202 and len(inbox("spend_code")) == 1
    assert spend(s["store"], s["cid"], "S-1", code=last_code("spend_code", PHONE)).status == 201


def test_a_code_sent_for_one_partner_is_no_good_at_another(strict):
    s = strict
    s["cafe"].post(f"/v1/customers/{s['cid']}/spend-code")
    r = spend(s["store"], s["cid"], "S-1", code=last_code("spend_code"))
    assert r.status == 403 and r["code"] == "customer_code_invalid"
    assert spend(s["cafe"], s["cid"], "C-1", code=last_code("spend_code")).status == 201


def test_a_code_expires(strict, clock):
    s = strict
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    clock.advance(timedelta(minutes=10))
    r = spend(s["store"], s["cid"], "S-1", code=last_code("spend_code"))
    assert r.status == 403 and r["code"] == "customer_code_invalid" and "attempts_left" not in r.json


def test_wrong_codes_are_counted_and_lock_the_code(strict):
    s = strict
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    code = last_code("spend_code")
    for _ in range(4):
        r = spend(s["store"], s["cid"], "S-1", code=other_than(code))
        assert r.status == 403 and r["code"] == "customer_code_invalid", r.json
    fifth = spend(s["store"], s["cid"], "S-1", code=other_than(code))  # the fifth wrong one locks, and says so
    assert fifth.status == 429 and fifth["code"] == "customer_code_locked" and int(fifth.headers["Retry-After"]) >= 1
    locked = spend(s["store"], s["cid"], "S-1", code=code)  # even the right one, now
    assert locked.status == 429 and locked["code"] == "customer_code_locked"
    assert 1 <= int(locked.headers["Retry-After"]) <= 600
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")  # the customer gets a new code: the same order goes through
    assert spend(s["store"], s["cid"], "S-1", code=last_code("spend_code")).status == 201
    assert available(s["store"], s["cid"]) == 400


def test_a_refused_code_binds_neither_the_order_nor_the_idempotency_key(strict):
    s = strict
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    code, key = last_code("spend_code"), {"Idempotency-Key": "till-7-receipt-1"}
    assert spend(s["store"], s["cid"], "S-1", code=other_than(code), headers=key).status == 403
    assert spend(s["store"], s["cid"], "S-1", headers=key).status == 403
    done = spend(s["store"], s["cid"], "S-1", code=code, headers=key)
    assert done.status == 201
    replay = spend(s["store"], s["cid"], "S-1", code=code, headers=key)
    assert replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"


def test_the_operator_sets_each_partners_policy(strict):
    s = strict
    op, store_id = s["op"], s["ids"]["Стиль"]
    path = f"/v1/admin/partners/{store_id}"
    bad = op.call("PATCH", path, {"spend_confirmation": "above"})
    assert bad.status == 422
    bad = op.call("PATCH", path, {"spend_confirmation": "never", "spend_confirmation_above_points": 5})
    assert bad.status == 422
    r = op.call("PATCH", path, {"spend_confirmation": "above", "spend_confirmation_above_points": 100})
    assert r.status == 200 and (r["spend_confirmation"], r["spend_confirmation_above_points"]) == ("above", 100)
    assert spend(s["store"], s["cid"], "S-1", points=100).status == 201  # up to the threshold: no code
    assert spend(s["store"], s["cid"], "S-2", points=1)["code"] == "customer_confirmation_required"  # in 24 hours
    r = op.call("PATCH", path, {"spend_confirmation_above_points": 200})
    assert r.status == 200 and r["spend_confirmation_above_points"] == 200
    assert spend(s["store"], s["cid"], "S-3", points=150)["code"] == "customer_confirmation_required"
    assert spend(s["store"], s["cid"], "S-3", points=100).status == 201  # 200 without a code within the day
    r = op.call("PATCH", path, {"spend_confirmation": "never"})
    assert r.status == 200 and r["spend_confirmation_above_points"] is None
    assert spend(s["store"], s["cid"], "S-4", points=100).status == 201
    assert s["store"].get("/v1/partner")["spend_confirmation"] == "never"
    assert op.call("PATCH", path, {"spend_confirmation_above_points": 50}).status == 422  # not "above"


def test_a_card_only_customer_cannot_be_sent_a_code(strict):
    s = strict
    cid = enrol(s["cafe"], card="CARD-0001")
    r = s["store"].post(f"/v1/customers/{cid}/spend-code")
    assert r.status == 422 and r["code"] == "customer_unreachable"
    assert s["store"].post(f"/v1/customers/{cid}/portal-link", {}).status == 422
    assert inbox() == []


def test_the_operator_attaches_a_phone_to_a_card_only_customer_and_then_codes_reach_them(strict):
    """A card-only customer has nothing to receive a code on: no partner can bind to that wallet, the operator can
    (it has identified the customer itself). Afterwards codes reach the customer on that phone."""
    s, op = strict, strict["op"]
    cid = enrol(s["cafe"], card="CARD-0002")
    path = f"/v1/admin/customers/{cid}/identifiers"
    assert s["cafe"].post(path, {"phone": "+79160000002"}).status == 403  # a partner's key cannot
    assert op.post(path, {}).status == 422  # nothing to attach
    taken = op.post(path, {"phone": PHONE})  # Anna's phone belongs to another customer
    assert taken.status == 409 and taken["code"] == "identity_conflict"
    assert op.post("/v1/admin/customers/cus_doesnotexist1/identifiers", {"phone": "+79160000002"}).status == 404
    r = op.post(path, {"phone": "8 (916) 000-00-02", "email": "Guest@Example.com"}, headers={"Idempotency-Key": "a1"})
    assert r.status == 200 and r.json == {"customer_id": cid, "attached": ["email", "phone"]}
    again = op.post(
        path, {"phone": "8 (916) 000-00-02", "email": "Guest@Example.com"}, headers={"Idempotency-Key": "a1"}
    )
    assert again.status == 200 and again.headers.get("Idempotent-Replayed") == "true"
    other = op.post(path, {"phone": "+79160000003"})
    assert other.status == 409 and other["code"] == "identity_conflict"  # one phone per customer
    found = s["store"].get("/v1/customers/lookup?phone=%2B79160000002")
    assert found.status == 200 and found["customer_id"] == cid
    assert s["store"].post(f"/v1/customers/{cid}/spend-code").status == 202
    assert len(last_code("spend_code", "+79160000002")) == 6


def test_an_identifier_attached_while_the_account_is_deleted_is_freed_too(strict, monkeypatch):
    """The operator attaches a phone between the deletion's read and its commit: the deletion reads again and frees
    it, so the phone never leads a new shopper to a deleted account."""
    from chalicelib import runtime
    from chalicelib.db import customers as customers_db
    from chalicelib.services import customer_self

    s, op = strict, strict["op"]
    cid = enrol(s["cafe"], card="CARD-0003")
    erase = customers_db.erase
    raced: list[int] = []

    def racing_erase(tx, customer, now_iso, **kw):
        if not raced:
            raced.append(op.post(f"/v1/admin/customers/{cid}/identifiers", {"phone": "+79160000004"}).status)
        erase(tx, customer, now_iso, **kw)

    monkeypatch.setattr(customers_db, "erase", racing_erase)
    customer_self.delete(cid, runtime.get().clock.now())
    assert raced == [200]
    again = s["store"].post("/v1/customers", {"phone": "+79160000004"})
    assert again.status == 201 and again["customer_id"] != cid  # a new customer, not the deleted one


# --- races over the real HTTP stack ----------------------------------------------------------------------------


@pytest.fixture
def live_strict(live):
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "max_redeem_share_bps": 10_000}).json()
    key = cafe["api_key"]
    cid = live.request("POST", "/v1/customers", key, {"phone": PHONE}).json()["customer_id"]
    r = live.request("POST", "/v1/accruals", key, {"customer_id": cid, "order_id": "A-1", "amount_minor": 1_000_000})
    assert r.status_code == 201
    return live, key, cid


def _balance(live, key, cid) -> dict[str, Any]:
    return dict(live.request("GET", f"/v1/customers/{cid}/balance", key).json())


def test_no_guess_spends_or_holds_a_strangers_points(live_strict):
    """A partner without the customer's code: 0 of N attempts succeed, concurrently, with and without guesses."""
    live, key, cid = live_strict
    assert live.request("POST", f"/v1/customers/{cid}/spend-code", key).status_code == 202
    code = last_code("spend_code")
    guesses = [f"{n:06d}" for n in range(100_000, 100_024) if f"{n:06d}" != code]

    def attempt(i: int) -> Any:
        body = {"customer_id": cid, "order_id": f"X-{i}", "order_amount_minor": 100_000, "points": 10}
        if i % 3:
            body["customer_code"] = guesses[i]
        if i % 2:
            body["capture"] = False
        return live.request("POST", "/v1/redemptions", key, body)

    answers = _race(24, attempt)
    statuses = sorted(r.status_code for r in answers)
    assert not any(s < 300 for s in statuses), statuses
    assert set(statuses) <= {403, 429, 503}  # 503: still contended after its retries, nothing written
    assert _balance(live, key, cid)["available"] == 500 and _balance(live, key, cid)["held"] == 0
    wrong = [r.json()["code"] for r in answers if r.status_code == 403 and r.json()["code"] == "customer_code_invalid"]
    assert len(wrong) <= 5  # every wrong guess counts, concurrent ones too: at most five before the lock
    body = {"customer_id": cid, "order_id": "Y-1", "order_amount_minor": 100_000, "points": 10, "customer_code": code}
    assert live.request("POST", "/v1/redemptions", key, body).status_code == 429  # the code is locked


def test_one_code_pays_for_one_redemption_however_many_tills_race(live_strict):
    live, key, cid = live_strict
    live.request("POST", f"/v1/customers/{cid}/spend-code", key)
    code = last_code("spend_code")

    def attempt(i: int) -> Any:
        body = {"customer_id": cid, "order_id": f"R-{i}", "order_amount_minor": 100_000, "points": 10}
        return live.request("POST", "/v1/redemptions", key, {**body, "customer_code": code})

    answers = _race(12, attempt)
    statuses = sorted(r.status_code for r in answers)
    assert statuses[0] == 201 and set(statuses[1:]) <= {403, 429}, statuses  # a used code is a wrong code: counted
    assert _balance(live, key, cid)["available"] == 490


# --- binding needs the customer ----------------------------------------------------------------------------------


def test_binding_an_identifier_waits_for_the_customers_code(strict):
    s = strict
    r = s["store"].post("/v1/customers", {"phone": PHONE, "card": "STIL 0001", "email": "Anna@Example.com"})
    assert r.status == 202 and r["customer_id"] == s["cid"] and r["created"] is False
    assert r["confirmation"]["identifiers"] == ["card", "email"]
    assert r["confirmation"]["destination"] == "+7 916 ***-**-67"  # an identifier she already has
    assert s["cafe"].get("/v1/customers/lookup?card=STIL0001").status == 404
    code = last_code("bind_code", PHONE)
    confirm = f"/v1/customers/{s['cid']}/identifiers/confirm"
    assert s["cafe"].post(confirm, {"code": code})["code"] == "customer_code_invalid"  # not the cafe's
    wrong = s["store"].post(confirm, {"code": other_than(code)})
    assert wrong.status == 403 and wrong["code"] == "customer_code_invalid"
    assert s["store"].post(confirm, {"code": "12345"}).status == 422
    done = s["store"].post(confirm, {"code": code})
    assert done.status == 200 and done.json == {"customer_id": s["cid"], "attached": ["card", "email"]}
    assert s["cafe"].get("/v1/customers/lookup?card=STIL0001")["customer_id"] == s["cid"]
    assert s["store"].post(confirm, {"code": code}).status == 403  # once
    assert s["store"].post("/v1/customers", {"phone": PHONE, "card": "STIL0001"}).status == 200  # known now


def test_a_partner_who_knows_a_card_cannot_bind_its_own_phone(strict):
    s = strict
    cid = enrol(s["cafe"], card="CARD-0001")
    before = table_snapshot()
    r = s["store"].post("/v1/customers", {"card": "CARD-0001", "phone": "+79990001122"})
    assert r.status == 422 and r["code"] == "customer_unreachable"  # no identifier to send a code to
    assert s["store"].get("/v1/customers/lookup?phone=%2B79990001122").status == 404
    assert [i for i in table_snapshot() if i not in before] == []
    for guess in ("000000", "123456"):
        r = s["store"].post(f"/v1/customers/{cid}/identifiers/confirm", {"code": guess})
        assert r.status == 403
    assert s["store"].get("/v1/customers/lookup?phone=%2B79990001122").status == 404


def test_codes_are_stored_hashed_and_never_logged(strict, caplog):
    s = strict
    caplog.set_level(logging.DEBUG)
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    s["store"].post("/v1/customers", {"phone": PHONE, "card": "STIL0002"})
    codes = [last_code("spend_code"), last_code("bind_code")]
    guess = "947361" if "947361" not in codes else "947362"
    assert spend(s["store"], s["cid"], "S-1", code=guess).status == 403
    items = [i for i in table_snapshot() if i["pk"]["S"].startswith("OTC#")]
    assert len(items) == 3  # the two codes and the store's count of wrong tries
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith(("botocore", "urllib3"))]
    assert any("notify sent" in line for line in ours)  # the sends were logged, without their codes
    for code in [*codes, guess]:
        assert not any(code in str(item) for item in items)
        assert not any(code in line for line in ours)


# --- links go to the customer ----------------------------------------------------------------------------------


def test_links_made_before_issue_17_keep_working_until_they_expire(coalition, clock):
    from chalicelib import runtime
    from chalicelib.services import portal_links

    c = coalition
    cid = enrol(c.cafe, phone=PHONE)
    old = portal_links.sign(cid, clock.now() + timedelta(hours=1), runtime.get().settings.portal_secret)
    me = c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert me.status_code == 200
    assert c.cafe.http.get(f"/me?token={old}").status_code == 303  # on to /me, with a session
    clock.advance(timedelta(hours=1))
    assert c.cafe.http.get("/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401


# --- the customer signs in ---------------------------------------------------------------------------------------


class Customer(Portal):
    """A phone's browser on the customer pages: keeps its cookies, reads and submits forms."""

    def sign_in(self, identifier: str, code_from=None) -> Any:
        form = self.forms(self.page("/me/sign-in"))["/me/sign-in"]
        sent = self.submit("/me/sign-in", {**form, "identifier": identifier})
        assert sent.status_code == 200, sent.body
        code = code_from() if code_from else last_code("sign_in")
        step = self.forms(sent.body.decode())["/me/sign-in/code"]
        return self.submit("/me/sign-in/code", {**step, "code": code})


def test_sign_in_with_a_code_see_the_page_show_a_spend_code_and_sign_out(strict):
    s = strict
    anna = Customer(s["op"].http)
    assert anna.request("GET", "/me").status_code == 303  # no session: to the sign-in page
    done = anna.sign_in("8 (916) 123-45-67")
    assert done.status_code == 303 and done.headers["Location"] == "/me" and "lc_session" in anna.jar
    set_cookie = str(done.headers.get("Set-Cookie") or done.headers.get("set-cookie"))
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/me" in set_cookie
    page = anna.page("/me")
    assert "Анна" in page and 'data-testid="available">500<' in page

    shown = anna.submit("/me/spend-code", anna.forms(page)["/me/spend-code"])
    assert shown.status_code == 200
    text = shown.body.decode()
    digits = re.search(r'data-testid="spend-code" aria-label="(\d{6})"', text)
    assert digits and re.search(r'<img class="qr" src="data:image/svg\+xml', text)
    assert spend(s["store"], s["cid"], "S-1", code=digits.group(1)).status == 201  # any till, once
    assert spend(s["cafe"], s["cid"], "C-1", code=digits.group(1))["code"] == "customer_code_invalid"

    old = dict(anna.jar)
    assert anna.submit("/me/sign-out", anna.forms(anna.page("/me"))["/me/sign-out"]).status_code == 303
    assert "lc_session" not in anna.jar
    replayed = Customer(s["op"].http)
    replayed.jar = old  # the old cookie, kept by someone: refused server-side
    assert replayed.request("GET", "/me").status_code == 303


def test_sign_in_tells_nobody_who_is_enrolled_and_counts_wrong_codes(strict):
    s = strict
    stranger = Customer(s["op"].http)
    form = stranger.forms(stranger.page("/me/sign-in"))["/me/sign-in"]
    unknown = stranger.submit("/me/sign-in", {**form, "identifier": "+79990000000"})
    known = stranger.submit(
        "/me/sign-in", {**stranger.forms(unknown.body.decode())["/me/sign-in"], "identifier": PHONE}
    )
    assert unknown.status_code == known.status_code == 200

    def shape(page: bytes) -> str:
        return re.sub(r'(value|nonce)="[^"]*"', "", page.decode())

    assert shape(unknown.body) == shape(known.body)
    assert [m.to for m in inbox("sign_in")] == [PHONE]
    code = last_code("sign_in")
    step = stranger.forms(known.body.decode())["/me/sign-in/code"]
    for _ in range(5):
        wrong = stranger.submit("/me/sign-in/code", {**step, "code": other_than(code)})
        assert wrong.status_code == 403
        step = stranger.forms(wrong.body.decode())["/me/sign-in/code"]
    locked = stranger.submit("/me/sign-in/code", {**step, "code": code})
    assert locked.status_code == 429 and "lc_session" not in stranger.jar
    no_form = stranger.request("POST", "/me/sign-in", urlencode({"identifier": PHONE}).encode())
    assert no_form.status_code == 400  # no double-submit token: refused


def test_sign_out_everywhere_ends_every_session_and_every_link(strict, clock):
    s = strict
    assert s["cafe"].post(f"/v1/customers/{s['cid']}/portal-link", {}).status == 202
    link = last_link(PHONE)
    token = link.split("token=")[1]
    phone, laptop = Customer(s["op"].http), Customer(s["op"].http)
    assert phone.sign_in(PHONE).status_code == 303
    assert laptop.request("GET", "/me?" + urlencode({"token": token})).status_code == 303  # from the link
    assert "lc_session" in laptop.jar and laptop.request("GET", "/me").status_code == 200
    clock.advance(timedelta(minutes=1))
    done = phone.submit("/me/sign-out-everywhere", phone.forms(phone.page("/me"))["/me/sign-out-everywhere"])
    assert done.status_code == 303
    assert laptop.request("GET", "/me").status_code == 303
    assert s["op"].http.get("/me?" + urlencode({"token": token})).status_code == 401
    assert s["op"].http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    clock.advance(timedelta(seconds=1))  # links made at or before that second are ended
    assert s["cafe"].post(f"/v1/customers/{s['cid']}/portal-link", {}).status == 202  # a new link works
    assert s["op"].http.get("/me?" + urlencode({"token": last_link(PHONE).split("token=")[1]})).status_code == 303


def test_forms_of_the_page_need_the_session_and_its_csrf_token(strict):
    s = strict
    anna = Customer(s["op"].http)
    anna.sign_in(PHONE)
    form = anna.forms(anna.page("/me"))["/me/spend-code"]
    assert anna.submit("/me/spend-code", {**form, "csrf": "forged"}).status_code == 403
    assert Customer(s["op"].http).submit("/me/spend-code", form).status_code == 401
    assert inbox("spend_code") == []


# --- sign-in by e-mail through a real SMTP server ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self) -> None:
            self.received: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):
            self.received.append((list(envelope.rcpt_tos), envelope.content))
            return "250 2.0.0 Queued"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_a_customer_signs_in_with_a_code_sent_by_email_and_signs_out(live, smtp):
    import requests

    controller, handler = smtp
    op = live.operator_key
    notifications = {
        "channels": ["email"],
        "sender_name": "Уют и партнёры",
        "email": {
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "none",
            "from_address": "noreply@uyut.test",
        },
    }
    assert live.request("PUT", "/v1/admin/program", op, {"notifications": notifications}).status_code == 200
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", **TRUSTED}).json()
    body = {"email": "anna@example.com", "name": "Анна", "locale": "en"}
    cid = live.request("POST", "/v1/customers", cafe["api_key"], body).json()["customer_id"]

    browser = requests.Session()
    first = browser.get(live.url + "/me", allow_redirects=False)
    assert first.status_code == 303 and first.headers["Location"] == "/me/sign-in"
    form = Portal.forms(None, browser.get(live.url + "/me/sign-in").text)["/me/sign-in"]
    sent = browser.post(live.url + "/me/sign-in", data={**form, "identifier": "Anna@Example.com"})
    assert sent.status_code == 200 and inbox() == []  # a real channel: nothing in the development inbox
    (to, raw), *_ = handler.received
    assert to == ["anna@example.com"]
    mail = email.message_from_bytes(raw, policy=email.policy.SMTP)
    code = re.search(r"\b(\d{6})\b", mail.get_content()).group(1)
    step = Portal.forms(None, sent.text)["/me/sign-in/code"]
    signed_in = browser.post(live.url + "/me/sign-in/code", data={**step, "code": code}, allow_redirects=False)
    assert signed_in.status_code == 303 and "lc_session" in browser.cookies
    page = browser.get(live.url + "/me")
    assert page.status_code == 200 and "Hello, Анна!" in page.text
    kept = browser.cookies.get("lc_session")
    out = Portal.forms(None, page.text)["/me/sign-out"]
    assert browser.post(live.url + "/me/sign-out", data=out, allow_redirects=False).status_code == 303
    thief = requests.Session()
    thief.cookies.set("lc_session", kept, path="/me")
    assert thief.get(live.url + "/me", allow_redirects=False).status_code == 303  # the old session is refused
    assert live.request("GET", f"/v1/customers/{cid}/balance", cafe["api_key"]).status_code == 200


# --- self-service: settings, my data, delete my account ------------------------------------------------------------


def _signed_in(s) -> Customer:
    anna = Customer(s["op"].http)
    assert anna.sign_in(PHONE).status_code == 303
    return anna


def test_the_customer_sets_consent_language_and_channel(strict):
    s = strict
    anna = _signed_in(s)
    form = anna.forms(anna.page("/me"))["/me/settings"]
    saved = anna.submit("/me/settings", {**form, "consent": "on", "locale": "en", "channel": "sms"})
    assert saved.status_code == 303
    page = anna.page("/me")
    assert '<html lang="en">' in page and 'data-testid="consent" checked' in page
    form = anna.forms(page)["/me/settings"]
    assert anna.submit("/me/settings", {**form, "locale": "ru", "channel": "telegram"}).status_code == 303
    page = anna.page("/me")
    assert '<html lang="ru">' in page and 'data-testid="consent" checked' not in page
    assert '<option value="telegram"' not in page  # only channels that reach her
    assert anna.submit("/me/settings", {**form, "locale": "xx"}).status_code == 422
    assert anna.submit("/me/settings", {**form, "csrf": "forged", "locale": "en"}).status_code == 403


def test_the_customer_downloads_their_data_as_json_and_csv(strict):
    s = strict
    spend_code = s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    assert spend_code.status == 202
    assert spend(s["store"], s["cid"], "S-1", code=last_code("spend_code")).status == 201
    anna = _signed_in(s)
    data = anna.request("GET", "/me/data.json")
    assert data.status_code == 200 and "attachment" in data.headers["Content-Disposition"]
    body = __import__("json").loads(data.body)
    assert body["profile"]["phone"] == PHONE and body["profile"]["name"] == "Анна"
    assert body["balance"]["available"] == 400
    assert {e["order_id"] for e in body["entries"]} == {"A-1", "S-1"}  # every partner's entries: they are hers
    table = anna.request("GET", "/me/data.csv")
    text = table.body.decode("utf-8")
    assert table.status_code == 200 and text.startswith("\ufeffПоле;Значение") and "S-1" in text and PHONE in text
    assert Customer(s["op"].http).request("GET", "/me/data.json").status_code == 401  # no session, no data


def test_deleting_the_account_erases_personal_data_and_the_books_still_add_up(strict, clock):
    s = strict
    assert spend(s["cafe"], s["cid"], "C-0", points=10).status == 403
    s["cafe"].post(f"/v1/customers/{s['cid']}/spend-code")
    held = spend(s["cafe"], s["cid"], "C-1", points=50, code=last_code("spend_code"), capture=False)
    assert held.status == 201
    anna = _signed_in(s)
    preview = anna.page("/me/delete")
    assert "50" in preview and 'data-testid="delete-now"' not in preview  # a hold at a till: not yet
    assert s["cafe"].post(f"/v1/redemptions/{held['redemption_id']}/void", {}).status == 200
    preview = anna.page("/me/delete")
    assert re.search(r'data-testid="delete-points">\s*Ваши 500 доступных баллов сгорят сразу', preview)
    form = anna.forms(preview)["/me/delete"]
    assert anna.submit("/me/delete", form).status_code == 200 and "lc_session" in anna.jar  # not confirmed
    done = anna.submit("/me/delete", {**form, "confirm": "on"})
    assert done.status_code == 200 and 'data-testid="deleted"' in done.body.decode() and "lc_session" not in anna.jar

    assert s["cafe"].get(f"/v1/customers/lookup?phone={PHONE.replace('+', '%2B')}").status == 404
    assert s["cafe"].get(f"/v1/customers/{s['cid']}/balance").status == 404
    assert accrue(s["cafe"], s["cid"], "A-2", 10_000).status == 404
    customer = next(i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{s['cid']}" and i["sk"]["S"] == "PROFILE")
    assert not {"phone", "name", "email", "card"} & set(customer) and customer["available"]["N"] == "0"
    entries = [i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{s['cid']}" and i["sk"]["S"].startswith("E#")]
    assert [e["type"]["S"] for e in entries if e["type"]["S"] == "expiry"] == ["expiry"]  # the points, forfeited
    assert "Анна" not in str(entries) and PHONE not in str(entries)
    reconciled = s["op"].get(f"/v1/admin/settlements/{clock.now():%Y-%m}/reconciliation")
    assert reconciled.status == 200 and reconciled["matches"] is True
    again = s["cafe"].post("/v1/customers", {"phone": PHONE})
    assert again.status == 201 and again["customer_id"] != s["cid"]  # the phone is free for a new enrolment


def test_the_program_may_keep_a_deleted_accounts_points_until_they_expire(strict):
    s = strict
    assert s["op"].call("PUT", "/v1/admin/program", {"deleted_account_points": "keep_until_expiry"}).status == 200
    anna = _signed_in(s)
    preview = anna.page("/me/delete")
    assert "500 доступных баллов останутся на обезличенном счёте" in preview
    assert anna.submit("/me/delete", {**anna.forms(preview)["/me/delete"], "confirm": "on"}).status_code == 200
    customer = next(i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{s['cid']}" and i["sk"]["S"] == "PROFILE")
    assert customer["available"]["N"] == "500" and "deleted_at" in customer
    s["op"].call("PATCH", f"/v1/admin/partners/{s['ids']['Уют']}", {"spend_confirmation": "never"})
    assert spend(s["cafe"], s["cid"], "C-1", points=10).status == 404  # nobody can spend them


def test_a_hold_placed_while_the_account_is_being_deleted_refuses_the_deletion(coalition, monkeypatch):
    """A till holds points between the deletion's settlement (no hold then) and its erase: the erase is cancelled,
    the settlement runs again and refuses (409, as for any hold), and the till can still capture what it held."""
    from chalicelib import runtime
    from chalicelib.db import customers as customers_db
    from chalicelib.errors import Conflict
    from chalicelib.services import customer_self
    from tests.test_api_ledger import redeem

    c = coalition
    assert c.operator.call("PUT", "/v1/admin/program", {"deleted_account_points": "keep_until_expiry"}).status == 200
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.cafe, cid, "A-1", 200_000)["points"] == 100
    erase, held = customers_db.erase, []

    def racing_erase(tx: Any, customer: Any, now_iso: str, **kw: Any) -> None:
        if not held:
            held.append(redeem(c.store, cid, "S-1", 100_000, 40, capture=False))
        erase(tx, customer, now_iso, **kw)

    monkeypatch.setattr(customers_db, "erase", racing_erase)
    with pytest.raises(Conflict):
        customer_self.delete(cid, runtime.get().clock.now())
    assert held[0].status == 201, held[0].json
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["held"] == 40  # still an account, and a hold on it
    assert c.store.post(f"/v1/redemptions/{held[0]['redemption_id']}/capture", {}).status == 200


def test_points_earned_while_the_account_is_being_deleted_are_forfeited_too(coalition, monkeypatch):
    """Under ``forfeit`` an accrual landing between the deletion's settlement and its erase is not left on the
    deleted account: the erase is cancelled, those points are forfeited too, and the account is erased."""
    from chalicelib import runtime
    from chalicelib.db import customers as customers_db
    from chalicelib.services import customer_self

    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.cafe, cid, "A-1", 200_000)["points"] == 100
    erase, earned = customers_db.erase, []

    def racing_erase(tx: Any, customer: Any, now_iso: str, **kw: Any) -> None:
        if not earned:
            earned.append(accrue(c.cafe, cid, "A-2", 100_000))
        erase(tx, customer, now_iso, **kw)

    monkeypatch.setattr(customers_db, "erase", racing_erase)
    customer_self.delete(cid, runtime.get().clock.now())
    assert earned[0].status == 201 and earned[0]["points"] == 50
    customer = next(i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{cid}" and i["sk"]["S"] == "PROFILE")
    assert "deleted_at" in customer and customer["available"]["N"] == "0"
    entries = [i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{cid}" and i["sk"]["S"].startswith("E#")]
    forfeited = [int(e["available_delta"]["N"]) for e in entries if e["type"]["S"] == "expiry"]
    assert sorted(forfeited) == [-100, -50]


def test_every_customer_page_needs_the_customers_session(strict):
    from chalicelib.routes import ROUTES

    s = strict
    anna = _signed_in(s)
    form = anna.forms(anna.page("/me"))["/me/spend-code"]
    stranger = Customer(s["op"].http)
    mine = [r for r in ROUTES if r.auth == "customer"]
    assert len(mine) >= 8
    for route in mine:
        body = urlencode(form).encode() if route.method == "POST" else None  # even with a real form's token
        response = stranger.request(route.method, route.path, body)
        assert response.status_code == 401, (route.name, response.status_code)
        assert "Анна" not in response.body.decode(errors="replace")
