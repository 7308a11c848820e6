"""Bad input and the portal: form posts that are not UTF-8, phones and cards in non-ASCII digits,
trailing newlines in validated parameters, portal buttons that must act once per press, and spreadsheet formulas
in settlement CSVs. Everything over HTTP through the in-process Chalice client."""

from __future__ import annotations

import base64
import csv
import io
import re
from html import unescape
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.conftest import last_code, table_snapshot
from tests.test_api_ledger import accrue, enrol, redeem

FORM = "application/x-www-form-urlencoded"


class Portal:
    """A browser stand-in for the partner portal: keeps its cookies, reads its forms and submits them."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None) -> Any:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())}
        if body is not None:
            headers["Content-Type"] = FORM
        response = self.http.request(method, path, headers=headers, body=body)
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
        for line in [raw] if isinstance(raw, str) else raw:
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            if value:
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        return response

    def page(self, path: str) -> str:
        response = self.request("GET", path)
        assert response.status_code == 200, response.body
        return str(response.body.decode())

    def forms(self, page: str) -> dict[str, dict[str, str]]:
        """action -> its hidden fields."""
        found = {}
        for action, inner in re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page, re.S):
            hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', inner)
            found[unescape(action)] = {unescape(k): unescape(v) for k, v in hidden}
        return found

    def submit(self, action: str, fields: dict[str, str]) -> Any:
        return self.request("POST", action, urlencode(fields).encode())

    def sign_in(self, key: str) -> None:
        login = self.forms(self.page("/portal"))["/portal/login"]
        response = self.submit("/portal/login", {**login, "api_key": key})
        assert response.status_code == 303 and "lp_session" in self.jar, response.body


def status_of(client: Any, campaign_id: str) -> str:
    r = client.get(f"/v1/campaigns/{campaign_id}")
    assert r.status == 200, r.json
    return str(r["status"])


@pytest.fixture
def running(coalition):
    """An active campaign sponsored by the café."""
    c = coalition
    r = c.cafe.post(
        "/v1/campaigns",
        {"name": "Coffee", "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 5}, "budget_points": 500},
    )
    assert r.status == 201, r.json
    cmp = r["campaign_id"]
    assert c.cafe.post(f"/v1/campaigns/{cmp}/activate").status == 200
    return cmp


# --- 12a: bytes that are not UTF-8 ----------------------------------------------------------------------------

NOT_UTF8 = [b"csrf=\xff\xfe&api_key=\xc3", b"name=%FF%FE&csrf=x", b"\x80"]
PORTAL_POSTS = [
    "/portal/login",
    "/portal/logout",
    "/portal/campaigns/preview",
    "/portal/campaigns/edit",
    "/portal/campaigns",
    "/portal/campaigns/cmp_0000000000000000/pause",
]


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_portal_posts_that_are_not_utf8_are_a_400_page_and_change_nothing(coalition, signed_in):
    portal = Portal(coalition.operator.http)
    if signed_in:
        portal.sign_in(coalition.cafe.key)
    before = table_snapshot()
    for path in PORTAL_POSTS:
        for body in NOT_UTF8:
            response = portal.request("POST", path, body)
            assert response.status_code == 400, (path, body, response.status_code, response.body[:300])
            assert response.headers["Content-Type"].startswith("text/html")
            assert "UTF-8" in response.body.decode()
    assert table_snapshot() == before


# --- 12b: digits that are not ASCII ----------------------------------------------------------------------------

SAME_PHONE = [
    "+٧٩١٦١٢٣٤٥٦٧",  # Arabic-Indic
    "+7٩١٦١٢٣٤٥٦٧",  # mixed
    "８ (９１６) １２３-４５-６７",  # full-width
    "＋７９１６１２３４５６７",  # full-width with a full-width plus
    "8 ۹۱۶ ۱۲۳ ۴۵ ۶۷",  # Extended Arabic-Indic (Persian)
    "+७९१६१२३४५६७",  # Devanagari
]


def test_a_phone_in_any_decimal_digits_is_the_same_customer_stored_as_ascii(coalition):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    for spelling in SAME_PHONE:
        again = c.store.post("/v1/customers", {"phone": spelling})
        assert (again.status, again.json) == (200, {"customer_id": cid, "created": False}), spelling
        found = c.salon.get(f"/v1/customers/lookup?phone={quote(spelling)}")
        assert (found.status, found.json) == (200, {"customer_id": cid}), spelling
    card = c.cafe.post("/v1/customers", {"phone": "+٧٩١٦١٢٣٤٥٦٧", "card": "ＡＢ-١٢٣٤"})
    assert (card.status, card["customer_id"]) == (202, cid)  # attached once the customer confirms
    code = last_code("bind_code", "+79161234567")
    assert c.cafe.post(f"/v1/customers/{cid}/identifiers/confirm", {"code": code}).json["attached"] == ["card"]
    assert c.salon.get("/v1/customers/lookup?card=ab1234")["customer_id"] == cid
    new = c.cafe.post("/v1/customers", {"phone": "+٧ ٩٩٩ ٥٥٥-٠١-٠٢"})
    assert new.status == 201
    assert c.cafe.get("/v1/customers/lookup?phone=%2B79995550102")["customer_id"] == new["customer_id"]
    aliases = [i["pk"]["S"] for i in table_snapshot() if i["pk"]["S"].startswith(("PHONE#", "CARD#"))]
    assert sorted(aliases) == ["CARD#AB1234", "PHONE#+79161234567", "PHONE#+79995550102"]


@pytest.mark.parametrize(
    "phone",
    ["+7٩١٦", "+7916123456²", "+٠٩١٦١٢٣٤٥٦٧", "+7 916 ① 23 45 67", "+7916１２３４５６７x", "+٧٩١٦١٢٣٤٥٦٧٨٩٠١٢٣"],
)
def test_a_phone_that_is_still_not_a_number_is_422(coalition, phone):
    before = table_snapshot()
    r = coalition.cafe.post("/v1/customers", {"phone": phone})
    assert (r.status, r["code"]) == (422, "validation_error"), (phone, r.json)
    found = coalition.cafe.get(f"/v1/customers/lookup?phone={quote(phone)}")
    assert (found.status, found["code"]) == (422, "validation_error"), (phone, found.json)
    assert table_snapshot() == before


# --- 12c: a trailing newline is not part of a valid parameter --------------------------------------------------


@pytest.fixture
def gateway_decodes_paths(monkeypatch):
    """API Gateway url-decodes path parameters before the Lambda sees them (``%0A`` arrives as a newline);
    chalice's local gateway passes them on encoded. Make the in-process client behave like API Gateway."""
    from urllib.parse import unquote

    from chalice.local import MatchResult, RouteMatcher

    original = RouteMatcher.match_route

    def match_route(self: RouteMatcher, url: str) -> MatchResult:
        found = original(self, url)
        return found._replace(captured={k: unquote(v) for k, v in found.captured.items()})

    monkeypatch.setattr(RouteMatcher, "match_route", match_route)


