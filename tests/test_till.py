"""The till screen over HTTP: a cashier finds a customer, spends with the customer's code and earns on the rest of
one receipt in one press, refunds half of it, and every press sent twice acts once. The browser drives the same in
tests/browser/test_till.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.routes import ROUTES
from tests.conftest import last_code
from tests.staff_helpers import add_staff, session_cookies
from tests.test_api_ledger import accrue, enrol
from tests.test_edges_input_portal import Portal

PHONE = "+79161234567"
CASHIER = "+79035550101"


def _text(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', page, re.S)
    assert found, testid
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).replace("\u00a0", " ").strip()


class Till(Portal):
    """A cashier's browser at /till: the forms of the page last shown, submitted as a browser would."""

    last: str = ""

    def open(self, lang: str = "ru") -> str:
        self.last = self.page(f"/till?lang={lang}")
        return self.last

    def press(self, to: str, times: int = 1, **fields: str) -> tuple[int, str]:
        """Submit the form posting ``to`` on the current page with ``fields`` typed, ``times`` times (a double tap)."""
        hidden = self.form_of(to)
        answers = [self.submit(to, {**hidden, **fields}) for _ in range(times)]
        bodies = [a.body.decode() for a in answers]
        assert len(set(bodies_without_nonces(bodies))) == 1, "a second press answered differently"
        self.last = bodies[-1]
        return answers[-1].status_code, self.last

    def form_of(self, action: str) -> dict[str, str]:
        for found_action, inner in re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', self.last, re.S):
            if unescape(found_action) == action or f'formaction="{action}"' in inner:
                hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', inner)
                return {unescape(k): unescape(v) for k, v in hidden}
        raise AssertionError(f"no form for {action}")


def bodies_without_nonces(bodies: list[str]) -> list[str]:
    """Pages differ only by the nonces drawn for their forms and their CSS."""
    return [re.sub(r'(name="nonce" value="|nonce-|nonce=")[^"\']+', "", b) for b in bodies]


def cashier(c: Any, partner_key: str, phone: str, role: str = "cashier") -> Till:
    """A member of the partner's staff, invited by the owner's key, signed in at /till with the code sent to them."""
    add_staff(c.operator, partner_key_or_operator_key=partner_key, role=role, phone=phone, name="Ольга")
    till = Till(c.operator.http)
    till.jar.update(session_cookies(c.operator, area="till", phone=phone))
    return till


@dataclass
class Shop:
    c: Any  # the coalition
    cafe: Any  # the café's API client
    cid: str
    till: Till


@pytest.fixture
def shop(coalition):
    """A café that spends only with the customer's code (the default policy), a customer with 300 points earned at
    the store, and the café's cashier signed in at the till."""
    c = coalition
    r = c.operator.post("/v1/admin/partners", {"name": "Кофейня", "earn_rate_bps": 500})
    assert r.status == 201, r.json
    cafe = c.operator.as_key(r["api_key"])
    cid = enrol(c.store, phone=PHONE, name="Анна")
    assert accrue(c.store, cid, "S-1", 1_000_000).status == 201  # 3 % of 10 000 RUB: 300 points
    return Shop(c, cafe, cid, cashier(c, cafe.key, CASHIER))


def test_find_spend_with_the_code_earn_on_the_rest_and_refund_half_each_press_twice(shop):
    shop.till.open("ru")
    status, page = shop.till.press("/till/find", query="8 (916) 123-45-67")
    assert status == 200
    assert _text(page, "customer-name") == "Анна" and _text(page, "balance") == "300"
    receipt = _text(page, "receipt")
    assert re.fullmatch(r"T\d{6}-[A-Z0-9]{3}-[A-Z0-9]{4}", receipt)

    status, page = shop.till.press("/till/receipt", amount="1 000", action="spend")
    assert status == 200 and "300" in _text(page, "most")  # 50 % of 1 000 RUB, but she has 300
    status, page = shop.till.press("/till/send-code", times=2, points="100")
    assert status == 200 and "+7 916 ***-**-67" in _text(page, "code-sent")
    code = last_code("spend_code", PHONE)

    status, page = shop.till.press("/till/charge", times=2, points="100", code=code)
    assert status == 200, page
    assert _text(page, "spent") == "100" and _text(page, "to-pay") == "900 ₽"
    assert _text(page, "earned") == "45"  # 5 % of the 900 RUB paid in money
    assert _text(page, "new-balance") == "245" and _text(page, "receipt") == receipt
    assert shop.c.store.get(f"/v1/customers/{shop.cid}/balance")["available"] == 245
    items = shop.cafe.get(f"/v1/customers/{shop.cid}/transactions")["items"]
    assert sorted(i["type"] for i in items) == ["accrual", "redemption"]

    shop.till.open("ru")
    status, page = shop.till.press("/till/refund", times=2, receipt=receipt.lower(), refund_amount="500")
    assert status == 200, page
    assert _text(page, "give-back") == "500 ₽"
    assert _text(page, "points-returned") == "50" and _text(page, "points-reversed") == "22"
    assert _text(page, "new-balance") == "273"  # 245 + 50 returned - 22 taken back
    items = shop.cafe.get(f"/v1/customers/{shop.cid}/transactions")["items"]
    assert sorted(i["type"] for i in items) == ["accrual", "redemption", "refund"]

    shift = re.search(r'data-testid="shift".*?</table>', shop.till.open("ru"), re.S)
    assert shift is not None
    row = unescape(re.sub(r"<[^>]+>", " ", shift.group())).replace("\u00a0", " ")
    assert re.search(rf"{receipt}\s+\d\d:\d\d\s+1 000 ₽\s+100\s+45\s+500 ₽", row), row


