"""People, not keys: a partner's owner and key invite, list and remove staff; staff sign in with a one-time code at
the till, the portal or the console; removing a member ends their sessions at once. Over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.errors import Forbidden
from chalicelib.services import auth, staff
from tests.conftest import TRUSTED, inbox, last_code, table_snapshot
from tests.staff_helpers import Browser, add_staff, session_cookies

OWNER, CASHIER, MARKETER, ACCOUNTANT = "+79160000001", "+79160000002", "+79160000003", "+79160000004"


@pytest.fixture
def shop(api):
    """Two partners: Alpha (created with its owner) and Beta (with its own owner)."""
    a = api.post("/v1/admin/partners", {"name": "Alpha", **TRUSTED, "owner": {"phone": OWNER, "name": "Ольга"}})
    assert a.status == 201, a.json
    boss = {"email": "boss@beta.example", "name": "B"}
    b = api.post("/v1/admin/partners", {"name": "Beta", **TRUSTED, "owner": boss})
    assert b.status == 201, b.json
    return {"op": api, "a": a.json, "b": b.json, "alpha": api.as_key(a["api_key"]), "beta": api.as_key(b["api_key"])}


def test_the_operator_creates_a_partner_with_its_owner_who_signs_in_with_a_code(shop):
    s = shop
    owner_id = s["a"]["owner_staff_id"]
    listed = s["alpha"].get("/v1/staff").json["items"]
    assert [(m["staff_id"], m["role"], m["phone"], m["name"]) for m in listed] == [(owner_id, "owner", OWNER, "Ольга")]
    cookies = session_cookies(s["op"], area="portal", phone="8 (916) 000-00-01")  # any spelling of the phone
    assert cookies["ls_session"].startswith(f"{s['a']['partner_id']}.{owner_id}.")


def test_a_key_invites_a_cashier_a_marketer_and_an_accountant_who_each_land_on_their_own_page(shop):
    s = shop
    key = s["a"]["api_key"]
    for role, phone in (("cashier", CASHIER), ("marketer", MARKETER), ("accountant", ACCOUNTANT)):
        add_staff(s["op"], partner_key_or_operator_key=key, role=role, phone=phone, name=role.title())
    roles = sorted(m["role"] for m in s["alpha"].get("/v1/staff").json["items"])
    assert roles == ["accountant", "cashier", "marketer", "owner"]
    landings = (("portal", CASHIER, "/till"), ("till", CASHIER, "/till"), ("portal", MARKETER, "/portal"))
    for area, phone, home in landings:
        browser = Browser(s["op"])
        status, _, headers = browser.sign_in(area, phone)
        assert status == 303 and headers["location"] == home, (area, phone, headers)
        cookie = headers["set-cookie"]
        line = next(c for c in ([cookie] if isinstance(cookie, str) else cookie) if c.startswith("ls_session="))
        assert "HttpOnly" in line and "SameSite=Strict" in line and "Path=/;" in line


def test_another_partner_never_sees_nor_removes_alphas_staff(shop):
    s = shop
    cashier = add_staff(s["op"], partner_key_or_operator_key=s["a"]["api_key"], role="cashier", phone=CASHIER, name="К")
    beta_list = s["beta"].get("/v1/staff").json["items"]
    assert [m["role"] for m in beta_list] == ["owner"] and CASHIER not in str(beta_list)
    before = table_snapshot()
    for victim in (cashier, s["a"]["owner_staff_id"]):
        r = s["beta"].call("DELETE", f"/v1/staff/{victim}")
        assert r.status == 404 and r["code"] == "not_found"
    assert table_snapshot() == before
    assert len(s["alpha"].get("/v1/staff").json["items"]) == 2


def test_the_last_owner_stays_and_a_second_owner_can_leave(shop):
    s = shop
    owner = s["a"]["owner_staff_id"]
    r = s["alpha"].call("DELETE", f"/v1/staff/{owner}")
    assert r.status == 409 and r["code"] == "last_owner"
    second = add_staff(s["op"], partner_key_or_operator_key=s["a"]["api_key"], role="owner", phone=CASHIER, name="Два")
    assert s["alpha"].call("DELETE", f"/v1/staff/{owner}").status == 204
    assert s["alpha"].call("DELETE", f"/v1/staff/{owner}").status == 204  # again: already gone, nothing more
    assert s["alpha"].call("DELETE", f"/v1/staff/{second}")["code"] == "last_owner"


def test_one_phone_is_one_staff_member_and_bad_input_changes_nothing(shop):
    s = shop
    before = table_snapshot()
    for body in (
        {"phone": OWNER, "name": "Again", "role": "cashier"},  # Alpha's owner already
        {"phone": CASHIER, "email": "x@example.com", "name": "Both", "role": "cashier"},
        {"name": "None", "role": "cashier"},
        {"phone": CASHIER, "name": "Boss", "role": "operator"},  # not a partner's role
        {"phone": "12", "name": "Short", "role": "cashier"},
    ):
        r = s["beta"].post("/v1/staff", body)
        assert r.status in (409, 422), (body, r.json)
    taken = s["beta"].post("/v1/staff", {"phone": OWNER, "name": "A", "role": "cashier"})
    assert taken["code"] == "staff_contact_taken"
    assert [i for i in table_snapshot() if i not in before and not i["pk"]["S"].startswith("REQ#")] == []


def test_an_invitation_with_an_idempotency_key_replays_and_never_makes_two(shop):
    s = shop
    body, headers = {"phone": CASHIER, "name": "К", "role": "cashier"}, {"Idempotency-Key": "invite-1"}
    first = s["alpha"].post("/v1/staff", body, headers=headers)
    again = s["alpha"].post("/v1/staff", body, headers=headers)
    assert first.status == again.status == 201 and first.raw == again.raw
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(s["alpha"].get("/v1/staff").json["items"]) == 2


def test_the_operator_has_its_own_staff(shop):
    s = shop
    op = s["op"].key
    op_id = add_staff(s["op"], partner_key_or_operator_key=op, role="operator", phone=MARKETER, name="О", admin=True)
    assert [m["staff_id"] for m in s["op"].get("/v1/admin/staff").json["items"]] == [op_id]
    assert s["alpha"].get("/v1/admin/staff").status == 403
    assert s["op"].post("/v1/admin/staff", {"phone": CASHIER, "name": "x", "role": "cashier"}).status == 422
    browser = Browser(s["op"])
    status, _, headers = browser.sign_in("admin", MARKETER)
    assert status == 303 and headers["location"] == "/admin"
    assert s["op"].call("DELETE", f"/v1/admin/staff/{op_id}").status == 204


# --- roles: one helper, the services refuse a role that may not ---------------------------------------------------


def test_only_an_owner_or_the_key_manages_a_partners_staff():
    for role in ("cashier", "marketer", "accountant", "operator"):
        with pytest.raises(Forbidden):
            staff.scope_of(auth.Principal("stf_x", role, "ptn_a", "stf_x"), staff.MANAGERS)
    assert staff.scope_of(auth.Principal("stf_x", "owner", "ptn_a", "stf_x"), staff.MANAGERS) == "ptn_a"
    assert staff.scope_of(auth.Principal("key_x", "key", "ptn_a"), staff.MANAGERS) == "ptn_a"
    assert staff.scope_of(auth.Principal("key_o", "key", None), staff.MANAGERS) == staff.OPERATOR_SCOPE
    with pytest.raises(Forbidden):
        staff.scope_of(auth.Principal("stf_r", "operator_readonly", None, "stf_r"), staff.MANAGERS)
    assert staff.scope_of(auth.Principal("stf_r", "operator_readonly", None, "stf_r"), staff.READERS) == "OPERATOR"


def test_principals_name_their_actor():
    assert auth.Principal("stf_1", "cashier", "ptn_a", "stf_1").actor == "staff:stf_1"
    assert auth.Principal("key_1", "key", "ptn_a").actor == "key:key_1"


# --- sign-in: codes, limits, decoys, sessions ------------------------------------------------------------------------


def test_an_unknown_contact_gets_the_same_pages_and_no_message(shop):
    s = shop
    known, unknown = Browser(s["op"]), Browser(s["op"])
    k_status, k_page, _ = known.send_code("till", OWNER)
    u_status, u_page, _ = unknown.send_code("till", "+79169999999")
    assert k_status == u_status == 200
    assert _without_tokens(k_page).replace(OWNER, "X") == _without_tokens(u_page).replace("+79169999999", "X")
    assert [m.to for m in inbox("staff_sign_in")] == [OWNER]
    for guess in ("000000", "123456"):
        k_status, k_page, _ = known.enter_code("till", k_page, guess if guess != last_code("staff_sign_in") else "1")
        u_status, u_page, _ = unknown.enter_code("till", u_page, guess)
        assert k_status == u_status == 403 and "ls_session" not in unknown.jar
        assert _without_tokens(k_page).replace(OWNER, "X") == _without_tokens(u_page).replace("+79169999999", "X")


def _without_tokens(page: str) -> str:
    import re

    return re.sub(r'name="csrf" value="[^"]*"|nonce-[^"\']+|nonce="[^"]*"', "", page)


def test_five_wrong_codes_lock_the_code_and_the_right_one_then_fails(shop):
    s = shop
    browser = Browser(s["op"])
    status, page, _ = browser.send_code("portal", OWNER)
    code = last_code("staff_sign_in", OWNER)
    wrong = "000000" if code != "000000" else "111111"
    answers = []
    for _ in range(5):
        status, page, _ = browser.enter_code("portal", page, wrong)
        answers.append(status)
    assert answers == [403] * 5 and "Осталось попыток" not in page  # the fifth: no tries left
    assert browser.enter_code("portal", page, code)[0] == 429  # locked: the right code opens nothing now
    assert "ls_session" not in browser.jar


def test_a_code_works_once_and_expires(shop, clock):
    s = shop
    browser = Browser(s["op"])
    _, page, _ = browser.send_code("portal", OWNER)
    code = last_code("staff_sign_in", OWNER)
    clock.advance(timedelta(minutes=11))
    assert browser.enter_code("portal", page, code)[0] == 403
    _, page, _ = browser.send_code("portal", OWNER)
    code = last_code("staff_sign_in", OWNER)
    assert browser.enter_code("portal", page, code)[0] == 303
    again = Browser(s["op"])
    _, again_page, _ = again.send_code("portal", "+79169999999")  # a fresh form to type the used code into
    again_page = again_page.replace("+79169999999", OWNER)
    assert again.enter_code("portal", again_page, code)[0] == 403  # used


def test_asking_for_codes_is_limited_per_contact_and_address(shop):
    s = shop
    browser = Browser(s["op"])
    statuses = [browser.send_code("till", OWNER)[0] for _ in range(12)]
    assert 429 in statuses and statuses[0] == 200
    assert len(inbox("staff_sign_in")) < 12


def test_a_sign_in_form_without_its_token_does_nothing(shop):
    s = shop
    browser = Browser(s["op"])
    status, _, _ = browser.request("POST", "/portal/login/code", {"csrf": "forged", "contact": OWNER})
    assert status == 400 and inbox("staff_sign_in") == []


def test_removing_a_member_ends_their_session_at_once_and_sign_out_ends_it_too(shop):
    s = shop
    cashier = add_staff(s["op"], partner_key_or_operator_key=s["a"]["api_key"], role="cashier", phone=CASHIER, name="К")
    owner_cookies = session_cookies(s["op"], area="portal", phone=OWNER)
    cashier_cookies = session_cookies(s["op"], area="till", phone=CASHIER)
    owner, till = Browser(s["op"]), Browser(s["op"])
    owner.jar.update(owner_cookies)
    till.jar.update(cashier_cookies)
    assert till.request("GET", "/till/login")[2]["location"] == "/till"  # signed in: on to the till
    assert s["alpha"].call("DELETE", f"/v1/staff/{cashier}").status == 204
    status, page, _ = till.request("GET", "/till/login")
    assert status == 200 and 'id="contact"' in page  # the old cookie opens nothing
    assert owner.request("GET", "/portal/login")[2]["location"] == "/portal"
    from chalicelib.web.portal_session import csrf_token

    token = owner.jar["ls_session"]
    assert owner.request("POST", "/portal/sign-out", {"csrf": csrf_token(token)})[0] == 303
    owner.jar["ls_session"] = token  # a copy of the cookie kept elsewhere
    assert owner.request("GET", "/portal/login")[0] == 200


def test_a_suspended_partners_staff_are_signed_out(shop):
    s = shop
    owner = Browser(s["op"])
    owner.jar.update(session_cookies(s["op"], area="portal", phone=OWNER))
    assert s["op"].call("PATCH", f"/v1/admin/partners/{s['a']['partner_id']}", {"status": "suspended"}).status == 200
    assert owner.request("GET", "/portal/login")[0] == 200


def test_a_session_ends_when_its_shift_is_over(shop, clock):
    s = shop
    owner = Browser(s["op"])
    owner.jar.update(session_cookies(s["op"], area="portal", phone=OWNER))
    clock.advance(timedelta(hours=11, minutes=59))
    assert owner.request("GET", "/portal/login")[0] == 303  # still signed in
    clock.advance(timedelta(minutes=1))
    assert owner.request("GET", "/portal/login")[0] == 200  # the sign-in page again


def test_codes_typed_are_limited_per_contact_and_address_even_across_new_codes(shop):
    s = shop
    browser = Browser(s["op"])
    for _ in range(2):  # two codes, five wrong tries each: the first locks, then a new code
        _, page, _ = browser.send_code("portal", OWNER)
        for _ in range(5):
            _, page, _ = browser.enter_code("portal", page, "000000" if last_code("staff_sign_in") != "000000" else "1")
    _, page, _ = browser.send_code("portal", OWNER)
    status, _, headers = browser.enter_code("portal", page, last_code("staff_sign_in", OWNER))
    assert status == 429 and "retry-after" in headers and "ls_session" not in browser.jar  # even the right code


def test_two_owners_removed_at_once_leave_one(shop):
    """The roster's guard in the table, not only the service's check: two removals decided on the same read."""
    from chalicelib import db
    from chalicelib.db import staff as staff_db

    s = shop
    pid = s["a"]["partner_id"]
    second = add_staff(s["op"], partner_key_or_operator_key=s["a"]["api_key"], role="owner", phone=CASHIER, name="Два")
    members = {m.staff_id: m for m in staff_db.list_members(pid)}
    first_tx, second_tx = db.Transaction(), db.Transaction()
    staff_db.remove_member(first_tx, members[s["a"]["owner_staff_id"]], "2026-03-10T10:00:00+00:00")
    staff_db.remove_member(second_tx, members[second], "2026-03-10T10:00:00+00:00")
    staff_db.commit(first_tx)
    with pytest.raises(db.TxCancelled):
        staff_db.commit(second_tx)
    assert [m["role"] for m in s["alpha"].get("/v1/staff").json["items"]] == ["owner"]


def test_the_owner_changes_a_role_effective_at_once_and_the_last_owner_keeps_theirs(shop):
    s = shop
    key = s["a"]["api_key"]
    cashier = add_staff(s["op"], partner_key_or_operator_key=key, role="cashier", phone=CASHIER, name="К")
    till = Browser(s["op"])
    till.jar.update(session_cookies(s["op"], area="till", phone=CASHIER))
    assert till.request("GET", "/portal")[2]["location"] == "/till"
    changed = s["alpha"].call("PATCH", f"/v1/staff/{cashier}", {"role": "marketer"})
    assert changed.status == 200 and changed["role"] == "marketer"
    assert till.request("GET", "/portal")[0] == 200  # the same session, the new role, at once
    owner = s["a"]["owner_staff_id"]
    r = s["alpha"].call("PATCH", f"/v1/staff/{owner}", {"role": "cashier"})
    assert r.status == 409 and r["code"] == "last_owner"
    assert s["alpha"].call("PATCH", f"/v1/staff/{cashier}", {"role": "owner"}).status == 200
    assert s["alpha"].call("PATCH", f"/v1/staff/{owner}", {"role": "accountant"}).status == 200  # another owner now
    assert s["beta"].call("PATCH", f"/v1/staff/{cashier}", {"role": "cashier"}).status == 404
    assert s["alpha"].call("PATCH", f"/v1/staff/{cashier}", {"role": "operator"}).status == 422
    changes = [r for r in s["alpha"].get("/v1/audit?action=staff.role_changed").json["items"]]
    assert [(c["before"]["role"], c["after"]["role"]) for c in reversed(changes)] == [
        ("cashier", "marketer"),
        ("marketer", "owner"),
        ("owner", "accountant"),
    ]


def test_a_role_change_decided_on_a_stale_read_is_refused(shop):
    """Two role changes decided on the same read: the second finds the role moved and commits nothing."""
    from chalicelib import db
    from chalicelib.db import staff as staff_db

    s = shop
    cashier = add_staff(s["op"], partner_key_or_operator_key=s["a"]["api_key"], role="cashier", phone=CASHIER, name="К")
    read = next(m for m in staff_db.list_members(s["a"]["partner_id"]) if m.staff_id == cashier)
    first, second = db.Transaction(), db.Transaction()
    staff_db.change_role(first, read, "marketer")
    staff_db.change_role(second, read, "owner")
    staff_db.commit(first)
    with pytest.raises(db.TxCancelled):
        staff_db.commit(second)
    assert sorted(m["role"] for m in s["alpha"].get("/v1/staff").json["items"]) == ["marketer", "owner"]


def test_a_staff_id_that_names_nobody_is_not_found_whatever_its_length(shop):
    s = shop
    for bad in ("stf_" + "a" * 2000, "key_abc", "stf_ABC", "stf_a%2Fb"):
        assert s["alpha"].call("DELETE", f"/v1/staff/{bad}").status == 404
        assert s["alpha"].call("PATCH", f"/v1/staff/{bad}", {"role": "cashier"}).status == 404