def test_a_trailing_newline_does_not_pass_validation(coalition, gateway_decodes_paths):
    c = coalition
    op = c.operator
    assert (c.cafe.get("/v1/settlements/2026-13").status, c.cafe.get("/v1/settlements/2026-03").status) == (422, 200)
    for path in ("/v1/settlements/2026-03%0A", "/v1/settlements/%D9%A2%D9%A0%D9%A2%D9%A6-03"):
        r = c.cafe.get(path)
        assert (r.status, r["code"]) == (422, "validation_error"), (path, r.json)  # as a malformed month is
    for path in ("/v1/admin/settlements/2026-03%0A", "/v1/admin/settlements/2026-03%0A/reconciliation"):
        r = op.get(path)
        assert (r.status, r["code"]) == (422, "validation_error"), (path, r.json)
    before = table_snapshot()
    r = op.post("/v1/admin/settlements/2026-02%0A/close")
    assert (r.status, r["code"], table_snapshot()) == (422, "validation_error", before)
    cid = enrol(c.cafe, phone="+79161234567")
    before = table_snapshot()
    r = accrue(c.cafe, cid, "A-1", 1000, headers={"Idempotency-Key": "till-1-0001\n"})
    assert (r.status, r["code"]) == (400, "bad_request")
    assert (accrue(c.cafe, cid, "A-1\n", 1000).status, table_snapshot()) == (422, before)
    cursor = base64.urlsafe_b64encode(b"E#ent_" + b"0" * 22 + b"\n").decode().rstrip("=")
    r = c.cafe.get(f"/v1/customers/{cid}/transactions?cursor={cursor}")
    assert (r.status, r["code"]) == (422, "validation_error")
    portal = Portal(op.http)
    portal.sign_in(c.cafe.key)
    for path in ("/portal/settlements?period=2026-03%0A", "/portal/settlements/2026-03%0A/csv"):
        assert portal.request("GET", path).status_code == 422, path