def test_a_wrong_code_is_said_beside_the_code_field_and_the_right_one_then_works(shop):
    shop.till.open("en")
    shop.till.press("/till/find", query=PHONE)
    shop.till.press("/till/receipt", amount="500", action="spend")
    shop.till.press("/till/send-code", points="50")
    code = last_code("spend_code", PHONE)
    wrong = "000000" if code != "000000" else "111111"
    status, page = shop.till.press("/till/charge", points="50", code=wrong)
    assert status == 403
    assert _text(page, "error-code").startswith("This code did not work")
    assert 'aria-invalid="true"' in page
    status, page = shop.till.press("/till/charge", points="60", code=code)  # more than the code allows
    assert status == 403 and "The most points this code allows: 50." in _text(page, "error-code")
    status, page = shop.till.press("/till/charge", points="50", code=code)
    assert status == 200 and _text(page, "spent") == "50"
    assert shop.c.store.get(f"/v1/customers/{shop.cid}/balance")["available"] == 300 - 50 + 22  # 5 % of 450 RUB


def test_earn_only_and_mistyped_fields_in_russian(shop):
    shop.till.open("ru")
    status, page = shop.till.press("/till/find", query="+7 000 000-00-00")
    assert status == 404 and _text(page, "error-query") == "Покупатель с таким телефоном или картой не найден."
    status, page = shop.till.press("/till/find", query="<script>alert(1)</script>")
    assert status == 422 and "<script>" not in page and 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    shop.till.press("/till/find", query=PHONE)
    status, page = shop.till.press("/till/receipt", amount="сто", action="earn")
    assert status == 422 and _text(page, "error-amount").startswith("Введите сумму чека")
    status, page = shop.till.press("/till/receipt", times=2, amount="1250,50", action="earn")
    assert status == 200 and _text(page, "earned") == "62" and _text(page, "spent") == "0"
    assert _text(page, "to-pay") == "1 250,50 ₽"
    assert shop.c.store.get(f"/v1/customers/{shop.cid}/balance")["available"] == 362


def test_a_cashier_never_reaches_another_partners_receipts(shop):
    shop.till.open("ru")
    shop.till.press("/till/find", query=PHONE)
    status, page = shop.till.press("/till/receipt", amount="100", action="earn")
    receipt = _text(page, "receipt")
    other = cashier(shop.c, shop.c.salon.key, "+79035550102")
    other.open("ru")
    status, page = other.press("/till/refund", receipt=receipt)
    assert status == 404 and _text(page, "error-receipt") == "Чека с таким номером здесь нет."
    assert receipt not in other.open("ru")
    assert shop.c.store.get(f"/v1/customers/{shop.cid}/balance")["available"] == 305


def test_a_whole_refund_gives_back_what_is_left_of_the_receipt(shop):
    shop.till.open("en")
    shop.till.press("/till/find", query=PHONE)
    _, page = shop.till.press("/till/receipt", amount="1000", action="earn")
    receipt = _text(page, "receipt")
    shop.till.open("en")
    _, page = shop.till.press("/till/refund", receipt=receipt, refund_amount="300")
    assert _text(page, "give-back") == "300 RUB"
    shop.till.open("en")
    status, page = shop.till.press("/till/refund", times=2, receipt=receipt)  # no amount: the rest of the receipt
    assert status == 200 and _text(page, "give-back") == "700 RUB"
    shop.till.open("en")
    status, page = shop.till.press("/till/refund", receipt=receipt)
    assert status == 422 and _text(page, "error-refund_amount") == "At most 0 RUB is left to refund on this receipt."


