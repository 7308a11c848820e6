"""Every API route x {no key, malformed key, revoked key, suspended partner, another partner, operator,
the right partner, portal token}: the expected status, and never another partner's data in a body.

Every portal route (auth ``session``) x {no cookie, an API key instead of a cookie, a forged cookie, the
session of a revoked key, of a suspended partner, of another partner, the right partner with and without the form's
CSRF token}: signed out is the sign-in page (a form: a 303 to it), a write without its CSRF token is a 403."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from chalicelib.db import amo as amo_db
from chalicelib.integrations import amocrm as amocrm_client
from chalicelib.notify.webhook_http import Sent
from chalicelib.routes import ROUTES
from chalicelib.services import amo_sync, dispatcher
from tests.conftest import TRUSTED, last_link

IDENTITIES = ("none", "malformed", "revoked", "suspended", "other", "operator", "owner", "portal")
OK = {200, 201, 202, 204}
ALPHA_B24_TOKEN = "alpha-b24-application-token"
ALPHA_AMO_SECRETS = ("alpha-amo-client-secret", "alpha-amo-access", "alpha-amo-refresh", "alpha-amo-webhook-secret")


def _amo_tokens(method, url, headers, body):
    """amoCRM's OAuth answer, so that the owner's connect succeeds without a network."""
    return 200, json.dumps(
        {"access_token": "new-amo-access", "refresh_token": "new-amo-refresh", "expires_in": 60}
    ).encode()


@pytest.fixture(autouse=True)
def _amo_transport_back():
    yield
    amo_sync.set_transport(amocrm_client.http_transport)


@pytest.fixture
def world(api, clock):
    amo_sync.set_transport(_amo_tokens, lambda sub: "http://127.0.0.1:9")
    op = api
    a = op.post("/v1/admin/partners", {"name": "Alpha", **TRUSTED}).json
    b = op.post("/v1/admin/partners", {"name": "Beta", **TRUSTED}).json
    c = op.post("/v1/admin/partners", {"name": "Gamma", **TRUSTED}).json
    spare = op.post(f"/v1/admin/partners/{a['partner_id']}/keys").json
    op.call("DELETE", f"/v1/admin/partners/{a['partner_id']}/keys/{spare['key_id']}")
    op.call("PATCH", f"/v1/admin/partners/{c['partner_id']}", {"status": "suspended"})
    alpha = op.as_key(a["api_key"])
    hook = alpha.post("/v1/webhooks", {"url": "http://127.0.0.1:9/alpha-hook", "events": ["*"]}).json
    cid = alpha.post("/v1/customers", {"phone": "+79161234567"}).json["customer_id"]
    alpha.post("/v1/accruals", {"customer_id": cid, "order_id": "ALPHA-ORDER-1", "amount_minor": 500_000})
    dispatcher.poll(clock.now(), lambda url, body, headers: Sent(200, 1))
    delivery = alpha.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json["items"][0]
    held = alpha.post(
        "/v1/redemptions",
        {
            "customer_id": cid,
            "order_id": "ALPHA-ORDER-2",
            "order_amount_minor": 100_000,
            "points": 10,
            "capture": False,
        },
    ).json
    campaign = alpha.post(
        "/v1/campaigns", {"name": "Alpha only", "earn_at": [a["partner_id"]], "reward": {"type": "fixed", "points": 5}}
    ).json
    b24 = {"webhook_url": "http://127.0.0.1:9/rest/1/alphab24portaltoken/", "application_token": ALPHA_B24_TOKEN}
    assert alpha.call("PUT", "/v1/integrations/bitrix24", b24).status == 200
    client_secret, access, refresh, webhook_secret = ALPHA_AMO_SECRETS
    amo_db.connect(
        amo_db.AmoConnection(
            a["partner_id"], "alpha", "alpha-client", client_secret, "https://alpha.example/cb", access, refresh,
            2_000_000_000, 0, webhook_secret, {}, "2026-03-01T00:00:00+00:00",
        )
    )  # fmt: skip
    cashier = alpha.post("/v1/staff", {"phone": "+79160000008", "name": "Alpha cashier", "role": "cashier"}).json
    assert alpha.post(f"/v1/customers/{cid}/portal-link", {}).status == 202  # the link goes to the customer
    portal = last_link("+79161234567").split("token=")[1]
    keys = {
        "none": None,
        "malformed": "Bearer",
        "revoked": spare["api_key"],
        "suspended": c["api_key"],
        "other": b["api_key"],
        "operator": op.key,
        "owner": a["api_key"],
        "portal": portal,
    }
    return {
        "api": api,
        "keys": keys,
        "a": a,
        "b": b,
        "c": c,
        "spare": spare,
        "cid": cid,
        "held": held,
        "campaign": campaign,
        "hook": hook,
        "delivery": delivery,
        "cashier": cashier,
        "now": clock.now(),
    }


def request_for(route, w):
    """A request that the right caller may make, built from the route's path and body model."""
    ids = {
        "customer_id": w["cid"],
        "partner_id": w["a"]["partner_id"],
        "key_id": "key_doesnotexist00",
        "redemption_id": w["held"]["redemption_id"],
        "campaign_id": w["campaign"]["campaign_id"],
        "period": "2026-03",
        "webhook_id": w["hook"]["webhook_id"],
        "delivery_id": w["delivery"]["delivery_id"],
        "staff_id": w["cashier"]["staff_id"],
    }
    path = route.path.format(**ids)
    bodies = {
        "enroll_customer": {"phone": "+79160000001"},
        "create_accrual": {"customer_id": w["cid"], "order_id": "NEW-1", "amount_minor": 1000},
        "quote_redemption": {"customer_id": w["cid"], "order_amount_minor": 1000},
        "create_redemption": {"customer_id": w["cid"], "order_id": "NEW-2", "order_amount_minor": 100_000, "points": 1},
        "create_refund": {"order_id": "ALPHA-ORDER-1", "refund_id": "R-1", "amount_minor": 100},
        "create_bonus": {"customer_id": w["cid"], "bonus_id": "B-1", "reason": "review", "points": 1},
        "create_campaign": {"name": "x", "earn_at": [w["a"]["partner_id"]], "reward": {"type": "fixed", "points": 1}},
        "capture_redemption": {},
        "portal_link": {},
        "confirm_identifiers": {"code": "000000"},
        "admin_create_partner": {"name": "Delta"},
        "change_staff_role": {"role": "marketer"},
        "admin_change_staff_role": {"role": "operator"},
        "invite_staff": {"phone": "+79160000009", "name": "Кассир", "role": "cashier"},
        "admin_invite_staff": {"email": "op@example.com", "name": "Оп", "role": "operator"},
        "admin_update_partner": {"earn_rate_bps": 400},
        "admin_put_program": {"operator_fee_bps": 0},
        "admin_create_adjustment": {"customer_id": w["cid"], "adjustment_id": "J-1", "points": 1, "reason": "x"},
        "create_webhook": {"url": "http://127.0.0.1:9/new-hook", "events": ["accrual.created"]},
        "rotate_webhook_secret": {},
        "admin_record_payment": {
            "partner_id": w["a"]["partner_id"],
            "amount_minor": -100,
            "paid_on": "2026-03-10",
            "reference": "PP-1",
        },
        "connect_bitrix24": {"webhook_url": "http://127.0.0.1:9/rest/1/newtoken/", "application_token": "t" * 16},
        "connect_amocrm": {
            "subdomain": "alpha",
            "client_id": "alpha-client",
            "client_secret": "new-client-secret",
            "redirect_uri": "https://alpha.example/cb",
            "code": "new-authorization-code",
        },
    }
    query = {"lookup_customer": "?phone=%2B79161234567"}.get(route.name, "")
    return path + query, bodies.get(route.name)


