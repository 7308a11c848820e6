"""The customer's consent cannot be got round, and no partner can lock another out: one-time spend and binding codes
as a hostile partner, a rotated key and an unlucky till would use them, over HTTP.

- a used code never comes back, whatever key asks (codes derive from a random seed kept in the replay record);
- wrong tries count per partner: one partner's guesses never lock another's till, and the fifth answers 429;
- a key's wrong codes across customers are limited (``wrong_code``);
- a wrong code tells nothing about whether the customer holds a live one;
- a code confirms an amount (the message and the page name it), and a sent code is always checked.
"""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import inbox, last_code, table_snapshot
from tests.test_api_ledger import accrue, enrol
from tests.test_customer_reach import PHONE, Customer, available, other_than, spend, strict  # noqa: F401

# --- a used code never comes back --------------------------------------------------------------------------------


def test_a_used_code_never_comes_back_whatever_key_asks(strict):  # noqa: F811
    """The store's second key sends the Idempotency-Key its first key used: a new execution, so a new code; the
    code the cashier heard once stays used."""
    s = strict
    store_id = s["ids"]["Стиль"]
    second = s["op"].as_key(s["op"].post(f"/v1/admin/partners/{store_id}/keys")["api_key"])
    path, key = f"/v1/customers/{s['cid']}/spend-code", {"Idempotency-Key": "till-1-0001"}
    assert s["store"].post(path, headers=key).status == 202
    first = last_code("spend_code", PHONE)
    assert spend(s["store"], s["cid"], "S-1", code=first).status == 201

    again = second.post(path, headers=key)
    assert again.status == 202 and again.headers.get("Idempotent-Replayed") is None  # its own execution
    fresh = last_code("spend_code", PHONE)
    assert fresh != first
    r = spend(second, s["cid"], "S-2", code=first)
    assert r.status == 403 and r["code"] == "customer_code_invalid"
    assert spend(second, s["cid"], "S-3", code=fresh).status == 201
    assert available(s["store"], s["cid"]) == 300  # two spends, never three

    sent = len(inbox("spend_code"))
    replay = s["store"].post(path, headers=key)  # the first key's replay: its code is used, nothing is sent
    assert replay.status == 202 and replay.headers.get("Idempotent-Replayed") == "true"
    assert len(inbox("spend_code")) == sent


def test_the_replay_record_keeps_a_seed_never_the_code(strict):  # noqa: F811
    s = strict
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code", headers={"Idempotency-Key": "till-1-0002"})
    code = last_code("spend_code", PHONE)
    records = [str(i) for i in table_snapshot() if '"seed' in str(i.get("body", ""))]
    assert len(records) == 1 and code not in records[0]  # the seed needs the pepper to become the code


# --- wrong tries per partner, the fifth is 429 -------------------------------------------------------------------


def _page_code(anna: Customer, points: int | None = None) -> tuple[str, str]:
    """The customer signs in and shows a code on her page (for at most ``points`` if given): (code, page)."""
    if "lc_session" not in anna.jar:
        assert anna.sign_in(PHONE).status_code == 303
    form = anna.forms(anna.page("/me"))["/me/spend-code"]
    if points is not None:
        form["points"] = str(points)
    shown = anna.submit("/me/spend-code", form)
    assert shown.status_code == 200
    text = shown.body.decode()
    digits = re.search(r'data-testid="spend-code" aria-label="(\d{6})"', text)
    assert digits
    return digits.group(1), text


def test_one_partners_wrong_codes_never_lock_another_partners_till(strict):  # noqa: F811
    s = strict
    anna = Customer(s["op"].http)
    code, _ = _page_code(anna)
    guesses = [g for g in ("100001", "100002", "100003", "100004", "100005", "100006") if g != code][:5]

    def five_wrong_from_the_cafe() -> None:
        for guess in guesses[:4]:
            r = spend(s["cafe"], s["cid"], "C-1", code=guess)
            assert r.status == 403 and r["code"] == "customer_code_invalid", r.json
        fifth = spend(s["cafe"], s["cid"], "C-1", code=guesses[4])
        assert fifth.status == 429 and fifth["code"] == "customer_code_locked", fifth.json  # the fifth says so
        assert 1 <= int(fifth.headers["Retry-After"]) <= 600

    five_wrong_from_the_cafe()
    assert spend(s["cafe"], s["cid"], "C-1", code=code).status == 429  # the cafe is locked, even with the right code
    honest = spend(s["store"], s["cid"], "S-1", code=code)  # the honest till: the page code still works
    assert honest.status == 201, honest.json
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")  # the store's own sent code, with the cafe guessing
    five_wrong_from_the_cafe()
    assert spend(s["store"], s["cid"], "S-2", code=last_code("spend_code", PHONE)).status == 201
    assert available(s["store"], s["cid"]) == 300


