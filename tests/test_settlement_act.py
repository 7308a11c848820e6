"""The reconciliation act over HTTP: the partner's portal page and the operator's copy, in Russian and English, with
the formula from points to money, the payments, what is open; another partner's act is out of reach."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.conftest import Coalition
from tests.test_api_ledger import accrue, enrol, redeem
from tests.test_web import _portal, _text

PERIOD = "2026-03"


def _trade_and_pay(c: Coalition) -> int:
    cid = enrol(c.cafe, phone="+79161110000")
    assert accrue(c.cafe, cid, "O-1", 1_000_000).status == 201  # 500 points issued by the cafe
    assert redeem(c.store, cid, "O-2", 100_000, 100).status == 201  # 100 accepted at the store
    pay = {"partner_id": c.ids["cafe"], "amount_minor": -10_000, "paid_on": "2026-03-10", "reference": "ПП №17"}
    assert c.operator.post(f"/v1/admin/settlements/{PERIOD}/payments", pay).status == 201
    return int(c.cafe.get(f"/v1/settlements/{PERIOD}").json["open_minor"])


def _cells(page: str, testid: str) -> list[list[str]]:
    table = re.search(rf'<table data-testid="{testid}">(.*?)</table>', page, re.S)
    assert table, testid
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
        for r in rows
    ]


@pytest.mark.parametrize(
    ("lang", "title", "paid_label", "open_label"),
    [
        ("ru", "Акт сверки взаиморасчётов", "Оплачено", "Остаток к оплате"),
        ("en", "Reconciliation act", "Paid", "Still open"),
    ],
)
def test_the_partner_prints_its_act_from_the_settlement_page(coalition: Coalition, lang, title, paid_label, open_label):
    c = coalition
    open_minor = _trade_and_pay(c)
    portal = _portal(c, c.cafe.key, lang)
    settlements = portal.page(f"/portal/settlements?period={PERIOD}")
    assert 'href="/portal/settlements/2026-03/act"' in settlements
    assert _text(settlements, "paid").replace("\u00a0", " ").startswith("-100")
    act = portal.page(f"/portal/settlements/{PERIOD}/act")
    assert f"<h1>{title}</h1>" in act and "@media print" in act
    rows = {row[0]: row[1:] for row in _cells(act, "act-formula")[1:]}
    assert rows[paid_label][1].replace("\u00a0", " ").startswith("-100")
    assert rows[open_label][1].replace("\u00a0", " ").replace(",", " ").startswith(f"-{abs(open_minor) // 100}")
    points = [r[0] for r in rows.values() if r[0]]
    assert points == ["-500", "0", "0", "-500"]  # issued, campaigns, accepted, net
    assert _cells(act, "act-payments")[1][:2] == ["2026-03-10", "ПП №17"]
    assert "«Cafe»" in _text(act, "act-parties")


def test_the_operator_opens_any_partners_act_and_a_partner_none(coalition: Coalition):
    c = coalition
    _trade_and_pay(c)
    path = f"/v1/admin/settlements/{PERIOD}/act?partner_id={c.ids['store']}&lang=en"
    r = c.operator.get(path)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "Reconciliation act" in r.raw.decode() and "Store" in r.raw.decode()
    assert c.cafe.get(path).status == 403
    assert c.operator.get(f"/v1/admin/settlements/{PERIOD}/act?partner_id=ptn_doesnotexist00").status == 404
    assert c.operator.get(f"/v1/admin/settlements/2026-13/act?partner_id={c.ids['store']}").status == 422
    # the portal's act is always the signed-in partner's own: there is no parameter to name another
    portal = _portal(c, c.store.key, "en")
    own = portal.page(f"/portal/settlements/{PERIOD}/act?partner_id={c.ids['cafe']}")
    assert "ПП №17" not in own and "Store" in own


def test_an_accountant_opens_the_act_and_a_marketer_is_sent_away(coalition: Coalition):
    from tests.staff_helpers import Browser, add_staff

    c = coalition
    _trade_and_pay(c)
    for role, phone in (("accountant", "+79160000004"), ("marketer", "+79160000003")):
        add_staff(c.operator, partner_key_or_operator_key=c.cafe.key, role=role, phone=phone, name=role.title())
    accountant = Browser(c.operator)
    accountant.sign_in("portal", "+79160000004")
    status, act, _ = accountant.request("GET", f"/portal/settlements/{PERIOD}/act")
    assert status == 200 and "ПП №17" in act
    status, _, headers = accountant.request("GET", "/portal/audit")  # the log is the owner's
    assert status == 303 and headers["location"] == "/portal/settlements"
    marketer = Browser(c.operator)
    marketer.sign_in("portal", "+79160000003")
    status, _, headers = marketer.request("GET", f"/portal/settlements/{PERIOD}/act")
    assert status == 303 and "ПП №17" not in str(headers)
