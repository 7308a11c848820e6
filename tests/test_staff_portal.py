"""The partner portal with people: the owner manages staff and API keys; each role sees only its pages; a role that
may not is refused over HTTP (a cashier inviting, a marketer removing the owner, another partner's owner)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TRUSTED, table_snapshot
from tests.staff_helpers import Browser, session_cookies

OWNER, CASHIER, MARKETER, ACCOUNTANT = "+79160000001", "+79160000002", "+79160000003", "+79160000004"
BETA_OWNER = "+79160000005"


def _signed_in(api, area: str, phone: str) -> Browser:
    browser = Browser(api)
    browser.jar.update(session_cookies(api, area=area, phone=phone))
    return browser


def _members(api, key: str) -> list[dict]:
    return list(api.as_key(key).get("/v1/staff").json["items"])


@pytest.fixture
def team(api):
    """Alpha's owner has invited a cashier, a marketer and an accountant from the portal; Beta has its own owner."""
    a = api.post("/v1/admin/partners", {"name": "Alpha", **TRUSTED, "owner": {"phone": OWNER, "name": "Ольга"}}).json
    b = api.post("/v1/admin/partners", {"name": "Beta", **TRUSTED, "owner": {"phone": BETA_OWNER, "name": "Б"}}).json
    owner = _signed_in(api, "portal", OWNER)
    people = (("Кира", CASHIER, "cashier"), ("Марк", MARKETER, "marketer"), ("Анна", ACCOUNTANT, "accountant"))
    for name, phone, role in people:
        status, page, _ = owner.request("GET", "/portal/staff")
        assert status == 200, page
        form = Browser.forms(page)["/portal/staff"]
        fields = {**form, "name": name, "contact": phone, "role": role}
        status, _, headers = owner.request("POST", "/portal/staff", fields)
        assert status == 303 and headers["location"] == "/portal/staff", status
    return {"api": api, "a": a, "b": b, "owner": owner}


def test_the_owner_sees_the_staff_invited_from_the_portal(team):
    t = team
    status, page, _ = t["owner"].request("GET", "/portal/staff")
    assert status == 200
    assert sorted(re.findall(r"data-testid=\"member\"><td>([^<]+)</td>", page)) == ["Анна", "Кира", "Марк", "Ольга"]
    roles = sorted(m["role"] for m in _members(t["api"], t["a"]["api_key"]))
    assert roles == ["accountant", "cashier", "marketer", "owner"]
    nav = t["owner"].request("GET", "/portal")[1]
    for link in ("/portal/staff", "/portal/keys", "/portal/settlements", "/portal/campaigns/new"):
        assert f'href="{link}"' in nav


