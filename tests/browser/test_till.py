"""The till screen in Chromium, as a cashier uses it: on a 7-inch tablet in Russian and on a phone in English, find
the customer, pay part of one receipt with points using the customer's code and earn on the rest, then refund half
of it, every button double-clicked and each effect counted once over the API; the same keyboard-only; axe-core on
every screen of the way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _grave
from tests.conftest import last_code

PHONE = "+79161234567"
CASHIER = "+79035550101"
TABLET = {"width": 800, "height": 1280}
PHONE_SIZE = {"width": 390, "height": 844}
RUNS = {"tablet-ru": (TABLET, "ru"), "phone-en": (PHONE_SIZE, "en")}


def _world(live: Any) -> dict[str, Any]:
    """A café that spends only with the customer's code, a store where the customer earned 300 points."""
    op = live.operator_key
    cafe = live.request("POST", "/v1/admin/partners", op, {"name": "Уют", "earn_rate_bps": 500}).json()
    store = live.request("POST", "/v1/admin/partners", op, {"name": "Стиль", "earn_rate_bps": 300}).json()
    cid = live.request("POST", "/v1/customers", store["api_key"], {"phone": PHONE, "name": "Анна"}).json()
    body = {"customer_id": cid["customer_id"], "order_id": "S-1", "amount_minor": 1_000_000}
    assert live.request("POST", "/v1/accruals", store["api_key"], body).status_code == 201
    return {"cafe_key": cafe["api_key"], "store_key": store["api_key"], "cid": cid["customer_id"]}


def _sign_in(page: Any, live: Any, world: dict[str, Any], lang: str) -> None:
    """The cashier signs in at /till with a one-time code sent to her phone."""
    from tests.staff_helpers import add_staff, sign_in_page

    add_staff(live, partner_key_or_operator_key=world["cafe_key"], role="cashier", phone=CASHIER, name="Ольга")
    sign_in_page(page, live, area="till", phone=CASHIER)
    page.goto(f"{live.url}/till?lang={lang}")


def _balance(live: Any, world: dict[str, Any]) -> int:
    r = live.request("GET", f"/v1/customers/{world['cid']}/balance", world["store_key"])
    return int(r.json()["available"])


def _types(live: Any, world: dict[str, Any]) -> list[str]:
    """The café's own history of the customer: one line per effect."""
    r = live.request("GET", f"/v1/customers/{world['cid']}/transactions", world["cafe_key"])
    return sorted(i["type"] for i in r.json()["items"])


def _read(page: Any, testid: str) -> str:
    return str(page.get_by_test_id(testid).inner_text()).replace("\u00a0", " ").strip()


def _double_click(page: Any, testid: str, then: str) -> None:
    """A double tap on a submit button. Chromium itself sends a form once however fast it is pressed, so the first
    tap is the very same rendered form (its nonce, its receipt number, what was typed) sent by the browser's own
    connection with its cookies; the second is the real double-click. ``then``: what the next screen shows."""
    button = page.get_by_test_id(testid)
    form, action = button.evaluate(
        "b => [Object.fromEntries(new FormData(b.form, b)), new URL(b.formAction, location.href).href]"
    )
    first = page.context.request.post(action, form=form, max_redirects=0)
    assert first.status < 500, first.text()
    button.dblclick()
    page.wait_for_load_state("networkidle")  # a second navigation, if the browser started one, has ended too
    page.get_by_test_id(then).wait_for()


def _click(page: Any, testid: str) -> None:
    with page.expect_navigation():
        page.get_by_test_id(testid).click()
    page.wait_for_load_state()


def _press(page: Any, key: str) -> None:
    """A key that submits a form or follows a link: wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state()


class Axe:
    """axe-core on each screen the cashier reaches: no serious or critical violation."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe as Runner

        self.runner, self.problems = Runner(), {}

    def check(self, page: Any, where: str) -> None:
        found = _grave(self.runner, page)
        if found:
            self.problems[where] = found