def call(w, route, identity):
    path, body = request_for(route, w)
    key = w["keys"][identity]
    headers = {"Content-Type": "application/json"}
    if key == "Bearer":
        headers["Authorization"] = "Bearer"
    elif key is not None:
        headers["Authorization"] = f"Bearer {key}"
    http = w["api"].http
    response = getattr(http, route.method.lower())(
        path, headers=headers, body=json.dumps(body) if body is not None else None
    )
    return response.status_code, response.body.decode() if response.body else ""


STAFF_SIGN_IN_VIEWS = ("sign_in", "sign_in_code", "sign_in_session", "sign_out")
API_ROUTES = [r for r in ROUTES if r.auth in ("partner", "operator", "partner_or_operator")]
SESSION_ROUTES = [r for r in ROUTES if r.auth == "session" and r.path.startswith("/portal")]
CONSOLE_ROUTES = [r for r in ROUTES if r.name.startswith("console_")]  # tests/test_admin_console.py walks them


def test_every_route_declares_how_it_authenticates():
    """Nothing is public by accident: the sign-in form, the customer's pages (a portal token, checked by their
    handlers), liveness and the document; every other portal page needs the session cookie."""
    public = {r.name for r in ROUTES if r.auth == "public"}
    sign_in = {"me_sign_in_form", "me_send_code", "me_check_code"}  # the customer signs in
    telegram = {"telegram_webhook"}  # Telegram's secret header, checked by its handler (tests/test_telegram_link.py)
    # Bitrix24's outgoing webhook: the connection's application_token, checked by its handler (tests/test_bitrix24.py)
    bitrix24 = {"bitrix24_event"}
    # amoCRM's webhook: the random secret in its URL, checked by its handler (tests/test_amocrm.py)
    amocrm = {"amocrm_event"}
    site = {"landing", "favicon"}  # the landing page and the icon: nothing private
    # staff sign in with a code, and sign out (tests/test_staff.py): every area the same way
    staff = {f"staff_{area}_{view}" for area in ("till", "portal", "admin") for view in STAFF_SIGN_IN_VIEWS}
    # a marketing message's unsubscribe link: its token withdraws that customer's consent and nothing else
    unsubscribe = {"me_unsubscribe_page", "me_unsubscribe"}  # tests/test_customer_reminders.py
    assert public == {
        *staff,
        "health",
        "openapi",
        "me",
        "me_revoke_links",
        "me_page",
        "portal_login",
        *sign_in,
        *telegram,
        *bitrix24,
        *amocrm,
        *site,
        *unsubscribe,
    }
    # the customer's own pages: their session cookie, checked by their router (tests/test_customer_reach.py)
    assert all(r.path.startswith("/me/") for r in ROUTES if r.auth == "customer")
    assert all(r.path.startswith(("/portal", "/admin")) for r in ROUTES if r.auth == "session")
    portal_sign_in = [r for r in ROUTES if r.name.startswith("staff_portal_") or r.name == "portal_login"]
    assert len(SESSION_ROUTES) == len([r for r in ROUTES if r.path.startswith("/portal")]) - len(portal_sign_in)
    assert all(r.auth == "session" for r in CONSOLE_ROUTES)