def test_wrong_codes_of_one_key_across_customers_are_limited(strict):  # noqa: F811
    """A key guesses four codes at each of six customers (never reaching one customer's lock): the 21st wrong code
    answers 429 rate_limited, and then even a right code from that key waits; the partner's other key does not."""
    s = strict
    cids = []
    for n in range(6):
        cid = enrol(s["cafe"], phone=f"+7916000000{n}")
        accrue(s["cafe"], cid, f"G-{n}", 100_000)
        cids.append(cid)
    answers = [spend(s["store"], cid, f"X-{cid}-{i}", points=10, code=f"{i:06d}") for cid in cids for i in range(4)]
    assert [r.status for r in answers[:20]] == [403] * 20
    limited = answers[20]
    assert limited.status == 429 and limited["code"] == "rate_limited" and limited["limit"] == "wrong_code"
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    right = spend(s["store"], s["cid"], "S-1", code=last_code("spend_code", PHONE))
    assert right.status == 429 and right["code"] == "rate_limited"  # a guesser learns nothing more
    store_id = s["ids"]["Стиль"]
    other_key = s["op"].as_key(s["op"].post(f"/v1/admin/partners/{store_id}/keys")["api_key"])
    other_key.post(f"/v1/customers/{s['cid']}/spend-code")
    assert spend(other_key, s["cid"], "S-1", code=last_code("spend_code", PHONE)).status == 201


def test_a_right_code_costs_the_key_nothing(strict):  # noqa: F811
    """25 spends with the right code from one key: more than the key's allowance of wrong ones, all go through."""
    s = strict
    for n in range(25):
        phone = f"+7916100000{n // 5}"
        if n % 5 == 0:
            accrue(s["cafe"], enrol(s["cafe"], phone=phone), f"G-{n}", 100_000)
        cid = s["cafe"].get(f"/v1/customers/lookup?phone=%2B{phone[1:]}")["customer_id"]
        s["store"].post(f"/v1/customers/{cid}/spend-code")
        r = spend(s["store"], cid, f"S-{n}", points=1, code=last_code("spend_code", phone))
        assert r.status == 201, (n, r.json)


# --- a wrong code tells nothing --------------------------------------------------------------------------------


def _shape(r: Any) -> tuple[Any, ...]:
    body = dict(r.json)
    body.pop("request_id")
    return r.status, tuple(sorted(body.items()))


def test_a_wrong_code_does_not_tell_whether_the_customer_holds_a_live_code(strict):  # noqa: F811
    s = strict
    boris = enrol(s["cafe"], phone="+79167654321")
    accrue(s["cafe"], boris, "B-1", 1_000_000)
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")  # Anna holds a live code, Boris none
    guess = "947361" if last_code("spend_code", PHONE) != "947361" else "947362"
    with_code = spend(s["store"], s["cid"], "S-1", code=guess)
    without = spend(s["store"], boris, "S-2", code=guess)
    assert with_code.status == 403 and with_code["code"] == "customer_code_invalid"
    assert _shape(with_code) == _shape(without)
    assert "attempts_left" not in with_code.json
    for n in range(3):  # the count of tries is the same too: the fifth locks either way
        a, b = spend(s["store"], s["cid"], "S-1", code=guess), spend(s["store"], boris, "S-2", code=guess)
        assert _shape(a) == _shape(b), n
    a, b = spend(s["store"], s["cid"], "S-1", code=guess), spend(s["store"], boris, "S-2", code=guess)
    assert a.status == b.status == 429 and a["code"] == b["code"] == "customer_code_locked"


# --- a code confirms an amount -----------------------------------------------------------------------------------