@pytest.mark.parametrize("run", list(RUNS))
def test_a_receipt_paid_partly_in_points_then_half_refunded_with_double_taps(live, browser, run):
    viewport, lang = RUNS[run]
    world = _world(live)
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE_SIZE)
    page = context.new_page()
    axe = Axe()
    _sign_in(page, live, world, lang)
    axe.check(page, "home")
    screenshot(page, f"role-cashier-home-{run}")

    page.locator("#f-query").fill("8 916 123-45-67")
    _double_click(page, "find", then="customer-name")
    assert _read(page, "customer-name") == "Анна" and _read(page, "balance") == "300"
    axe.check(page, "customer")
    receipt = _read(page, "receipt")

    page.locator("#f-amount").fill("1000")
    _double_click(page, "pay-with-points", then="most")
    assert "300" in _read(page, "most")
    page.locator("#f-points").fill("100")
    _double_click(page, "send-code", then="code-sent")
    assert page.get_by_test_id("code-sent").is_visible()
    axe.check(page, "spend")
    screenshot(page, f"role-cashier-spend-{run}")
    page.locator("#f-code").fill("000000" if last_code("spend_code", PHONE) != "000000" else "111111")
    _click(page, "spend-and-earn")
    assert page.get_by_test_id("error-code").is_visible()  # beside the field, in the page's language
    axe.check(page, "spend, wrong code")
    page.locator("#f-code").fill(last_code("spend_code", PHONE))
    _double_click(page, "spend-and-earn", then="spent")

    money = {"ru": "900 ₽", "en": "900 RUB"}[lang]
    assert (_read(page, "spent"), _read(page, "to-pay"), _read(page, "earned")) == ("100", money, "45")
    assert _read(page, "new-balance") == "245" and _read(page, "receipt") == receipt
    assert _balance(live, world) == 245 and _types(live, world) == ["accrual", "redemption"]
    axe.check(page, "result")
    screenshot(page, f"role-cashier-result-{run}")

    _click(page, "next")
    page.locator("#f-receipt").fill(receipt)
    page.locator("#f-refund_amount").fill("500")
    _double_click(page, "do-refund", then="give-back")
    give_back = {"ru": "500 ₽", "en": "500 RUB"}[lang]
    assert (_read(page, "give-back"), _read(page, "points-returned"), _read(page, "points-reversed")) == (
        give_back,
        "50",
        "22",
    )
    assert _read(page, "new-balance") == "273" and _balance(live, world) == 273
    assert _types(live, world) == ["accrual", "redemption", "refund"]
    axe.check(page, "refund")
    screenshot(page, f"role-cashier-refund-{run}")

    _click(page, "next")
    assert receipt in _read(page, "shift")
    axe.check(page, "home with the shift")
    page.get_by_test_id("shift").scroll_into_view_if_needed()
    screenshot(page, f"role-cashier-shift-{run}")
    wide = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert wide[0] <= wide[1], f"the page overflows sideways: {wide}"
    context.close()
    assert axe.problems == {}, axe.problems


def _focused(page: Any, element_id: str) -> None:
    """The page put the focus there itself (autofocus applies as the page settles, not at once)."""
    page.wait_for_function(f"document.activeElement && document.activeElement.id === {element_id!r}")


def test_the_whole_receipt_by_keyboard_alone(live, browser):
    world = _world(live)
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    _sign_in(page, live, world, "ru")
    keys = page.keyboard
    _focused(page, "f-query")
    keys.type(PHONE)  # the search field has the focus, as a scanner expects
    _press(page, "Enter")
    _focused(page, "f-amount")
    keys.type("1000")  # the receipt total has the focus
    _press(page, "Enter")  # the first button: pay with points
    _focused(page, "f-code")
    for key in ("Shift+Tab", "Control+a"):  # from the code field back to the points: 100
        keys.press(key)
    keys.type("100")
    for _ in range(3):  # the code field, "spend and earn", "send a code"
        keys.press("Tab")
    _press(page, "Enter")
    assert page.get_by_test_id("code-sent").is_visible()
    _focused(page, "f-code")
    keys.type(last_code("spend_code", PHONE))  # the code field has the focus again
    _press(page, "Enter")  # the first button: spend and earn
    _focused(page, "next")
    assert (_read(page, "spent"), _read(page, "earned"), _read(page, "new-balance")) == ("100", "45", "245")
    _press(page, "Enter")  # "next customer" has the focus
    _focused(page, "f-query")
    context.close()