# what "another partner" may see of Alpha's world: coalition-wide customers (balance, enrolment, quote) yes; Alpha's
# orders, holds, campaigns, entries and settlement no
OTHER_PARTNER_NOT_FOUND = {
    "capture_redemption",
    "void_redemption",
    "create_refund",
    "get_campaign",
    "accept_campaign",
    "activate_campaign",
    "pause_campaign",
    "end_campaign",
    "campaign_report",
    "remove_staff",  # another partner's staff member: not found, and still there
    "delete_webhook",
    "list_deliveries",
    "resend_delivery",
    "rotate_webhook_secret",
    "change_staff_role",
    "get_bitrix24",  # another partner's connection: Beta has none, and never sees Alpha's
    "get_amocrm",
}


# a suspended sponsor cannot call the API, so the operator must be able to stop its campaigns
OPERATOR_TOO = {"get_campaign", "pause_campaign", "end_campaign"}


def test_only_campaign_oversight_is_open_to_the_operator():
    assert {r.name for r in API_ROUTES if r.auth == "partner_or_operator"} == OPERATOR_TOO


@pytest.mark.parametrize("route", API_ROUTES, ids=[r.name for r in API_ROUTES])
def test_every_route_for_every_caller(world, route):
    w = world
    statuses = {identity: call(w, route, identity) for identity in IDENTITIES if identity != "owner"}
    owner_status, owner_body = call(w, route, "owner" if route.auth == "partner" else "operator")
    for identity in ("none", "malformed", "revoked", "portal"):
        assert statuses[identity][0] == 401, (identity, statuses[identity])
    assert statuses["suspended"][0] == 403 and '"partner_suspended"' in statuses["suspended"][1]
    if route.auth == "operator":
        assert statuses["other"][0] == 403
        assert statuses["operator"][0] in OK | {404, 409, 422}, statuses["operator"]
        return
    if route.auth == "partner_or_operator":  # the operator sees, pauses and ends any campaign
        assert route.name in OPERATOR_TOO
        assert statuses["operator"][0] in OK | {409}, statuses["operator"]
    else:
        assert statuses["operator"][0] == 403
    # sponsors do not accept; no binding is pending, so any code is refused (403 customer_code_invalid)
    answering = ("accept_campaign", "decline_campaign", "confirm_identifiers")
    allowed = OK | {409, 422} | ({403} if route.name in answering else set())
    assert owner_status in allowed, (owner_status, owner_body)
    other_status, other_body = statuses["other"]
    if route.name in OTHER_PARTNER_NOT_FOUND:
        assert other_status == 404, (other_status, other_body)
    path, body = request_for(route, w)
    sent = path + json.dumps(body or {})
    # (a customer's balance and tier are coalition-wide by design: every partner serves the same customer)
    alpha_only = (
        "Alpha only",
        "ALPHA-ORDER-2",
        w["campaign"]["campaign_id"],
        w["held"]["redemption_id"],
        "alpha-hook",
        w["hook"]["webhook_id"],
        "Alpha cashier",
        w["cashier"]["staff_id"],
        ALPHA_B24_TOKEN,
        "alphab24portaltoken",
        *ALPHA_AMO_SECRETS,
    )
    for secret in alpha_only:
        if secret not in sent:  # echoing the caller's own request is not a leak
            assert secret not in other_body, (route.name, secret)
    if route.name == "customer_transactions":
        assert json.loads(other_body)["items"] == []  # Beta sees none of Alpha's entries


