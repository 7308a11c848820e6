"""The owner's webhook pages in the portal, over HTTP: register an endpoint (the secret shown once), see its
deliveries after an accrual and a dispatcher pass, resend one (once per press), rotate, delete after a question;
other roles and other partners are kept out, a form without its CSRF token changes nothing."""

from __future__ import annotations

import re
from html import unescape

import pytest

from chalicelib.services import dispatcher
from tests.conftest import TRUSTED, table_snapshot
from tests.staff_helpers import Browser, add_staff, session_cookies
from tests.test_api_ledger import accrue, enrol

pytest_plugins = ("tests.webhook_receiver",)

OWNER, MARKETER, ACCOUNTANT, CASHIER, BETA_OWNER = (f"+7916000010{n}" for n in range(5))


def _signed_in(api, phone: str, area: str = "portal") -> Browser:
    browser = Browser(api)
    browser.jar.update(session_cookies(api, area=area, phone=phone))
    return browser


@pytest.fixture
def shop(api):
    a = api.post("/v1/admin/partners", {"name": "Alpha", **TRUSTED, "owner": {"phone": OWNER, "name": "Ольга"}}).json
    b = api.post("/v1/admin/partners", {"name": "Beta", **TRUSTED, "owner": {"phone": BETA_OWNER, "name": "Б"}}).json
    for phone, role in ((MARKETER, "marketer"), (ACCOUNTANT, "accountant"), (CASHIER, "cashier")):
        add_staff(api, partner_key_or_operator_key=a["api_key"], phone=phone, role=role, name=role)
    return {"api": api, "a": a, "b": b, "owner": _signed_in(api, OWNER)}


def _register(owner: Browser, url: str, *events: str) -> tuple[int, str]:
    page = owner.request("GET", "/portal/webhooks")[1]
    form = Browser.forms(page)["/portal/webhooks"]
    chosen = {f"event_{e}": "on" for e in events} if events else {"all_events": "on"}
    status, page, headers = owner.request("POST", "/portal/webhooks", {**form, "url": url, **chosen})
    assert headers["cache-control"] == "no-store"
    return status, page


def _secret(page: str) -> str:
    found = re.search(r'data-testid="new-secret">([^<]+)<', page)
    assert found is not None, page
    return unescape(found.group(1))


def _hooks() -> list[dict]:
    """The webhook items: endpoints, deliveries and their schedule."""
    return [i for i in table_snapshot() if i["pk"]["S"].startswith("HOOK")]


def _hook_id(api, key: str) -> str:
    [hook] = api.as_key(key).get("/v1/webhooks").json["items"]
    return str(hook["webhook_id"])


def test_the_owner_registers_sees_a_delivery_and_resends_it(shop, receiver, clock):
    s = shop
    status, page = _register(s["owner"], receiver.url + "/hook", "accrual.created")
    assert status == 201
    secret = _secret(page)
    assert secret.startswith("whsec_") and secret not in str(table_snapshot())
    hook_id = _hook_id(s["api"], s["a"]["api_key"])
    listing = s["owner"].request("GET", "/portal/webhooks")[1]
    assert secret not in listing and f'href="/portal/webhooks/{hook_id}"' in listing  # shown once
    partner = s["api"].as_key(s["a"]["api_key"])
    assert accrue(partner, enrol(partner, phone="+79161119001"), "PW-1", 100_000).status == 201

    dispatcher.poll(clock.now())

    status, page, _ = s["owner"].request("GET", f"/portal/webhooks/{hook_id}")
    assert status == 200 and secret not in page
    [row] = re.findall(r'<tr data-testid="delivery">(.*?)</tr>', page, re.S)
    assert "accrual.created" in row and 'data-testid="response-code">200<' in row
    assert re.search(r'data-testid="attempts">1<', row) and re.search(r"<td>\d+ мс</td>", row)
    [event_id] = [r.event["id"] for r in receiver.got]
    assert event_id in row
    resend = f"/portal/webhooks/{hook_id}/deliveries/{event_id}/resend"
    form = Browser.forms(page)[resend]
    for _ in range(2):  # the same press again after the resend went out (a reload, a lost answer): no third send
        status, _, headers = s["owner"].request("POST", resend, form)
        assert status == 303 and headers["location"] == f"/portal/webhooks/{hook_id}"
        dispatcher.poll(clock.now())

    assert [r.event["id"] for r in receiver.got] == [event_id, event_id]
    page = s["owner"].request("GET", f"/portal/webhooks/{hook_id}")[1]
    assert 'data-testid="attempts">2<' in page


