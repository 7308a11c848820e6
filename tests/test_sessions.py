"""Sessions and tokens: portal sign-out ends the session server-side, revoking a key ends its sessions,
customer links are revocable, one spelling per token, and `make run`'s access log never shows a token or a code."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests

from chalicelib import runtime
from chalicelib.ids import b64url as b64url_encode
from chalicelib.ids import unb64url as b64url_decode
from chalicelib.services import customer_auth, portal_links
from tests.test_api_ledger import accrue, enrol
from tests.test_edges_input_portal import Portal

# --- partner portal sessions ---------------------------------------------------------------------------------------


def signed_in(portal: Portal) -> bool:
    """Whether the portal shows the signed-in pages (else its sign-in form)."""
    page = portal.page("/portal")
    return 'action="/portal/logout"' in page and 'action="/portal/login"' not in page


def new_partner(api: Any, name: str) -> dict[str, Any]:
    r = api.post("/v1/admin/partners", {"name": name})
    assert r.status == 201, r.json
    return dict(r.json)


def test_signing_out_ends_the_session_and_every_copy_of_its_cookie(api):
    key = new_partner(api, "Уют")["api_key"]
    browser = Portal(api.http)
    browser.sign_in(key)
    copied = Portal(api.http)
    copied.jar = dict(browser.jar)  # the cookie, copied to another machine
    assert signed_in(browser) and signed_in(copied)
    logout = browser.forms(browser.page("/portal"))["/portal/logout"]
    assert browser.submit("/portal/logout", logout).status_code == 303
    assert not signed_in(browser)
    assert not signed_in(copied)  # the copy names a session that no longer exists
    again = Portal(api.http)
    again.sign_in(key)  # the key itself still signs in
    assert signed_in(again)


def test_revoking_a_key_ends_its_portal_sessions(api):
    cafe, store = new_partner(api, "Уют"), new_partner(api, "Стиль")
    cafe_browser, store_browser = Portal(api.http), Portal(api.http)
    cafe_browser.sign_in(cafe["api_key"])
    store_browser.sign_in(store["api_key"])
    r = api.call("DELETE", f"/v1/admin/partners/{cafe['partner_id']}/keys/{cafe['key_id']}")
    assert r.status == 204
    assert not signed_in(cafe_browser)
    assert signed_in(store_browser)


# --- customer links ------------------------------------------------------------------------------------------------


def link_token(cid: str, clock: Any) -> str:
    """The link ``POST /v1/customers/{id}/portal-link`` sends to the customer (made here: the partner never sees it)."""
    now = clock.now().replace(microsecond=0)
    return customer_auth.sign_link(cid, now, now + timedelta(days=7))


def me(api: Any, token: str) -> int:
    """The JSON view's status and the HTML page's, which must agree."""
    json_status = api.as_key(token).get("/v1/me").status
    page_status = api.http.get(f"/me?token={quote(token)}").status_code
    page_status = 200 if page_status == 303 else page_status  # a genuine link: on to /me, without the token
    assert json_status == page_status, (json_status, page_status)
    return int(json_status)


def test_the_operator_revokes_a_customers_links_and_new_ones_work(coalition, clock):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    other = enrol(c.cafe, phone="+79161234568")
    first, second, others = link_token(cid, clock), link_token(cid, clock), link_token(other, clock)
    assert me(c.operator, first) == me(c.operator, second) == 200
    assert c.operator.post(f"/v1/admin/customers/{cid}/revoke-links").status == 204
    assert me(c.operator, first) == me(c.operator, second) == 401
    assert c.operator.as_key(first).get("/v1/me")["detail"].startswith("This link was ended")
    assert me(c.operator, others) == 200  # another customer's links are untouched
    assert me(c.operator, link_token(cid, clock)) == 401  # links record their second: made in it, ended with it
    clock.advance(timedelta(seconds=1))
    assert me(c.operator, link_token(cid, clock)) == 200  # a link made after the revocation
    assert c.operator.post("/v1/admin/customers/cus_0000000000000000/revoke-links").status == 404
    assert c.cafe.post(f"/v1/admin/customers/{cid}/revoke-links").status == 403  # operator only


def test_the_customer_revokes_their_own_links(coalition, clock):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    mine, forwarded = link_token(cid, clock), link_token(cid, clock)
    assert c.operator.as_key(mine).post("/v1/me/revoke-links").status == 204
    assert me(c.operator, mine) == me(c.operator, forwarded) == 401
    assert c.operator.as_key(mine).post("/v1/me/revoke-links").status == 401  # a revoked link revokes nothing
    assert c.operator.as_key("garbage").post("/v1/me/revoke-links").status == 401


def test_links_made_before_revocation_existed_work_until_revoked(coalition, clock):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    expires = int((clock.now() + timedelta(days=7)).timestamp())
    legacy = legacy_token(f"{cid}:{expires}")  # the format before: customer and expiry only
    assert me(c.operator, legacy) == 200
    assert c.operator.post(f"/v1/admin/customers/{cid}/revoke-links").status == 204
    assert me(c.operator, legacy) == 401


def legacy_token(payload: str) -> str:
    import hashlib
    import hmac

    secret = runtime.get().settings.portal_secret.encode()
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return f"{b64url_encode(payload.encode())}.{b64url_encode(mac)}"


def respellings(token: str) -> list[str]:
    """The same bytes written otherwise: with padding, in the standard alphabet, with stray bits at the end."""
    *version, payload, mac = token.split(".")
    head = "".join(f"{v}." for v in version)
    raw_payload, raw_mac = b64url_decode(payload), b64url_decode(mac)
    standard = f"{base64.b64encode(raw_payload).decode()}.{base64.b64encode(raw_mac).decode()}"
    stray = mac[:-1] + URL_ALPHABET[URL_ALPHABET.index(mac[-1]) ^ 1]  # 32 bytes leave 2 unused bits in the last
    return [
        head + f"{base64.urlsafe_b64encode(raw_payload).decode()}.{base64.urlsafe_b64encode(raw_mac).decode()}",
        head + standard.rstrip("="),
        head + standard,
        head + f"{payload}.{stray}",
    ]


URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("kind", ["link", "link of the first format"])
def test_a_portal_token_has_one_spelling(coalition, clock, kind):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.cafe, cid, "A-1", 100_000).status == 201
    secret = runtime.get().settings.portal_secret
    for minutes in range(60, 200):  # a token with "-" or "_", so that the standard alphabet spells it otherwise
        expires = clock.now() + timedelta(minutes=minutes)
        token = (
            customer_auth.sign_link(cid, clock.now(), expires)
            if kind == "link"
            else portal_links.sign(cid, expires, secret)
        )
        if "-" in token or "_" in token:
            break
    assert me(c.operator, token) == 200
    variants = respellings(token)
    assert len(set(variants)) == 4 and token not in variants
    for variant in variants:  # the same bytes, so a lenient decoder would accept each of them
        assert b64url_decode_or_none(variant) is None
        assert me(c.operator, variant) == 401, variant


def b64url_decode_or_none(token: str) -> bytes | None:
    try:
        *_, payload, mac = token.split(".")
        b64url_decode(payload)
        return b64url_decode(mac)
    except ValueError:
        return None


@pytest.mark.parametrize("text", ["", "AA", "AAA", "AAAA", "-_-_", "YWJj"])
def test_the_canonical_decoder_round_trips(text):
    assert b64url_encode(b64url_decode(text)) == text


@pytest.mark.parametrize("text", ["A", "AB==", "AB=", "A+/A", "AB C", "AB\n", "AF", "YWJjZ"])
def test_the_canonical_decoder_refuses_every_other_spelling(text):
    with pytest.raises(ValueError):
        b64url_decode(text)


# --- logs ----------------------------------------------------------------------------------------------------------


def test_make_runs_access_log_masks_tokens_and_codes(live, capfd):
    from local import servers

    api = servers.start_api(quiet=False)  # the handler `make run` uses
    try:
        requests.get(f"{api.url}/me?lang=en&token=SECRET-TOKEN-1", timeout=30)
        requests.get(f"{api.url}/v1/me?Token=SECRET-TOKEN-2;x=1", timeout=30)
        requests.get(f"{api.url}/v1/customers/lookup?phone=%2B79161234567&code=908172", timeout=30)
        requests.get(f"{api.url}/v1/whatever?customer_code=654321&sig=abc", timeout=30)
    finally:
        api.stop()
    log = capfd.readouterr().err
    assert "GET /me?lang=en&token=*** HTTP/1.1" in log
    for secret in ("SECRET-TOKEN-1", "SECRET-TOKEN-2", "908172", "654321", "=abc"):
        assert secret not in log
    assert "phone=%2B79161234567&code=***" in log