def test_the_customer_json_takes_only_a_portal_token(world):
    http = world["api"].http
    for identity, expected in (("portal", 200), ("owner", 401), ("operator", 401), ("none", 401)):
        key = world["keys"][identity]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        assert http.get("/v1/me", headers=headers).status_code == expected, identity


# --- the partner portal: the session cookie and the forms' CSRF token ------------------------------------------------


def portal_request(w, route, cookie=None, form=None, authorization=None):
    ids = {
        "campaign_id": w["campaign"]["campaign_id"],
        "period": "2026-03",
        "action": "pause",
        "staff_id": w["cashier"]["staff_id"],
        "key_id": w["spare"]["key_id"],
        "webhook_id": w["hook"]["webhook_id"],
        "delivery_id": w["delivery"]["delivery_id"],
        "crm": "bitrix24",
    }
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"lp_session={cookie}"
    if authorization is not None:
        headers["Authorization"] = f"Bearer {authorization}"
    body = None
    if route.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form if form is not None else {"nonce": "n" * 22}).encode()
    response = w["api"].http.request(route.method, route.path.format(**ids), headers=headers, body=body)
    text = response.body.decode(errors="replace") if response.body else ""
    return response.status_code, text, {k.lower(): v for k, v in response.headers.items()}


def session_of(w, partner, key_id):
    from chalicelib.services.auth import Principal
    from chalicelib.web.portal_session import issue_session

    return issue_session(Principal(key_id, "partner", partner["partner_id"]), w["now"])


def signed_out(route, answer):
    status, text, headers = answer
    if route.method == "POST":  # a form posted without a (valid) session goes back to sign-in
        return status == 303 and headers["location"] == "/portal"
    return status == 200 and 'action="/portal/login"' in text


@pytest.mark.parametrize("route", SESSION_ROUTES, ids=[r.name for r in SESSION_ROUTES])
def test_every_portal_route_for_every_caller(world, route):
    from chalicelib.web.portal_session import csrf_token

    w = world
    owner = session_of(w, w["a"], w["a"]["key_id"])
    callers = {
        "none": portal_request(w, route),
        "api_key": portal_request(w, route, authorization=w["keys"]["owner"]),
        "operator_key": portal_request(w, route, authorization=w["keys"]["operator"]),
        "forged": portal_request(w, route, cookie=owner.rsplit(":", 1)[0] + ":" + "0" * 64),
        "revoked": portal_request(w, route, cookie=session_of(w, w["a"], w["spare"]["key_id"])),
        "suspended": portal_request(w, route, cookie=session_of(w, w["c"], w["c"]["key_id"])),
    }
    for caller, answer in callers.items():
        assert signed_out(route, answer), (caller, answer[:2])
    other = session_of(w, w["b"], w["b"]["key_id"])
    if route.method == "GET":
        status, text, headers = portal_request(w, route, cookie=owner)
        assert status == 200 and 'action="/portal/login"' not in text, (status, text[:300])
        expected = "text/csv" if route.name == "portal_settlement_csv" else "text/html"
        assert headers["content-type"].startswith(expected)
        other_status, other_text, _ = portal_request(w, route, cookie=other)
        assert other_status == (404 if route.name in ("portal_campaign", "portal_webhook") else 200), other_status
        assert "Alpha only" not in other_text  # another partner's campaign is not shown to Beta
        assert "alpha-hook" not in other_text  # nor its webhook endpoint
        return
    forged_form = portal_request(w, route, cookie=owner, form={"csrf": "0" * 32, "nonce": "n" * 22})
    assert forged_form[0] == 403, forged_form[:2]
    assert portal_request(w, route, cookie=owner)[0] == 403  # no CSRF token at all
    status, text, _ = portal_request(w, route, cookie=owner, form={"csrf": csrf_token(owner), "nonce": "n" * 22})
    assert status not in (401, 403) and not signed_out(route, (status, text, {"location": ""})), (status, text[:300])
