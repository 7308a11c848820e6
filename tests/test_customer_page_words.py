"""The customer's page as she reads it: one history line per spend at a till, Russian words and plurals on the Russian
page, categories by name, a way on after deleting the account, and a data export that opens in a Russian Excel."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.conftest import TRUSTED
from tests.test_api_ledger import accrue, enrol, redeem
from tests.test_customer_reach import PHONE, Customer


@pytest.fixture
def flora(api, request):
    """A flower shop that trusts its tills (no customer code) and Anna with 372 points (or as parametrized)."""
    points = getattr(request, "param", 372)
    body = {"name": "Флора", "category": "flowers", "max_redeem_share_bps": 10_000, **TRUSTED}
    r = api.post("/v1/admin/partners", body)
    assert r.status == 201, r.json
    shop = api.as_key(r["api_key"])
    cid = enrol(shop, phone=PHONE, name="Анна")
    assert accrue(shop, cid, "A-1", points * 2_000)["points"] == points
    anna = Customer(api.http)
    assert anna.sign_in(PHONE).status_code == 303
    return {"api": api, "shop": shop, "cid": cid, "anna": anna, "partner_id": r["partner_id"]}


def history(page: str) -> list[tuple[str, str]]:
    """(line name, amount as shown) of each history line."""
    items = re.findall(r'<li data-testid="entry">(.*?)</li>', page)
    return [
        (re.search(r"<b>(.*?)</b>", i).group(1), re.search(r'<span class="pts[^"]*">(.*?)</span>', i).group(1))
        for i in items
    ]


def test_a_captured_hold_is_one_spent_line_and_a_released_one_says_so(flora):
    s, anna = flora, flora["anna"]
    held = redeem(s["shop"], s["cid"], "O-1", 100_000, 15, capture=False)
    assert held.status == 201
    assert history(anna.page("/me")) == [("Заморожено", "-15"), ("Начисление", "+372")]
    assert s["shop"].post(f"/v1/redemptions/{held['redemption_id']}/capture", {}).status == 200
    page = anna.page("/me")
    assert history(page) == [("Списание", "-15"), ("Начисление", "+372")]  # once, not held and spent
    assert 'data-testid="available">357<' in page

    released = redeem(s["shop"], s["cid"], "O-2", 100_000, 20, capture=False)
    assert s["shop"].post(f"/v1/redemptions/{released['redemption_id']}/void", {}).status == 200
    lines = history(anna.page("/me"))
    assert lines[0] == ("Разморожено", "20") and len(lines) == 3  # back, not earned: no plus, no second line
    spent = sum(int(amount) for _, amount in lines if amount.startswith("-"))
    assert 372 + spent == 357  # the lines add up to what she has
    entries = s["shop"].get(f"/v1/customers/{s['cid']}/transactions").json["items"]
    assert [e["type"] for e in entries] == ["void", "hold", "capture", "hold", "accrual"]  # the ledger keeps all


def test_the_russian_page_has_russian_tiers_multiplier_and_categories(flora):
    page = flora["anna"].page("/me")
    assert 'data-testid="tier">Бронзовый<' in page and "Bronze" not in page and "Silver" not in page
    assert "Серебряный" in page  # the next tier, by name
    assert 'data-testid="multiplier">Баллы за покупки ×1<' in page and "баллов за покупку" not in page
    assert 'data-testid="category">Цветы<' in page and ">flowers<" not in page
    english = flora["anna"].page("/me?lang=en")
    assert 'data-testid="tier">Bronze<' in english and 'data-testid="category">Flowers<' in english
    assert "Points on purchases ×1" in english


def test_a_tier_the_program_named_itself_is_shown_as_set(flora):
    from chalicelib.web.customer_page import tier_name
    from chalicelib.web.i18n import locale

    assert tier_name("silver", locale("ru")) == "Серебряный"
    assert tier_name("VIP Club", locale("ru")) == "VIP Club"
    assert tier_name("platinum", locale("en")) == "Platinum"


@pytest.mark.parametrize(
    ("flora", "text"),
    [
        (372, "Ваши 372 доступных балла сгорят сразу."),
        (371, "Ваш 371 доступный балл сгорит сразу."),
        (375, "Ваши 375 доступных баллов сгорят сразу."),
        (1001, "Ваш 1\u00a0001 доступный балл сгорит сразу."),
    ],
    indirect=["flora"],
)
def test_deleting_says_the_points_with_russian_plurals(flora, text):
    preview = flora["anna"].page("/me/delete")
    shown = re.search(r'data-testid="delete-points">(.*?)</p>', preview)
    assert shown and shown.group(1).strip() == text, preview


def test_the_deleted_page_leads_somewhere(flora):
    anna = flora["anna"]
    form = anna.forms(anna.page("/me/delete"))["/me/delete"]
    done = anna.submit("/me/delete", {**form, "confirm": "on"}).body.decode()
    assert "Аккаунт удалён" in done and 'href="/"' in done and 'href="/me/sign-in"' in done


def test_one_plural_rule_for_the_pages_and_the_messages():
    from types import SimpleNamespace

    from chalicelib.services.customer_messages import points
    from chalicelib.web.i18n import locale

    ru: Any = SimpleNamespace(locale="ru")
    assert [points(ru, n) for n in (1, 2, 5, 21, 11, 111)] == [
        "1 балла",
        "2 баллов",
        "5 баллов",
        "21 балла",
        "11 баллов",
        "111 баллов",
    ]  # fmt: skip  (genitive, after "до")
    assert [locale("ru").plural("points", n) for n in (1, 2, 5, 21, 12)] == [
        "балл",
        "балла",
        "баллов",
        "балл",
        "баллов",
    ]


def test_my_data_csv_opens_in_a_russian_excel(flora):
    s, anna = flora, flora["anna"]
    held = redeem(s["shop"], s["cid"], "O-1", 123_450, 15, capture=False)
    s["shop"].post(f"/v1/redemptions/{held['redemption_id']}/capture", {})
    r = anna.request("GET", "/me/data.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    text = r.body.decode("utf-8")
    assert text.startswith("\ufeff") and "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert rows[0] == ["Поле", "Значение"]
    profile = {r[0]: r[1] for r in rows[1 : rows.index([])]}
    assert profile["Имя"] == "Анна" and profile["Телефон"] == "'" + PHONE  # never read as a formula
    assert profile["Согласие на рассылки"] == "нет" and profile["Telegram подключён"] == "нет"
    assert profile["Зарегистрировал партнёр"] == "Флора" and profile["Язык"] == "Русский"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", profile["Дата регистрации"])
    entries = rows[rows.index([]) + 1 :]
    assert entries[0][:4] == ["Дата", "Операция", "Партнёр", "Баллы"] and "Сумма покупки, ₽" in entries[0]
    body = entries[1:]
    assert {row[2] for row in body} == {"Флора"} and s["partner_id"] not in text
    assert "False" not in text and "True" not in text and "None" not in text
    capture = next(row for row in body if row[1] == "Списание")
    assert capture[3] == "-15" and capture[entries[0].index("Сумма покупки, ₽")] == "1234,50"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", capture[0])
    english = anna.request("GET", "/me/data.csv?lang=en").body.decode("utf-8")
    assert english.startswith("\ufeffField;Value\r\n") and "Flora" not in english and ";no\r\n" in english
    machine = anna.request("GET", "/me/data.json").body.decode()
    assert '"marketing_consent": false' in machine and s["partner_id"] in machine  # JSON keeps machine names


def test_a_link_leaves_no_token_in_the_address_bar(flora):
    from urllib.parse import urlsplit

    from tests.conftest import last_link

    s = flora
    assert s["shop"].post(f"/v1/customers/{s['cid']}/portal-link", {}).status == 202
    link = urlsplit(last_link(PHONE))
    holder = Customer(s["api"].http)
    opened = holder.request("GET", f"{link.path}?{link.query}&lang=en")
    assert opened.status_code == 303 and opened.headers["Location"] == "/me?lang=en" and "lc_session" in holder.jar
    page = holder.page(opened.headers["Location"])
    assert 'data-testid="available">372<' in page and 'data-testid="read-only"' in page  # read-only, as before
    assert "token=" not in page  # no link on the page carries it either

    signed_in = flora["anna"]  # the same customer, signed in with a code: her session stays, the token goes
    again = signed_in.request("GET", f"{link.path}?{link.query}")
    assert again.status_code == 303 and again.headers["Location"] == "/me" and 'read-only"' not in signed_in.page("/me")

    # from a webmail (another site), a browser would drop the SameSite=Strict cookie on a redirect: a page moves on
    webmail = s["api"].http.get(f"{link.path}?{link.query}", headers={"Sec-Fetch-Site": "cross-site"})
    text = webmail.body.decode()
    assert webmail.status_code == 200 and '<meta http-equiv="refresh" content="0; url=/me">' in text
    assert "372" not in text and "lc_session=" in str(webmail.headers.get("Set-Cookie"))