def test_each_search_is_a_look_up_of_the_cashier_and_the_wait_is_said_in_words(shop, clock):
    from tests.test_limits import use_limits

    use_limits(clock, '{"api_key": null, "lookup": {"count": 2, "per_seconds": 3600}}')
    shop.till.open("ru")
    assert shop.till.press("/till/find", query=PHONE)[0] == 200
    shop.till.open("ru")
    assert shop.till.press("/till/find", query="+79160000000")[0] == 404
    shop.till.open("ru")
    status, page = shop.till.press("/till/find", query=PHONE)
    assert status == 429 and _text(page, "error-query") == "Слишком много попыток. Попробуйте через 30 минут."
    # the cashier's look-ups are the cashier's own: the partner's API key (and other cashiers) keep theirs
    assert shop.cafe.get("/v1/customers/lookup?phone=%2B79161234567").status == 200


def test_a_press_without_the_forms_token_changes_nothing(shop):
    shop.till.open("ru")
    shop.till.press("/till/find", query=PHONE)
    hidden = shop.till.form_of("/till/receipt")
    for forged in ({**hidden, "csrf": "0" * 32}, {k: v for k, v in hidden.items() if k != "csrf"}):
        answer = shop.till.submit("/till/receipt", {**forged, "amount": "100", "action": "earn"})
        assert answer.status_code == 403
    assert shop.cafe.get(f"/v1/customers/{shop.cid}/transactions")["items"] == []


def test_the_shift_shows_only_this_cashiers_receipts(shop):
    other = cashier(shop.c, shop.cafe.key, "+79035550102")
    other.open("ru")
    other.press("/till/find", query=PHONE)
    _, page = other.press("/till/receipt", amount="100", action="earn")
    theirs = _text(page, "receipt")
    shop.till.open("ru")
    shop.till.press("/till/find", query=PHONE)
    _, page = shop.till.press("/till/receipt", amount="200", action="earn")
    mine = _text(page, "receipt")
    home = shop.till.open("ru")
    assert mine in home and theirs not in home
    assert theirs in other.open("ru") and mine not in other.last


def test_the_till_opens_to_a_cashier_and_the_owner_only_and_a_cashier_never_reaches_the_portal(shop):
    signed_out = Till(shop.c.operator.http)
    opened = signed_out.request("GET", "/till")
    status, page = opened.status_code, opened.body.decode()
    assert status == 200 and 'action="/till/login/code"' in page  # the till's own sign-in
    posted = signed_out.submit("/till/find", {"query": PHONE})
    assert posted.status_code == 303 and posted.headers["Location"] == "/till/login"
    marketer = cashier(shop.c, shop.cafe.key, "+79035550103", role="marketer")
    assert marketer.request("GET", "/till").status_code == 403
    owner = cashier(shop.c, shop.cafe.key, "+79035550104", role="owner")
    assert owner.request("GET", "/till").status_code == 200
    portal = shop.till.request("GET", "/portal")
    assert portal.status_code in (200, 303, 403) and 'action="/portal/logout"' not in portal.body.decode()
    assert "Кофейня" not in portal.body.decode()  # nothing of the partner's portal
    shop.till.open("ru")
    assert shop.till.press("/till/sign-out")[0] == 303
    assert 'action="/till/login/code"' in shop.till.open("ru")  # signed out: the sign-in page again


TILL_ROUTES = [r for r in ROUTES if r.path.startswith("/till") and r.auth == "staff"]


