"""Who may do what on the customer's page, and sign-in that an outsider can neither read nor block.

- A link (any version: partners still hold links made before links went to the customer) opens a read-only page:
  changing the channel, connecting Telegram, exporting or deleting, and showing a spend code, need a code sign-in
  ("confirm with a code"). A channel change is announced on the old channel. The operator ends every link issued
  before an instant in one call.
- Sign-in buckets are per phone and client address under a per-phone ceiling; a browser that signed in before has
  its own; unknown identifiers get the same answers and the same DynamoDB work.
- Sessions: expiry checked server-side, a link's session never outlives the link, deleting the account ends every
  session, every POST form checks its CSRF token, a link never silently replaces who is signed in.
- HSTS on HTTPS answers; the partner portal's sign-in is rate-limited; deletion forfeits pending points too and
  never while a till holds points.

Over HTTP through Chalice's in-process client; the client address is the one API Gateway reports (``sourceIp``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from chalicelib import runtime
from chalicelib.services import customer_auth, portal_links
from tests.conftest import TRUSTED, inbox, last_code, last_link, table_snapshot
from tests.test_api_ledger import accrue, enrol
from tests.test_customer_reach import PHONE, Customer, other_than, spend
from tests.test_limits import Calls

EMAIL = "anna@example.com"


@pytest.fixture
def anna(api):
    """A partner with the default policy (a code for every spend) and Anna (phone and e-mail) with 500 points."""
    r = api.post("/v1/admin/partners", {"name": "Уют", "max_redeem_share_bps": 10_000})
    assert r.status == 201, r.json
    cafe = api.as_key(r["api_key"])
    cid = enrol(cafe, phone=PHONE, email=EMAIL, name="Анна")
    assert accrue(cafe, cid, "A-1", 1_000_000)["points"] == 500
    return {"op": api, "cafe": cafe, "cid": cid, "partner_id": r["partner_id"]}


@contextmanager
def from_address(ip: str) -> Iterator[None]:
    """Requests in this block come from ``ip`` (API Gateway's ``requestContext.identity.sourceIp``)."""
    from chalice.local import LambdaEventConverter

    before = LambdaEventConverter.LOCAL_SOURCE_IP
    LambdaEventConverter.LOCAL_SOURCE_IP = ip
    try:
        yield
    finally:
        LambdaEventConverter.LOCAL_SOURCE_IP = before


def v2_link(cid: str, clock: Any, minutes: int = 60) -> str:
    now = clock.now().replace(microsecond=0)
    return customer_auth.sign_link(cid, now, now + timedelta(minutes=minutes))


def v1_link(cid: str, clock: Any, minutes: int = 60) -> str:
    secret = runtime.get().settings.portal_secret
    return portal_links.sign(cid, clock.now() + timedelta(minutes=minutes), secret)


def open_link(browser: Customer, token: str) -> Any:
    """The link as a browser follows it: a session, then the page at /me without the token."""
    opened = browser.request("GET", "/me?" + urlencode({"token": token}))
    return browser.request("GET", opened.headers["Location"]) if opened.status_code == 303 else opened


def stored_customer(cid: str) -> dict[str, Any]:
    return next(i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{cid}" and i["sk"]["S"] == "PROFILE")


def signed_in(s: dict[str, Any], identifier: str = PHONE) -> Customer:
    browser = Customer(s["op"].http)
    assert browser.sign_in(identifier).status_code == 303
    return browser


# --- a link opens a read-only page ---------------------------------------------------------------------------------


WRITES = [
    ("POST", "/me/settings", {"locale": "ru", "channel": "email", "consent": "on"}),
    ("POST", "/me/telegram/connect", {}),
    ("POST", "/me/telegram/disconnect", {}),
    ("POST", "/me/delete", {"confirm": "on"}),
    ("POST", "/me/spend-code", {}),
    ("GET", "/me/data.json", None),
    ("GET", "/me/data.csv", None),
    ("GET", "/me/delete", None),
]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_link_opens_a_read_only_page_and_a_code_confirms_it(anna, clock, version):
    s = anna
    token = (v1_link if version == "v1" else v2_link)(s["cid"], clock)
    holder = Customer(s["op"].http)  # whoever holds the link: the customer, or the partner who kept an old one
    page = open_link(holder, token)
    assert page.status_code == 200 and 'data-testid="read-only"' in page.body.decode()
    csrf = holder.forms(page.body.decode())["/me/settings"]["csrf"]
    before = stored_customer(s["cid"])
    for method, path, fields in WRITES:
        body = urlencode({"csrf": csrf, **fields}).encode() if fields is not None else None
        answer = holder.request(method, path, body)
        assert answer.status_code == 403, (path, answer.status_code)
        assert 'action="/me/confirm"' in answer.body.decode(), path  # offered inline: confirm with a code
    assert stored_customer(s["cid"]) == before  # channel, deletion: nothing changed
    assert inbox("spend_code") == [] and inbox("telegram") == []

    offer = holder.forms(page.body.decode())["/me/confirm"]
    sent = holder.submit("/me/confirm", offer)
    assert sent.status_code == 200 and [m.to for m in inbox("sign_in")] == [PHONE]  # her own channel, not the holder's
    step = holder.forms(sent.body.decode())["/me/confirm"]
    assert holder.submit("/me/confirm", {**step, "code": other_than(last_code("sign_in"))}).status_code == 403
    done = holder.submit("/me/confirm", {**step, "code": last_code("sign_in")})
    assert done.status_code == 303
    confirmed = holder.page("/me")
    assert 'data-testid="read-only"' not in confirmed
    saved = holder.submit("/me/settings", {**holder.forms(confirmed)["/me/settings"], "locale": "ru", "channel": "sms"})
    assert saved.status_code == 303
    assert holder.request("GET", "/me/data.json").status_code == 200


def test_a_link_session_cannot_move_the_codes_to_another_channel_and_then_receive_them(anna, clock):
    """The whole chain seen with old links: open, move the code channel, have a spend code sent."""
    s = anna
    holder = Customer(s["op"].http)
    page = open_link(holder, v1_link(s["cid"], clock)).body.decode()
    form = holder.forms(page)["/me/settings"]
    assert holder.submit("/me/settings", {**form, "locale": "ru", "channel": "email"}).status_code == 403
    assert stored_customer(s["cid"]).get("channel") is None
    assert s["cafe"].post(f"/v1/customers/{s['cid']}/spend-code").status == 202
    assert [m.to for m in inbox("spend_code")] == [PHONE]  # still her phone


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_channel_change_is_announced_on_the_old_channel(api, locale):
    cafe = api.as_key(api.post("/v1/admin/partners", {"name": "Уют", **TRUSTED})["api_key"])
    enrol(cafe, phone=PHONE, email=EMAIL, name="Анна", locale=locale)
    s = {"op": api}
    browser = signed_in(s)
    form = browser.forms(browser.page("/me"))["/me/settings"]
    assert browser.submit("/me/settings", {**form, "locale": locale, "channel": "email"}).status_code == 303
    (told,) = inbox("channel_changed")
    assert told.to == PHONE and told.channel == "sms"  # the old channel
    assert ("e-mail" in told.text) and (("теперь приходят" in told.text) if locale == "ru" else ("now go" in told.text))
    form = browser.forms(browser.page("/me"))["/me/settings"]
    assert browser.submit("/me/settings", {**form, "locale": locale, "channel": "email"}).status_code == 303
    assert len(inbox("channel_changed")) == 1  # no change, no message
    assert browser.submit("/me/settings", {**form, "locale": locale, "channel": "sms"}).status_code == 303
    assert (inbox("channel_changed")[0].to, inbox("channel_changed")[0].channel) == (EMAIL, "email")


# --- the operator ends old links -----------------------------------------------------------------------------------


def page_status(http: Any, token: str) -> int:
    json_status = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
    page = http.get(f"/me?token={quote(token)}").status_code
    page = 200 if page == 303 else page  # a genuine link: on to /me, without the token
    assert json_status == page, (json_status, page)
    return int(page)


def test_the_operator_ends_every_link_issued_before_an_instant(anna, clock):
    s = anna
    http = s["op"].http
    old, undated = v2_link(s["cid"], clock, minutes=7 * 24 * 60), v1_link(s["cid"], clock, minutes=7 * 24 * 60)
    kept_open = Customer(http)
    assert open_link(kept_open, old).status_code == 200  # a session opened from the old link
    signed = signed_in(s)  # and a code sign-in's
    clock.advance(timedelta(hours=1))
    cutoff = clock.now().replace(microsecond=0)
    fresh = v2_link(s["cid"], clock)  # made at the cutoff: not before it
    assert page_status(http, old) == page_status(http, undated) == page_status(http, fresh) == 200

    body = {"issued_before": cutoff.astimezone(timedelta_zone(3)).isoformat()}  # the same instant, another offset
    assert s["cafe"].post("/v1/admin/customer-links/revoke", body).status == 403  # operator only
    ended = s["op"].post("/v1/admin/customer-links/revoke", body)
    assert ended.status == 200 and ended["issued_before"] == cutoff.isoformat() and ended["undated_links_ended"]
    assert page_status(http, old) == 401 and page_status(http, undated) == 401  # v1 links: all of them
    assert kept_open.request("GET", "/me").status_code == 303  # the session the old link opened is over
    assert page_status(http, fresh) == 200
    assert signed.request("GET", "/me").status_code == 200  # a code sign-in is no link

    earlier = s["op"].post("/v1/admin/customer-links/revoke", {"issued_before": "2026-01-01T00:00:00Z"})
    assert earlier.status == 200 and earlier["issued_before"] == cutoff.isoformat()  # never moves back
    assert page_status(http, old) == 401
    future = (clock.now() + timedelta(days=1)).isoformat()
    assert s["op"].post("/v1/admin/customer-links/revoke", {"issued_before": future}).status == 422
    assert s["op"].post("/v1/admin/customer-links/revoke", {"issued_before": "2026-03-10T12:00:00"}).status == 422


def timedelta_zone(hours: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


# --- sign-in an outsider can neither read nor block ----------------------------------------------------------------


def ask_code(browser: Customer, identifier: str) -> Any:
    form = browser.forms(browser.page("/me/sign-in"))["/me/sign-in"]
    return browser.submit("/me/sign-in", {**form, "identifier": identifier})


def test_an_outsider_typing_her_phone_elsewhere_does_not_lock_her_out(anna, clock):
    s = anna
    attacker = Customer(s["op"].http)
    with from_address("203.0.113.66"):
        for _ in range(5):
            assert ask_code(attacker, PHONE).status_code == 200
        refused = ask_code(attacker, PHONE)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "720"
    her = Customer(s["op"].http)
    with from_address("198.51.100.7"):
        assert her.sign_in(PHONE).status_code == 303  # her own address: her own allowance

    # Many addresses reach the phone's ceiling (20 an hour); her browser that signed in before still gets a code,
    # and so does her e-mail address (another channel she owns).
    for i, times in ((1, 5), (2, 5), (3, 4)):  # 6 codes so far, 14 more: the ceiling of 20
        with from_address(f"203.0.113.{i}"):
            for _ in range(times):
                assert ask_code(attacker, PHONE).status_code == 200
    with from_address("192.0.2.50"):
        assert ask_code(Customer(s["op"].http), PHONE).status_code == 429  # a new browser: the ceiling
        forger = Customer(s["op"].http)
        forger.jar["lc_device"] = her.jar["lc_device"].split(".")[0] + ".forged"
        assert ask_code(forger, PHONE).status_code == 429  # a made-up device cookie is no known browser
        her.jar.pop("lc_session")
        assert her.sign_in(PHONE).status_code == 303  # her browser: lc_device, a bucket of its own
        assert Customer(s["op"].http).sign_in(EMAIL, lambda: last_code("sign_in", EMAIL)).status_code == 303


def test_wrong_codes_typed_elsewhere_do_not_use_up_her_tries(anna, clock):
    s = anna
    attacker = Customer(s["op"].http)
    with from_address("203.0.113.66"):
        page = ask_code(attacker, PHONE)
        statuses = []
        for _ in range(11):  # her code locks after five; then his address has no tries left at all
            step = attacker.forms(page.body.decode()).get("/me/sign-in/code", {})
            page = attacker.submit("/me/sign-in/code", {**step, "code": other_than(last_code("sign_in"))})
            statuses.append(page.status_code)
        assert statuses == [403] * 5 + [429] * 6
    with from_address("198.51.100.7"):
        assert Customer(s["op"].http).sign_in(PHONE).status_code == 303


def shape(response: Any, *identifiers: str) -> tuple[int, list[str], str]:
    """What a response tells: its status, its headers' names and non-random values, and its body without the
    random form tokens and with the identifier typed in replaced."""
    body = re.sub(r'name="csrf" value="[^"]*"', 'name="csrf" value=""', response.body.decode())
    body = re.sub(r"nonce-[A-Za-z0-9_-]+|nonce=\"[^\"]*\"", "nonce", body)
    for identifier in identifiers:
        body = body.replace(identifier, "IDENTIFIER")
    varying = {"x-request-id", "set-cookie", "content-security-policy"}
    headers = sorted(f"{k.lower()}: {'' if k.lower() in varying else v}" for k, v in response.headers.items())
    return response.status_code, headers, body


def test_sign_in_answers_and_work_are_the_same_for_an_unknown_phone(anna, clock):
    s = anna
    stranger = "+79990000000"
    people = {"known": (Customer(s["op"].http), PHONE), "unknown": (Customer(s["op"].http), stranger)}
    for browser, _ in people.values():
        browser.page("/me/sign-in")  # the per-process caches warm alike
    calls = Calls()

    def both(submit: Any) -> None:
        """One request from each browser: the same answers, byte for byte, and the same DynamoDB work."""
        answers, work = {}, {}
        for who, (browser, identifier) in people.items():
            work[who] = calls.during(lambda b=browser, i=identifier, w=who: answers.__setitem__(w, submit(b, i, w)))
        assert shape(answers["known"], PHONE) == shape(answers["unknown"], stranger)
        assert work["known"] == work["unknown"]
        pages.update(answers)

    pages: dict[str, Any] = {}
    forms = {who: b.forms(b.page("/me/sign-in"))["/me/sign-in"] for who, (b, _) in people.items()}
    both(lambda b, i, w: b.submit("/me/sign-in", {**forms[w], "identifier": i}))
    code = last_code("sign_in")
    steps = {who: b.forms(pages[who].body.decode())["/me/sign-in/code"] for who, (b, _) in people.items()}
    for _ in range(6):  # five wrong tries (4, 3, 2, 1 left, then locked), then the locked page
        both(lambda b, i, w: b.submit("/me/sign-in/code", {**steps[w], "code": other_than(code)}))
        for who, (b, _) in people.items():
            steps[who] = b.forms(pages[who].body.decode()).get("/me/sign-in/code", steps[who])
    assert pages["known"].status_code == 429 and pages["known"].headers["Retry-After"]
    assert [m.to for m in inbox("sign_in")] == [PHONE]  # nobody got a code for the stranger


def test_the_locked_sign_in_page_says_when_to_try_again(anna, clock):
    s = anna
    browser = Customer(s["op"].http)
    page = ask_code(browser, PHONE)
    code = last_code("sign_in")
    for _ in range(5):
        step = browser.forms(page.body.decode())["/me/sign-in/code"]
        page = browser.submit("/me/sign-in/code", {**step, "code": other_than(code)})
    step = browser.forms(page.body.decode())["/me/sign-in/code"]
    locked = browser.submit("/me/sign-in/code", {**step, "code": code})
    assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 600


# --- sessions ------------------------------------------------------------------------------------------------------


def test_a_session_expires_server_side_whatever_the_browser_keeps(anna, clock):
    browser = signed_in(anna)
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert browser.request("GET", "/me").status_code == 200
    clock.advance(timedelta(seconds=1))
    assert browser.request("GET", "/me").status_code == 303  # the cookie is still sent: the server says no


def test_a_one_minute_link_gives_at_most_a_one_minute_session(anna, clock):
    s = anna
    assert s["cafe"].post(f"/v1/customers/{s['cid']}/portal-link", {"ttl_minutes": 1}).status == 202
    browser = Customer(s["op"].http)
    opened = browser.request("GET", "/me" + last_link(PHONE).split("/me", 1)[1])
    assert opened.status_code == 303 and opened.headers["Location"] == "/me"
    max_age = int(re.search(r"lc_session=[^;]+;.*Max-Age=(\d+)", str(opened.headers["Set-Cookie"])).group(1))
    assert max_age <= 60
    clock.advance(timedelta(seconds=60))
    assert browser.request("GET", "/me").status_code == 303


def test_deleting_the_account_ends_the_sessions_of_every_device(anna, clock):
    s = anna
    phone, laptop = signed_in(s), signed_in(s)
    assert laptop.request("GET", "/me").status_code == 200
    form = phone.forms(phone.page("/me/delete"))["/me/delete"]
    assert phone.submit("/me/delete", {**form, "confirm": "on"}).status_code == 200
    assert laptop.request("GET", "/me").status_code == 303
    assert laptop.request("GET", "/me/data.json").status_code == 401


def customer_posts() -> list[str]:
    from chalicelib.routes import ROUTES

    return sorted(r.path for r in ROUTES if r.auth == "customer" and r.method == "POST")


@pytest.mark.parametrize("path", customer_posts())
@pytest.mark.parametrize("token", ["forged", "missing"])
def test_every_form_of_the_page_refuses_a_forged_or_missing_csrf_token(anna, clock, path, token):
    s = anna
    browser = signed_in(s)
    real = browser.forms(browser.page("/me"))["/me/settings"]["csrf"]
    before = [i for i in table_snapshot() if not i["pk"]["S"].startswith("RATE#")]
    sent_before = len(inbox())
    fields = {"confirm": "on", "locale": "en", "channel": "email", "code": "123456", "token": "x"}
    if token == "forged":
        fields["csrf"] = real[:-1] + ("0" if real[-1] != "0" else "1")
    answer = browser.submit(path, fields)
    assert answer.status_code == 403, (path, answer.status_code)
    assert [i for i in table_snapshot() if not i["pk"]["S"].startswith("RATE#")] == before
    assert len(inbox()) == sent_before
    assert browser.request("GET", "/me").status_code == 200  # still signed in: nothing happened


def test_a_link_never_silently_replaces_who_is_signed_in(anna, clock):
    s = anna
    boris = enrol(s["cafe"], phone="+79161234568", name="Борис")
    browser = signed_in(s)
    token = v2_link(boris, clock)
    asked = open_link(browser, token)
    text = asked.body.decode()
    assert asked.status_code == 200 and 'data-testid="switch-question"' in text and "Анна" in text and "Борис" in text
    assert "Здравствуйте, Анна!" in browser.page("/me")  # still Anna until she says yes
    form = browser.forms(text)["/me/open-link"]
    assert browser.submit("/me/open-link", {**form, "csrf": "forged"}).status_code == 403
    assert browser.submit("/me/open-link", form).status_code == 303
    page = browser.page("/me")
    assert "Здравствуйте, Борис!" in page and 'data-testid="read-only"' in page


# --- deleting the account ------------------------------------------------------------------------------------------


def test_an_account_is_not_deleted_while_a_till_holds_its_points(anna, clock):
    s = anna
    s["cafe"].post(f"/v1/customers/{s['cid']}/spend-code")
    held = spend(s["cafe"], s["cid"], "C-1", points=50, code=last_code("spend_code"), capture=False)
    assert held.status == 201
    browser = signed_in(s)
    csrf = browser.forms(browser.page("/me"))["/me/settings"]["csrf"]
    refused = browser.submit("/me/delete", {"csrf": csrf, "confirm": "on"})  # the form is hidden; the POST is not
    assert refused.status_code == 409
    assert "deleted_at" not in stored_customer(s["cid"])
    assert s["cafe"].post(f"/v1/redemptions/{held['redemption_id']}/capture", {}).status == 200


def test_deleting_the_account_forfeits_pending_points_and_the_books_still_add_up(api, clock):
    r = api.post("/v1/admin/partners", {"name": "Стиль", "pending_days": 14, **TRUSTED})
    store = api.as_key(r["api_key"])
    cid = enrol(store, phone=PHONE, name="Анна")
    assert accrue(store, cid, "P-1", 200_000)["status"] == "pending"
    browser = signed_in({"op": api})
    preview = browser.page("/me/delete")
    form = browser.forms(preview)["/me/delete"]
    assert browser.submit("/me/delete", {**form, "confirm": "on"}).status_code == 200
    item = stored_customer(cid)
    assert item["pending"]["N"] == "0" and not item.get("pending_lots", {}).get("M")
    entries = [i for i in table_snapshot() if i["pk"]["S"] == f"CUST#{cid}" and i["sk"]["S"].startswith("E#")]
    types = [e["type"]["S"] for e in entries]
    assert types.count("matured") == 1 and types.count("expiry") == 1  # corrections, never an edit
    reconciled = api.get(f"/v1/admin/settlements/{clock.now():%Y-%m}/reconciliation")
    assert reconciled.status == 200 and reconciled["matches"] is True, reconciled.json
    report = api.get(f"/v1/admin/settlements/{clock.now():%Y-%m}")
    assert report.status == 200 and report.json["identity"]["holds"] is True, json.dumps(report.json)[:500]
    clock.advance(timedelta(days=15))  # past the date the points would have matured: nothing appears
    assert stored_customer(cid)["available"]["N"] == "0"


# --- HSTS and the partner portal's sign-in -------------------------------------------------------------------------


def test_https_answers_carry_hsts_pages_and_api_alike(anna):
    s = anna
    https = {"Host": "loyalty.example.com", "X-Forwarded-Proto": "https"}
    for path, headers in (
        ("/me/sign-in", https),
        ("/portal", https),
        ("/v1/partner", {**https, "Authorization": f"Bearer {s['cafe'].key}"}),
        ("/v1/partner", https),  # a 401 problem too
        ("/health", https),
        ("/no-such-page", https),  # the catch-all's 404 page (chalicelib/web/site.py)
        ("/health", {"Host": "loyalty.example.com"}),  # any host but loopback is taken to be reached over HTTPS
    ):
        answer = s["op"].http.get(path, headers=headers)
        assert "max-age=31536000" in answer.headers.get("Strict-Transport-Security", ""), (path, answer.status_code)
    plain = s["op"].http.get("/health", headers={"Host": "127.0.0.1:8000"})
    assert "Strict-Transport-Security" not in plain.headers  # make run, plain http on this machine


def portal_login(http: Any, key: str) -> Any:
    from tests.test_edges_input_portal import Portal

    browser = Portal(http)
    form = browser.forms(browser.page("/portal"))["/portal/login"]
    return browser.submit("/portal/login", {**form, "api_key": key})


def test_wrong_portal_keys_are_limited_per_address_and_per_key_prefix(anna, clock):
    s = anna
    http = s["op"].http
    key = s["cafe"].key
    with from_address("203.0.113.66"):
        for i in range(10):
            assert portal_login(http, f"lk_guess{i:03d}xxxxxxxxxxxx").status_code == 401
        refused = portal_login(http, "lk_guess999xxxxxxxxxxxx")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "lk_" not in refused.body.decode()
    with from_address("198.51.100.7"):
        assert portal_login(http, key).status_code == 303  # the partner, from its own address
    # A partner's key names its partner before its secret (lk_<partner>.<key id>.<secret>): the prefix counted is
    # the secret's first characters, so a guess at this key is its names and the start of its secret.
    names, secret = key.rsplit(".", 1)
    for i in range(4):  # one key guessed at from many addresses (its partner's own sign-in counted above)
        with from_address(f"192.0.2.{i}"):
            assert portal_login(http, f"{names}.{secret[:8]}wrong{i}").status_code == 401
    with from_address("192.0.2.99"):
        assert portal_login(http, f"{names}.{secret[:8]}wrong-again").status_code == 429


def test_a_link_session_written_while_she_signed_out_everywhere_is_ended_by_its_links_age(anna, clock):
    """Signing out everywhere stamps the customer, then deletes her sessions: a link's session written between the
    two escapes the deletion. Its link is older than the stamp, so the page refuses it all the same."""
    from chalicelib.db import keys
    from chalicelib.db.models import CustomerItem

    s = anna
    assert s["cafe"].post(f"/v1/customers/{s['cid']}/portal-link").status == 202
    browser = Customer(s["op"].http)
    assert browser.request("GET", "/me" + last_link(PHONE).split("/me", 1)[1]).status_code == 303
    assert browser.request("GET", "/me").status_code == 200
    clock.advance(timedelta(seconds=5))
    stamped = clock.now().isoformat()  # the stamp landed; the deletion's query did not see this session yet
    CustomerItem(*keys.customer(s["cid"])).update(actions=[CustomerItem.signed_out_at.set(stamped)])
    assert browser.request("GET", "/me").status_code != 200


def test_a_partner_cannot_have_the_customers_link_sent_under_another_host(anna):
    """The link carries her token: a partner choosing ``X-Forwarded-Proto`` or ``Host`` on the request for it must not
    get the program's own message to send her to its site."""
    from urllib.parse import urlsplit

    s = anna
    for headers in ({"X-Forwarded-Proto": "https://evil.example/?x="}, {"Host": "evil.example/?x="}):
        r = s["cafe"].post(f"/v1/customers/{s['cid']}/portal-link", {}, headers=headers)
        assert r.status == 202, r.json
        link = last_link(PHONE)
        assert "token=v2." in link and urlsplit(link).hostname == "localhost", link


def test_behind_api_gateway_the_customers_link_goes_under_the_address_it_was_called_at(anna):
    """In AWS without ``PublicBaseUrl`` the link is built from API Gateway's own ``requestContext`` (its domain, and
    the stage on the default domain), whatever ``Host`` and ``X-Forwarded-Proto`` the caller sends."""
    from app import app

    s = anna
    key = s["cafe"].key
    gateway = "abc123.execute-api.eu-central-1.amazonaws.com"
    event = {
        "resource": "/v1/customers/{customer_id}/portal-link",
        "path": f"/v1/customers/{s['cid']}/portal-link",
        "httpMethod": "POST",
        "headers": {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Host": "evil.example",
            "X-Forwarded-Proto": "https://evil.example/?x=",
        },
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"customer_id": s["cid"]},
        "stageVariables": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/v1/customers/{customer_id}/portal-link",
            "httpMethod": "POST",
            "requestId": "gw-1",
            "path": f"/api/v1/customers/{s['cid']}/portal-link",
            "domainName": gateway,
            "stage": "api",
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": "{}",
    }

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "api", 512, "gw-1"

        def get_remaining_time_in_millis(self) -> int:
            return 20_000

    answer = app(event, Context())
    assert answer["statusCode"] == 202, answer
    assert last_link(PHONE).startswith(f"https://{gateway}/api/me?token=v2.")


def test_a_link_session_that_escaped_sign_out_everywhere_asks_for_no_code(anna, clock):
    """A link's session written while she signed out everywhere escapes the deletion and is refused by its page
    (its link's age); its "confirm with a code" form is refused as well: no code is sent to her, none is judged."""
    from chalicelib.db import keys
    from chalicelib.db.models import CustomerItem

    s = anna
    assert s["cafe"].post(f"/v1/customers/{s['cid']}/portal-link").status == 202
    holder = Customer(s["op"].http)
    assert holder.request("GET", "/me" + last_link(PHONE).split("/me", 1)[1]).status_code == 303
    confirm = holder.forms(holder.page("/me"))["/me/confirm"]
    clock.advance(timedelta(seconds=5))
    CustomerItem(*keys.customer(s["cid"])).update(actions=[CustomerItem.signed_out_at.set(clock.now().isoformat())])
    assert holder.request("GET", "/me").status_code != 200  # the page: ended
    before = len(inbox("sign_in"))
    for form in (confirm, {**confirm, "code": "000000"}):
        asked = holder.submit("/me/confirm", form)
        assert asked.status_code != 200 and len(inbox("sign_in")) == before, asked.status_code