def test_the_ru_page_speaks_russian_and_the_en_page_english(shop, receiver):
    s = shop
    status, page = _register(s["owner"], "ftp://example.com/hook")
    assert status == 422 and 'data-testid="problem-url"' in page and 'aria-invalid="true"' in page
    assert "не принимается" in page  # refused by the service, in the page's language
    status, page = _register(s["owner"], "x")
    assert status == 422 and "Укажите полный URL" in page
    status, page, _ = s["owner"].request("GET", "/portal/webhooks?lang=en")
    form = Browser.forms(page)["/portal/webhooks"]
    status, page, _ = s["owner"].request("POST", "/portal/webhooks", {**form, "url": receiver.url})
    assert status == 422 and "Choose at least one event type" in page  # no event chosen
    assert s["api"].as_key(s["a"]["api_key"]).get("/v1/webhooks").json["items"] == []


def test_a_private_or_plain_http_url_is_refused_in_production(shop, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "api")
    for url in ("http://example.com/hook", "https://10.0.0.5/hook", "https://169.254.169.254/latest"):
        status, page = _register(shop["owner"], url)
        assert status == 422 and 'data-testid="problem-url"' in page and "не принимается" in page, url
    assert shop["api"].as_key(shop["a"]["api_key"]).get("/v1/webhooks").json["items"] == []


def test_the_eleventh_endpoint_is_refused_next_to_the_form(shop, receiver):
    for n in range(10):
        assert _register(shop["owner"], f"{receiver.url}/{n}")[0] == 201
    status, page = _register(shop["owner"], f"{receiver.url}/10")
    assert status == 409 and 'data-testid="problem-form"' in page and "не больше 10" in page
    assert len(shop["api"].as_key(shop["a"]["api_key"]).get("/v1/webhooks").json["items"]) == 10


def test_rotate_shows_the_new_secret_once_and_delete_asks_first(shop, receiver):
    s = shop
    first = _secret(_register(s["owner"], receiver.url)[1])
    hook_id = _hook_id(s["api"], s["a"]["api_key"])
    path = f"/portal/webhooks/{hook_id}"
    form = Browser.forms(s["owner"].request("GET", path)[1])[f"{path}/rotate"]
    status, page, _ = s["owner"].request("POST", f"{path}/rotate", {**form, "overlap_hours": "500"})
    assert status == 422 and 'data-testid="problem-overlap"' in page
    status, page, headers = s["owner"].request("POST", f"{path}/rotate", {**form, "overlap_hours": "2"})
    assert status == 200 and headers["cache-control"] == "no-store"
    second = _secret(page)
    assert second != first and second not in s["owner"].request("GET", path)[1]
    form = Browser.forms(page)[f"{path}/delete"]
    status, page, _ = s["owner"].request("POST", f"{path}/delete", form)
    assert status == 200 and 'data-testid="confirm"' in page  # a question, nothing deleted yet
    assert len(s["api"].as_key(s["a"]["api_key"]).get("/v1/webhooks").json["items"]) == 1
    form = Browser.forms(page)[f"{path}/delete"]
    assert form["confirmed"] == "yes"
    status, _, headers = s["owner"].request("POST", f"{path}/delete", form)
    assert status == 303 and headers["location"] == "/portal/webhooks"
    assert s["api"].as_key(s["a"]["api_key"]).get("/v1/webhooks").json["items"] == []