@pytest.mark.parametrize("route", TILL_ROUTES, ids=[r.name for r in TILL_ROUTES])
def test_every_till_route_for_every_caller(shop, route):
    """No session, an API key, the operator key, a forged cookie, a marketer: the till's sign-in (a form: a 303 to
    it) or a 403 page; the cashier without the form's token: 403; nothing written by any of them."""
    c = shop.c
    marketer = cashier(c, shop.cafe.key, "+79035550105", role="marketer")
    before = shop.cafe.get(f"/v1/customers/{shop.cid}/transactions")["items"]
    form = urlencode({"nonce": "n" * 22, "query": PHONE, "amount": "100", "receipt": "T260310-AAA-AAAA"}).encode()

    def send(cookie: str = "", authorization: str = "", csrf: str = "") -> Any:
        headers = {"Cookie": cookie} if cookie else {}
        if authorization:
            headers["Authorization"] = f"Bearer {authorization}"
        body = None
        if route.method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = form + (f"&csrf={csrf}".encode() if csrf else b"")
        return c.operator.http.request(route.method, route.path, headers=headers, body=body)

    for answer in (
        send(),
        send(authorization=shop.cafe.key),
        send(authorization=c.operator.key),
        send(cookie="ls_session=" + shop.till.jar["ls_session"][:-4] + "AAAA"),
    ):
        if route.method == "POST":
            assert answer.status_code == 303 and answer.headers["Location"] == "/till/login"
        else:
            assert answer.status_code == 200 and 'action="/till/login/code"' in answer.body.decode()
    mine = "ls_session=" + shop.till.jar["ls_session"]
    assert send(cookie="ls_session=" + marketer.jar["ls_session"]).status_code == 403
    if route.method == "POST":
        assert send(cookie=mine).status_code == 403  # no CSRF token
        assert send(cookie=mine, csrf="0" * 32).status_code == 403
    else:
        assert send(cookie=mine).status_code == 200
    assert shop.cafe.get(f"/v1/customers/{shop.cid}/transactions")["items"] == before


def test_a_trusted_till_spends_without_a_code_and_says_the_limits_beside_the_points(shop):
    """A partner the operator lets spend without the customer's code (spend_confirmation "never"): no code needed;
    more than she has, or more than the receipt's share, is said beside the points in the page's language."""
    c = shop.c
    till = cashier(c, c.cafe.key, "+79035550106")  # the coalition's café: spend_confirmation "never"
    till.open("en")
    till.press("/till/find", query=PHONE)
    status, page = till.press("/till/receipt", amount="10000", action="spend")
    # 50 % of 10 000 RUB is 5 000 points: she has 300
    assert _text(page, "most") == "The most points for this receipt: 300 (300 RUB)."
    status, page = till.press("/till/charge", points="301")
    assert status == 422 and _text(page, "error-points") == "Points the customer has available: 300."
    status, page = till.press("/till/charge", points="x")
    assert status == 422 and _text(page, "error-points") == "Type whole points, or leave it empty."
    status, page = till.press("/till/charge", times=2, points="200")
    assert status == 200 and _text(page, "spent") == "200" and _text(page, "to-pay") == "9,800 RUB"
    assert c.store.get(f"/v1/customers/{shop.cid}/balance")["available"] == 100 + 490  # 5 % of 9 800 RUB
    till.open("en")
    till.press("/till/find", query=PHONE)
    till.press("/till/receipt", amount="100", action="spend")
    status, page = till.press("/till/charge", points="60")
    assert status == 422 and _text(page, "error-points") == "The most points for this receipt: 50."


def test_the_card_shows_the_offers_that_earn_here_and_not_elsewhere(shop):
    c = shop.c
    partner_id = shop.cafe.get("/v1/partner")["partner_id"]
    for client, where, points in ((shop.cafe, partner_id, 10), (c.store, c.ids["store"], 77)):
        body = {"name": f"Бонус {points}", "earn_at": [where], "reward": {"type": "fixed", "points": points}}
        made = client.post("/v1/campaigns", {**body, "budget_points": 1000})
        assert made.status == 201, made.json
        assert client.post(f"/v1/campaigns/{made['campaign_id']}/activate").status == 200
    shop.till.open("ru")
    _, page = shop.till.press("/till/find", query=PHONE)
    assert _text(page, "offer").startswith("+10")
    assert page.count('data-testid="offer"') == 1  # the store's campaign earns at the store, not here
    assert _text(page, "tier") == "Бронзовый"  # the program's tier in the page's language


def test_five_wrong_codes_lock_and_the_wait_is_said_beside_the_code(shop):
    shop.till.open("ru")
    shop.till.press("/till/find", query=PHONE)
    shop.till.press("/till/receipt", amount="500", action="spend")
    shop.till.press("/till/send-code", points="50")
    code = last_code("spend_code", PHONE)
    wrong = "000000" if code != "000000" else "111111"
    answers = [shop.till.press("/till/charge", points="50", code=wrong) for _ in range(5)]
    assert [status for status, _ in answers] == [403, 403, 403, 403, 429]
    said = _text(answers[-1][1], "error-code")
    assert re.fullmatch(
        r"Слишком много неверных кодов\. Попробуйте через \d+ минут[уы]? или отправьте новый код\.", said
    )
    assert shop.c.store.get(f"/v1/customers/{shop.cid}/balance")["available"] == 300  # nothing spent
