"""The owner's CRM page in the portal, over HTTP: connect Bitrix24 and amoCRM (the secrets typed are never shown
again; amoCRM's webhook URL once), see a broken amoCRM connection and its reason, disconnect after a question;
other roles and other partners are kept out, a form without its CSRF token changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from chalicelib.db import amo as amo_db
from chalicelib.db import crm as crm_db
from chalicelib.integrations import bitrix24 as b24
from chalicelib.services import crm_sync, dispatcher
from tests.conftest import TRUSTED, table_snapshot
from tests.crm_standins import AMO_CLIENT_ID, AMO_CLIENT_SECRET, AMO_REDIRECT
from tests.staff_helpers import Browser, add_staff, session_cookies
from tests.test_api_ledger import accrue, enrol

pytest_plugins = ("tests.crm_standins",)

OWNER, MARKETER, BETA_OWNER = "+79160000301", "+79160000302", "+79160000303"
APP_TOKEN = "b24apptoken0123456789"
PATH = "/portal/integrations"


def _signed_in(api, phone: str) -> Browser:
    browser = Browser(api)
    browser.jar.update(session_cookies(api, area="portal", phone=phone))
    return browser


@pytest.fixture(autouse=True)
def _real_http():
    crm_sync.set_transport(b24.http_transport)


@pytest.fixture
def shop(api):
    a = api.post("/v1/admin/partners", {"name": "Alpha", **TRUSTED, "owner": {"phone": OWNER, "name": "Ольга"}}).json
    b = api.post("/v1/admin/partners", {"name": "Beta", **TRUSTED, "owner": {"phone": BETA_OWNER, "name": "Б"}}).json
    add_staff(api, partner_key_or_operator_key=a["api_key"], phone=MARKETER, role="marketer", name="m")
    return {"api": api, "a": a, "b": b, "owner": _signed_in(api, OWNER)}


def _submit(owner: Browser, action: str, fields: dict[str, str]) -> tuple[int, str]:
    page = owner.request("GET", PATH)[1]
    form = Browser.forms(page)[action]
    status, page, headers = owner.request("POST", action, {**form, **fields})
    assert headers["cache-control"] == "no-store"
    return status, page


def _amo_fields(code: str = "auth-code-0001") -> dict[str, str]:
    return {"subdomain": "shop", "client_id": AMO_CLIENT_ID, "client_secret": AMO_CLIENT_SECRET,
            "redirect_uri": AMO_REDIRECT, "code": code}  # fmt: skip


def test_the_owner_connects_bitrix24_sees_its_last_error_and_disconnects(shop, bitrix24, clock):
    s = shop
    weak = {"webhook_url": bitrix24.webhook_url, "application_token": "x"}
    status, page = _submit(s["owner"], f"{PATH}/bitrix24", weak)
    assert status == 422 and 'data-testid="problem-b24-application_token"' in page
    assert bitrix24.webhook_url in page  # typed back; a secret never is
    wrong = {"webhook_url": "https://x.ru/crm/", "application_token": APP_TOKEN}
    status, page = _submit(s["owner"], f"{PATH}/bitrix24", wrong)
    assert status == 422 and 'data-testid="problem-b24-webhook_url"' in page and APP_TOKEN not in page
    assert crm_db.get(s["a"]["partner_id"]) is None
    fields = {"webhook_url": bitrix24.webhook_url, "application_token": APP_TOKEN, "won_stage": "WON"}
    status, _ = _submit(s["owner"], f"{PATH}/bitrix24", fields)
    assert status == 303
    page = s["owner"].request("GET", PATH)[1]
    assert 'data-testid="b24-state"' in page and APP_TOKEN not in page and "standin0token42" not in page
    assert f"/v1/integrations/bitrix24/events/{s['a']['partner_id']}" in page
    partner = s["api"].as_key(s["a"]["api_key"])
    assert accrue(partner, enrol(partner, phone="+79161119301"), "PI-1", 100_000).status == 201
    bitrix24.throttle_next = 1
    dispatcher.poll(clock.now())
    page = s["owner"].request("GET", PATH)[1]
    assert "QUERY_LIMIT_EXCEEDED" in unescape(re.search(r'data-testid="b24-last-error">(.*?)</span>', page).group(1))
    dispatcher.poll(clock.now() + timedelta(seconds=5))  # a pass goes through: the error is cleared
    assert "QUERY_LIMIT_EXCEEDED" not in s["owner"].request("GET", PATH)[1]

    status, page = _submit(s["owner"], f"{PATH}/bitrix24/disconnect", {})
    assert status == 200 and 'data-testid="confirm"' in page and crm_db.get(s["a"]["partner_id"]) is not None
    form = Browser.forms(page)[f"{PATH}/bitrix24/disconnect"]
    assert s["owner"].request("POST", f"{PATH}/bitrix24/disconnect", form)[0] == 303
    assert crm_db.get(s["a"]["partner_id"]) is None


def test_the_owner_connects_amocrm_sees_the_url_once_and_the_broken_state(shop, amocrm, clock):
    s = shop
    status, page = _submit(s["owner"], f"{PATH}/amocrm", _amo_fields("wrong-code-0000"))
    assert status == 422 and 'data-testid="problem-amo-form"' in page and amo_db.get(s["a"]["partner_id"]) is None
    assert AMO_CLIENT_SECRET not in page
    status, page = _submit(s["owner"], f"{PATH}/amocrm", _amo_fields())
    assert status == 200
    shown = unescape(re.search(r'data-testid="amo-events-path">([^<]+)<', page).group(1))
    secret = shown.rsplit("/", 1)[1]
    assert shown == f"/v1/integrations/amocrm/events/{s['a']['partner_id']}/{secret}" and len(secret) >= 32
    assert amo_db.get(s["a"]["partner_id"]).webhook_secret == secret
    assert secret not in str([i for i in table_snapshot() if i["pk"]["S"].startswith(("REQ#", "IDEM#"))])
    page = s["owner"].request("GET", PATH)[1]
    assert secret not in page and AMO_CLIENT_SECRET not in page and 'data-testid="amo-state"' in page

    amocrm.refresh.clear()  # the integration deleted in amoCRM: its tokens are dead
    amocrm.expire_access()
    partner = s["api"].as_key(s["a"]["api_key"])
    assert accrue(partner, enrol(partner, phone="+79161119302"), "PI-2", 100_000).status == 201
    dispatcher.poll(clock.now())
    page = s["owner"].request("GET", PATH)[1]
    assert 'data-testid="amo-broken"' in page and f'action="{PATH}/amocrm"' in page  # the form to connect again
    amocrm.codes.add("auth-code-0002")
    assert _submit(s["owner"], f"{PATH}/amocrm", _amo_fields("auth-code-0002"))[0] == 200
    assert 'data-testid="amo-broken"' not in s["owner"].request("GET", PATH)[1]


def test_other_roles_and_partners_are_kept_out_and_a_form_needs_its_token(shop, bitrix24):
    s = shop
    marketer = _signed_in(s["api"], MARKETER)
    home = marketer.request("GET", "/portal")[1]
    assert f'href="{PATH}"' not in home and f'href="{PATH}"' in s["owner"].request("GET", "/portal")[1]
    status, _, headers = marketer.request("GET", PATH)
    assert status == 303 and headers["location"] == "/portal"
    fields = {"webhook_url": bitrix24.webhook_url, "application_token": APP_TOKEN}
    form = Browser.forms(home)["/portal/logout"]
    assert marketer.request("POST", f"{PATH}/bitrix24", {**form, **fields})[0] == 403
    assert crm_db.get(s["a"]["partner_id"]) is None
    page = s["owner"].request("GET", PATH)[1]
    form = Browser.forms(page)[f"{PATH}/bitrix24"]
    before = table_snapshot()
    status, _, _ = s["owner"].request("POST", f"{PATH}/bitrix24", {**form, "csrf": "forged", **fields})
    assert status in (400, 403) and table_snapshot() == before
    assert _submit(s["owner"], f"{PATH}/bitrix24", fields)[0] == 303
    beta = _signed_in(s["api"], BETA_OWNER)  # another partner's owner sees and disconnects only its own
    assert "b24-state" not in beta.request("GET", PATH)[1]
    hidden = Browser.forms(beta.request("GET", PATH)[1])[f"{PATH}/amocrm"]  # its page's tokens, on a disconnect
    assert beta.request("POST", f"{PATH}/bitrix24/disconnect", {**hidden, "confirmed": "yes"})[0] == 303
    assert crm_db.get(s["a"]["partner_id"]) is not None