# --- 13: each press of a portal button is a new intent; a double submit is not --------------------------------


def test_pause_in_the_portal_works_again_after_a_resume_elsewhere(coalition, running):
    c, cmp = coalition, running
    portal = Portal(c.operator.http)
    portal.sign_in(c.cafe.key)
    action = f"/portal/campaigns/{cmp}/pause"
    first = portal.forms(portal.page(f"/portal/campaigns/{cmp}"))[action]
    assert portal.submit(action, first).status_code == 303
    assert status_of(c.cafe, cmp) == "paused"
    assert c.cafe.post(f"/v1/campaigns/{cmp}/activate").status == 200  # resumed through the API
    assert status_of(c.cafe, cmp) == "active"
    second = portal.forms(portal.page(f"/portal/campaigns/{cmp}"))[action]  # a freshly loaded page
    assert portal.submit(action, second).status_code == 303
    assert status_of(c.cafe, cmp) == "paused"


def test_a_double_submitted_portal_form_acts_once(coalition, running):
    c, cmp = coalition, running
    portal = Portal(c.operator.http)
    portal.sign_in(c.cafe.key)
    action = f"/portal/campaigns/{cmp}/pause"
    form = portal.forms(portal.page(f"/portal/campaigns/{cmp}"))[action]
    assert portal.submit(action, form).status_code == 303
    assert c.cafe.post(f"/v1/campaigns/{cmp}/activate").status == 200
    again = portal.submit(action, form)  # the same rendered page sent again: a replay, not a second pause
    assert again.status_code == 303 and status_of(c.cafe, cmp) == "active"

    fields = {"name": "Twice", "reward_type": "fixed", "reward_value": "10", "budget": "100", "limit": "1"}
    new = portal.forms(portal.page("/portal/campaigns/new"))["/portal/campaigns/preview"]
    preview = portal.submit("/portal/campaigns/preview", {**new, **fields})
    assert preview.status_code == 200
    create = portal.forms(preview.body.decode())["/portal/campaigns"]
    assert create["nonce"] != new["nonce"]
    one, two = portal.submit("/portal/campaigns", create), portal.submit("/portal/campaigns", create)
    assert one.status_code == two.status_code == 303 and one.headers["Location"] == two.headers["Location"]
    names = [x["name"] for x in c.cafe.get("/v1/campaigns")["items"]]
    assert names.count("Twice") == 1