def test_a_sent_code_names_its_points_and_confirms_at_most_those(strict):  # noqa: F811
    s = strict
    path = f"/v1/customers/{s['cid']}/spend-code"
    sent = s["cafe"].post(path, {"points": 120})
    assert sent.status == 202 and sent["points"] == 120
    message = inbox("spend_code")[0]
    assert "120 баллов" in message.text and "«Уют»" in message.text
    code = last_code("spend_code", PHONE)
    for capture in (True, False):  # a spend or a hold of more: refused, and the code is kept
        more = spend(s["cafe"], s["cid"], f"C-{capture}", points=121, code=code, capture=capture)
        assert more.status == 403 and more["code"] == "customer_code_invalid" and more["confirmed_points"] == 120
    assert spend(s["cafe"], s["cid"], "C-1", points=120, code=code).status == 201
    assert available(s["cafe"], s["cid"]) == 380

    default = s["cafe"].post(path)  # without points: what she has now
    assert default.status == 202 and default["points"] == 380 and "380 баллов" in inbox("spend_code")[0].text
    for bad in ({"points": 0}, {"points": "5"}, {"points": 1.5}, {"amount": 5}):
        r = s["cafe"].post(path, bad)
        assert r.status == 422 and r["code"] == "validation_error", (bad, r.json)


def test_the_english_message_names_points_and_partner(strict):  # noqa: F811
    s = strict
    cid = enrol(s["cafe"], phone="+79165550101", locale="en")
    accrue(s["cafe"], cid, "E-1", 100_000)
    s["cafe"].post(f"/v1/customers/{cid}/spend-code", {"points": 1})
    assert "up to 1 point at Уют" in inbox("spend_code")[0].text


def test_the_page_code_confirms_the_amount_the_customer_typed(strict):  # noqa: F811
    s = strict
    anna = Customer(s["op"].http)
    anna.sign_in(PHONE)
    page = anna.page("/me")
    assert 'name="points"' in page and 'value="500"' in page  # she sees what a code may pay, and may lower it
    code, shown = _page_code(anna, points=50)
    assert 'data-testid="spend-most">50<' in shown
    more = spend(s["store"], s["cid"], "S-1", points=60, code=code)
    assert more.status == 403 and more["code"] == "customer_code_invalid"
    assert spend(s["store"], s["cid"], "S-1", points=50, code=code).status == 201
    code, shown = _page_code(anna, points=100_000)  # more than she has: the code pays at most what she has
    assert 'data-testid="spend-most">450<' in shown


# --- a sent code is always checked -------------------------------------------------------------------------------


def test_a_code_that_is_sent_is_checked_where_the_policy_needs_none(strict):  # noqa: F811
    s = strict
    store_id = s["ids"]["Стиль"]
    assert s["op"].call("PATCH", f"/v1/admin/partners/{store_id}", {"spend_confirmation": "never"}).status == 200
    wrong = spend(s["store"], s["cid"], "S-1", code="000000")
    assert wrong.status == 403 and wrong["code"] == "customer_code_invalid"
    assert available(s["store"], s["cid"]) == 500
    assert spend(s["store"], s["cid"], "S-1").status == 201  # without a code: the policy's way
    s["store"].post(f"/v1/customers/{s['cid']}/spend-code")
    code = last_code("spend_code", PHONE)
    assert spend(s["store"], s["cid"], "S-2", code=code).status == 201  # a right one is used
    assert spend(s["store"], s["cid"], "S-3", code=code).status == 403  # once


# --- binding codes are counted ----------------------------------------------------------------------------------


def test_wrong_binding_codes_are_counted_and_the_fifth_locks(strict):  # noqa: F811
    s = strict
    assert s["store"].post("/v1/customers", {"phone": PHONE, "card": "STIL 0009"}).status == 202
    code = last_code("bind_code", PHONE)
    confirm = f"/v1/customers/{s['cid']}/identifiers/confirm"
    guesses = [g for g in ("000001", "000002", "000003", "000004", "000005", "000006") if g != code][:5]
    for guess in guesses[:4]:
        r = s["store"].post(confirm, {"code": guess})
        assert r.status == 403 and r["code"] == "customer_code_invalid", r.json
    fifth = s["store"].post(confirm, {"code": guesses[4]})
    assert fifth.status == 429 and fifth["code"] == "customer_code_locked" and int(fifth.headers["Retry-After"]) >= 1
    locked = s["store"].post(confirm, {"code": code})  # even the right code: the guesser got five tries
    assert locked.status == 429 and locked["code"] == "customer_code_locked"
    assert s["cafe"].get("/v1/customers/lookup?card=STIL0009").status == 404