def test_each_role_sees_only_its_pages(team):
    t = team
    cashier = _signed_in(t["api"], "portal", CASHIER)
    assert cashier.request("GET", "/portal")[2]["location"] == "/till"
    marketer = _signed_in(t["api"], "portal", MARKETER)
    status, page, _ = marketer.request("GET", "/portal")
    assert status == 200 and 'href="/portal/settlements"' not in page and 'href="/portal/staff"' not in page
    assert marketer.request("GET", "/portal/campaigns/new")[0] == 200
    for hidden in ("/portal/settlements", "/portal/staff", "/portal/keys", "/portal/settlements/2026-03/csv"):
        status, _, headers = marketer.request("GET", hidden)
        assert status == 303 and headers["location"] == "/portal", hidden
    accountant = _signed_in(t["api"], "portal", ACCOUNTANT)
    status, _, headers = accountant.request("GET", "/portal")
    assert status == 303 and headers["location"] == "/portal/settlements"
    status, page, _ = accountant.request("GET", "/portal/settlements")
    assert status == 200 and 'href="/portal/campaigns/new"' not in page
    status, _, headers = accountant.request("GET", "/portal/settlements/2026-03/csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    form = Browser.forms(page)["/portal/logout"]
    before = table_snapshot()
    campaign = {**form, "name": "x", "reward_type": "fixed", "reward_value": "5"}
    assert accountant.request("POST", "/portal/campaigns", campaign)[0] == 403  # read-only
    assert table_snapshot() == before


def test_a_cashier_cannot_invite_and_a_marketer_cannot_remove_the_owner(team):
    t = team
    owner_id = t["a"]["owner_staff_id"]
    before = _members(t["api"], t["a"]["api_key"])
    cashier = _signed_in(t["api"], "till", CASHIER)
    invite = {"csrf": "x", "nonce": "n" * 22, "name": "Чужой", "contact": "+79169990000", "role": "owner"}
    status, _, headers = cashier.request("POST", "/portal/staff", invite)
    assert status == 303 and headers["location"] == "/till"
    marketer = _signed_in(t["api"], "portal", MARKETER)
    form = Browser.forms(marketer.request("GET", "/portal")[1])["/portal/logout"]
    assert marketer.request("POST", f"/portal/staff/{owner_id}/remove", form)[0] == 403
    assert marketer.request("POST", "/portal/staff", {**form, **invite, "csrf": form["csrf"]})[0] == 403
    assert _members(t["api"], t["a"]["api_key"]) == before


def test_another_partners_owner_cannot_remove_alphas_staff(team):
    t = team
    cashier_id = next(m["staff_id"] for m in _members(t["api"], t["a"]["api_key"]) if m["role"] == "cashier")
    beta = _signed_in(t["api"], "portal", BETA_OWNER)
    status, page, _ = beta.request("GET", "/portal/staff")
    assert status == 200 and "Кира" not in page and CASHIER not in page
    form = Browser.forms(page)["/portal/staff"]
    assert beta.request("POST", f"/portal/staff/{cashier_id}/remove", form)[0] == 404
    assert cashier_id in {m["staff_id"] for m in _members(t["api"], t["a"]["api_key"])}


def test_the_last_owner_cannot_be_removed_from_the_portal(team):
    t = team
    owner_id = t["a"]["owner_staff_id"]
    page = t["owner"].request("GET", "/portal/staff")[1]
    form = Browser.forms(page)[f"/portal/staff/{owner_id}/remove"]
    status, page, _ = t["owner"].request("POST", f"/portal/staff/{owner_id}/remove", form)
    assert status == 409 and 'data-testid="problem"' in page


def test_removing_a_member_from_the_portal_ends_their_session(team):
    t = team
    marketer = _signed_in(t["api"], "portal", MARKETER)
    assert marketer.request("GET", "/portal")[0] == 200
    marketer_id = next(m["staff_id"] for m in _members(t["api"], t["a"]["api_key"]) if m["role"] == "marketer")
    page = t["owner"].request("GET", "/portal/staff")[1]
    form = Browser.forms(page)[f"/portal/staff/{marketer_id}/remove"]
    assert t["owner"].request("POST", f"/portal/staff/{marketer_id}/remove", form)[0] == 303
    status, page, _ = marketer.request("GET", "/portal")
    assert status == 200 and 'action="/portal/login/code"' in page  # signed out: the sign-in page


def test_the_key_signs_in_only_until_the_partner_has_an_owner(team, api):
    t = team
    ownerless = api.post("/v1/admin/partners", {"name": "Gamma"})["api_key"]
    for key, expected in ((t["a"]["api_key"], 401), (ownerless, 303)):
        browser = Browser(api)
        form = Browser.forms(browser.request("GET", "/portal")[1])["/portal/login"]
        status, page, _ = browser.request("POST", "/portal/login", {**form, "api_key": key})
        assert status == expected, page[:300]


def test_the_owner_creates_rotates_and_revokes_keys_each_shown_once(team):
    t = team
    owner, api = t["owner"], t["api"]
    form = Browser.forms(owner.request("GET", "/portal/keys")[1])["/portal/keys"]
    status, page, _ = owner.request("POST", "/portal/keys", {**form, "label": "Касса 2"})
    assert status == 201
    key = re.search(r'data-testid="new-key">([^<]+)<', page).group(1)
    assert api.as_key(key).get("/v1/partner").status == 200
    again = owner.request("POST", "/portal/keys", {**form, "label": "Касса 2"})  # the same press twice
    assert re.search(r'data-testid="new-key">([^<]+)<', again[1]).group(1) == key
    listed = owner.request("GET", "/portal/keys")[1]
    assert "Касса 2" in listed and key not in listed and listed.count('data-testid="key"') == 2
    key_id = key.split(".")[1]
    rotate = Browser.forms(listed)[f"/portal/keys/{key_id}/rotate"]
    status, page, _ = owner.request("POST", f"/portal/keys/{key_id}/rotate", rotate)
    new = re.search(r'data-testid="new-key">([^<]+)<', page).group(1)
    assert status == 201 and new != key
    assert api.as_key(key).get("/v1/partner").status == 401 and api.as_key(new).get("/v1/partner").status == 200
    listed = owner.request("GET", "/portal/keys")[1]
    new_id = new.split(".")[1]
    revoke = Browser.forms(listed)[f"/portal/keys/{new_id}/revoke"]
    assert owner.request("POST", f"/portal/keys/{new_id}/revoke", revoke)[0] == 303
    assert api.as_key(new).get("/v1/partner").status == 401
    marketer = _signed_in(api, "portal", MARKETER)
    form = Browser.forms(marketer.request("GET", "/portal")[1])["/portal/logout"]
    assert marketer.request("POST", "/portal/keys", {**form, "label": "x"})[0] == 403


def test_the_owner_is_told_when_the_partner_has_ten_active_keys(team):
    t = team
    owner = t["owner"]
    for n in range(9):  # the first key came with the partner
        form = Browser.forms(owner.request("GET", "/portal/keys")[1])["/portal/keys"]
        assert owner.request("POST", "/portal/keys", {**form, "label": f"Касса {n}"})[0] == 201
    form = Browser.forms(owner.request("GET", "/portal/keys")[1])["/portal/keys"]
    status, page, _ = owner.request("POST", "/portal/keys", {**form, "label": "Одиннадцатый"})
    assert status == 409 and 'data-testid="key-limit"' in page and 'data-testid="new-key"' not in page
    assert "не больше 10 действующих ключей" in page and page.count('data-testid="key"') == 10


def test_operator_staff_are_refused_at_the_portal(team):
    t = team
    api = t["api"]
    assert api.post("/v1/admin/staff", {"phone": "+79160000009", "name": "Оп", "role": "operator"}).status == 201
    operator = _signed_in(api, "admin", "+79160000009")
    assert operator.request("GET", "/portal")[0] == 403


def _audit(api, key: str) -> list[dict]:
    answer = api.as_key(key).get("/v1/audit?limit=100")
    assert answer.status == 200, answer.json
    return list(answer.json["items"])


def test_staff_and_key_changes_are_in_the_audit_log_with_who_did_them(team):
    t = team
    api, key, owner_id = t["api"], t["a"]["api_key"], t["a"]["owner_staff_id"]
    records = _audit(api, key)
    added = [r for r in records if r["action"] == "staff.added"]
    assert len(added) == 4  # the owner with the partner, then three people the owner invited from the portal
    by_owner = [r for r in added if r["actor"] == f"staff:{owner_id}"]
    assert sorted(r["after"]["role"] for r in by_owner) == ["accountant", "cashier", "marketer"]
    assert {r["after"].get("phone") for r in by_owner} == {CASHIER, MARKETER, ACCOUNTANT}
    marketer_id = next(m["staff_id"] for m in _members(api, key) if m["role"] == "marketer")
    assert api.as_key(key).call("DELETE", f"/v1/staff/{marketer_id}").status == 204
    removed = [r for r in _audit(api, key) if r["action"] == "staff.removed"]
    assert len(removed) == 1 and removed[0]["target"] == f"staff:{marketer_id}"
    assert removed[0]["before"]["role"] == "marketer" and removed[0]["actor"].startswith("key:")
    assert api.as_key(key).call("DELETE", f"/v1/staff/{marketer_id}").status == 204  # again: no second record
    assert len([r for r in _audit(api, key) if r["action"] == "staff.removed"]) == 1
    owner = t["owner"]
    form = Browser.forms(owner.request("GET", "/portal/keys")[1])["/portal/keys"]
    page = owner.request("POST", "/portal/keys", {**form, "label": "Касса 3"})[1]
    made = re.search(r'data-testid="new-key">([^<]+)<', page).group(1).split(".")[1]
    rotate = Browser.forms(owner.request("GET", "/portal/keys")[1])[f"/portal/keys/{made}/rotate"]
    owner.request("POST", f"/portal/keys/{made}/rotate", rotate)
    listed = owner.request("GET", "/portal/keys")[1]
    new_id = next(r["after"]["key_id"] for r in _audit(api, key) if r["action"] == "key.rotated")
    revoke = Browser.forms(listed)[f"/portal/keys/{new_id}/revoke"]
    owner.request("POST", f"/portal/keys/{new_id}/revoke", revoke)
    mine = f"staff:{owner_id}"
    keyed = {r["action"]: r for r in _audit(api, key) if r["action"].startswith("key.") and r["actor"] == mine}
    assert keyed["key.created"]["after"]["label"] == "Касса 3" and keyed["key.created"]["actor"] == f"staff:{owner_id}"
    assert keyed["key.rotated"]["target"] == f"key:{made}" and keyed["key.rotated"]["actor"] == f"staff:{owner_id}"
    assert keyed["key.revoked"]["target"] == f"key:{new_id}" and keyed["key.revoked"]["actor"] == f"staff:{owner_id}"
    other = _audit(api, t["b"]["api_key"])
    assert not any(r["action"].startswith("staff.") and r["partner_id"] == t["a"]["partner_id"] for r in other)


def test_the_owner_changes_a_role_from_the_portal_and_a_marketer_cannot(team):
    t = team
    api, key = t["api"], t["a"]["api_key"]
    cashier_id = next(m["staff_id"] for m in _members(api, key) if m["role"] == "cashier")
    page = t["owner"].request("GET", "/portal/staff")[1]
    form = Browser.forms(page)[f"/portal/staff/{cashier_id}/role"]
    status, _, _ = t["owner"].request("POST", f"/portal/staff/{cashier_id}/role", {**form, "role": "accountant"})
    assert status == 303
    assert next(m["role"] for m in _members(api, key) if m["staff_id"] == cashier_id) == "accountant"
    marketer = _signed_in(api, "portal", MARKETER)
    own = Browser.forms(marketer.request("GET", "/portal")[1])["/portal/logout"]
    assert marketer.request("POST", f"/portal/staff/{cashier_id}/role", {**own, "role": "owner"})[0] == 403
    assert next(m["role"] for m in _members(api, key) if m["staff_id"] == cashier_id) == "accountant"