def test_the_portal_nonce_is_validated_and_scoped_to_the_key(coalition, running):
    c, cmp = coalition, running
    portal = Portal(c.operator.http)
    portal.sign_in(c.cafe.key)
    action = f"/portal/campaigns/{cmp}/pause"
    form = portal.forms(portal.page(f"/portal/campaigns/{cmp}"))[action]
    before = table_snapshot()
    for bad in ("", "short", form["nonce"] + "x", form["nonce"][:-1] + "!", form["nonce"][:-1] + "\n", "٣" * 22):
        response = portal.submit(action, {**form, "nonce": bad})
        assert response.status_code == 400, (bad, response.body[:300])
    response = portal.submit(action, {"csrf": form["csrf"]})
    assert response.status_code == 400
    assert table_snapshot() == before and status_of(c.cafe, cmp) == "active"
    assert portal.submit(action, form).status_code == 303

    theirs = c.store.post(
        "/v1/campaigns", {"name": "Shirts", "earn_at": [c.ids["store"]], "reward": {"type": "fixed", "points": 5}}
    )["campaign_id"]
    assert c.store.post(f"/v1/campaigns/{theirs}/activate").status == 200
    other = Portal(c.operator.http)
    other.sign_in(c.store.key)
    stolen = other.forms(other.page(f"/portal/campaigns/{theirs}"))[f"/portal/campaigns/{theirs}/pause"]
    # the café's nonce on the store's own form: a new intent of the store, never the café's stored answer
    assert other.submit(f"/portal/campaigns/{theirs}/pause", {**stolen, "nonce": form["nonce"]}).status_code == 303
    assert status_of(c.store, theirs) == "paused"
    # and the store cannot act on the café's campaign with the café's form
    refused = other.submit(action, {**stolen, "nonce": form["nonce"]})
    assert refused.status_code in (403, 404)


# --- 14: settlement CSVs never carry a formula ------------------------------------------------------------------

EVIL = {
    "=": '=HYPERLINK("http://x","y")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


def test_settlement_csvs_neutralise_formulas_and_keep_numbers(coalition):
    from chalicelib import db
    from chalicelib.db import keys

    c, op = coalition, coalition.operator
    cid = enrol(c.cafe, phone="+79161234567")
    evil_ids, evil_keys = {}, {}
    for lead, name in EVIL.items():
        r = op.post("/v1/admin/partners", {"name": "x" if lead in "\t\r" else name, "earn_rate_bps": 1000})
        assert r.status == 201, r.json
        evil_ids[lead], evil_keys[lead] = r["partner_id"], op.as_key(r["api_key"])
        if lead in "\t\r":  # the API refuses control characters in names; older data need not have
            db.PartnerItem(*keys.partner(r["partner_id"])).update(actions=[db.PartnerItem.name.set(name)])
        assert accrue(evil_keys[lead], cid, f"E-{len(evil_ids)}", 100_000).status == 201  # 100 points each
    spent = redeem(c.cafe, cid, "C-1", 1_000_000, 600)  # every partner's 100 points spent at the café
    assert spent.status == 201, spent.json

    # the café's CSV names the partners whose points it accepted
    mine = c.cafe.get("/v1/settlements/2026-03?format=csv&table=flows")
    assert mine.status == 200
    rows = _rows(mine.raw.decode())
    flows = {row[0]: row[1] for row in rows[1:]}
    assert {lead: flows[evil_ids[lead]] for lead in EVIL} == {lead: "'" + name for lead, name in EVIL.items()}
    assert [int(row[2]) for row in rows[1:]] == [100] * len(EVIL)
    csvs = [mine.raw.decode()]
    # each of them sees its own name neutralised, and its negative figures as numbers
    for lead, name in EVIL.items():
        theirs = evil_keys[lead].get("/v1/settlements/2026-03?format=csv&headers=fields")
        csvs.append(theirs.raw.decode())
        row = dict(zip(*_rows(csvs[-1])[:2], strict=True))
        assert row["partner_name"] == "'" + name
        assert (row["net_points"], row["net_amount_minor"], row["net_amount"]) == ("-100", "-10000", "-100,00")

    report = op.get("/v1/admin/settlements/2026-03?format=csv&headers=fields")
    assert report.status == 200
    csvs.append(report.raw.decode())
    rows = _rows(csvs[-1])
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    for lead, name in EVIL.items():
        assert by_id[evil_ids[lead]]["partner_name"] == "'" + name
        assert by_id[evil_ids[lead]]["net_amount"] == "-100,00"
    assert by_id[c.ids["cafe"]]["partner_name"] == "Cafe"
    for text in csvs:  # no cell anywhere starts a formula; what starts with "-" is a number
        for row in _rows(text):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
                assert not cell.startswith("-") or re.fullmatch(r"-[0-9]+(,[0-9]{2})?", cell), cell