def test_other_roles_are_kept_out(shop, receiver):
    s = shop
    _register(s["owner"], receiver.url)
    hook_id = _hook_id(s["api"], s["a"]["api_key"])
    before = _hooks()
    for phone in (MARKETER, ACCOUNTANT):
        person = _signed_in(s["api"], phone)
        page = person.request("GET", "/portal/settlements" if phone == ACCOUNTANT else "/portal")[1]
        assert 'href="/portal/webhooks"' not in page
        for path in ("/portal/webhooks", f"/portal/webhooks/{hook_id}"):
            status, _, headers = person.request("GET", path)
            assert status == 303 and headers["location"] in ("/portal", "/portal/settlements"), (phone, path)
        form = Browser.forms(page)["/portal/logout"]
        assert person.request("POST", "/portal/webhooks", {**form, "url": receiver.url, "all_events": "on"})[0] == 403
        assert person.request("POST", f"/portal/webhooks/{hook_id}/delete", {**form, "confirmed": "yes"})[0] == 403
    cashier = _signed_in(s["api"], CASHIER, area="till")
    status, _, headers = cashier.request("GET", "/portal/webhooks")
    assert status == 303 and headers["location"] == "/till"
    assert _hooks() == before


def test_another_partners_webhook_is_not_found(shop, receiver, clock):
    s = shop
    _register(s["owner"], receiver.url)
    hook_id = _hook_id(s["api"], s["a"]["api_key"])
    partner = s["api"].as_key(s["a"]["api_key"])
    assert accrue(partner, enrol(partner, phone="+79161119002"), "PW-2", 100_000).status == 201
    dispatcher.poll(clock.now())
    [event_id] = [r.event["id"] for r in receiver.got]
    beta = _signed_in(s["api"], BETA_OWNER)
    page = beta.request("GET", "/portal/webhooks")[1]
    assert hook_id not in page and receiver.url not in page
    assert beta.request("GET", f"/portal/webhooks/{hook_id}")[0] == 404
    form = Browser.forms(page)["/portal/webhooks"]
    for action in ("rotate", "delete", f"deliveries/{event_id}/resend"):
        fields = {**form, "confirmed": "yes", "overlap_hours": "1"}
        assert beta.request("POST", f"/portal/webhooks/{hook_id}/{action}", fields)[0] == 404, action
    dispatcher.poll(clock.now())
    assert len(receiver.got) == 1
    assert len(partner.get("/v1/webhooks").json["items"]) == 1


def test_a_form_without_its_csrf_token_is_refused(shop, receiver):
    s = shop
    page = s["owner"].request("GET", "/portal/webhooks")[1]
    form = Browser.forms(page)["/portal/webhooks"]
    before = table_snapshot()
    for fields in ({"nonce": form["nonce"]}, {**form, "csrf": "0" * 32}):
        status, _, _ = s["owner"].request(
            "POST", "/portal/webhooks", {**fields, "url": receiver.url, "all_events": "on"}
        )
        assert status == 403
    assert table_snapshot() == before


def test_a_switched_off_endpoint_shows_why_and_offers_no_resend(shop, receiver, clock):
    from chalicelib.db import webhooks as webhooks_db
    from chalicelib.services import webhooks

    s = shop
    _register(s["owner"], receiver.url)
    hook_id = _hook_id(s["api"], s["a"]["api_key"])
    partner = s["api"].as_key(s["a"]["api_key"])
    assert accrue(partner, enrol(partner, phone="+79161119003"), "PW-3", 100_000).status == 201
    dispatcher.poll(clock.now())
    hook = webhooks_db.get(s["a"]["partner_id"], hook_id)
    assert hook is not None
    webhooks.give_up(hook, "evt_x", clock.now())  # what the dispatcher does after three days of failures
    status, page, _ = s["owner"].request("GET", "/portal/webhooks")
    assert status == 200 and "отключён" in page
    assert 'data-testid="disabled-reason"' in page and "evt_x" in page
    assert "не удалось доставить за три дня" in page and "could not be delivered" not in page  # her language
    english = s["owner"].request("GET", f"/portal/webhooks/{hook_id}?lang=en")[1]
    assert "evt_x could not be delivered for three days" in english and "не удалось" not in english
    [listed] = partner.get("/v1/webhooks")["items"]  # the API's field keeps its English text, and gains a code
    assert "could not be delivered for three days" in listed["disabled_reason"]
    assert (listed["disabled_code"], listed["disabled_event_id"]) == ("undeliverable", "evt_x")
    page = s["owner"].request("GET", f"/portal/webhooks/{hook_id}")[1]
    assert 'data-testid="delivery"' in page and "/resend" not in page
