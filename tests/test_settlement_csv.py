"""The settlement CSV an accountant opens in Excel: headers in the reader's language with a legend of signs, one
table per file, and the same file name (with the partner's name) from the portal and the API."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest

from tests.test_api_ledger import accrue, enrol, redeem
from tests.test_web import _portal

LEGEND = {
    "ru": "+ оператор платит партнёру; − партнёр платит оператору",
    "en": "+ the operator pays the partner; − the partner pays the operator",
}


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


def _filename(disposition: str) -> str:
    """What a browser saves the file as: RFC 5987's filename* when given."""
    encoded = disposition.split("filename*=UTF-8''")[1]
    return unquote(encoded)


@pytest.fixture
def month(coalition):
    """The café issued points (it owes) and accepted the store's (it is owed)."""
    c = coalition
    cid = enrol(c.cafe, phone="+79165550011")
    assert accrue(c.store, cid, "S-1", 200_000).status == 201
    assert redeem(c.cafe, cid, "C-2", 500_000, 10).status == 201, "the café accepts 10 of the store's points"
    assert accrue(c.cafe, enrol(c.cafe, phone="+79165550012"), "C-1", 100_000).status == 201
    return c


@pytest.mark.parametrize(
    ("accept", "lang", "header", "total"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru", "Партнёр", "ИТОГО"),
        ("en-US,en;q=0.9", "en", "Partner", "TOTAL"),
        ("en;q=0.3, ru;q=0.7", "ru", "Партнёр", "ИТОГО"),
        ("", "en", "Partner", "TOTAL"),
    ],
)
def test_api_csv_headers_and_legend_follow_accept_language(month, accept, lang, header, total):
    c = month
    mine = c.cafe.get("/v1/settlements/2026-03?format=csv", headers={"Accept-Language": accept})
    assert mine.status == 200 and mine.headers["Content-Language"] == lang
    rows = _rows(mine.raw.decode())
    assert rows[0][1] == header and rows[1][1] == "Cafe"
    assert rows[2] == [] and LEGEND[lang] in rows[3][0] and len(rows) == 4  # the statement, then the legend
    report = c.operator.get("/v1/admin/settlements/2026-03?format=csv", headers={"Accept-Language": accept})
    rows = _rows(report.raw.decode())
    assert rows[0][1] == header
    assert [r[0] for r in rows if r and r[0] == total] == [total] and LEGEND[lang] in rows[-1][0]


def test_each_file_holds_one_table(month):
    c = month
    statement = _rows(c.cafe.get("/v1/settlements/2026-03?format=csv&headers=fields").raw.decode())
    assert len(statement) == 2 and statement[0][0] == "partner_id"  # no flows below, no legend for programs
    flows = _rows(c.cafe.get("/v1/settlements/2026-03?format=csv&table=flows&headers=fields").raw.decode())
    assert flows == [["issuer_partner_id", "issuer_name", "points_accepted_here"], [c.ids["store"], "Store", "10"]]
    matrix = _rows(c.operator.get("/v1/admin/settlements/2026-03?format=csv&table=flows&headers=fields").raw.decode())
    assert matrix[0] == ["issuer_partner_id", "issuer_name", "acceptor_partner_id", "acceptor_name", "points"]
    assert [c.ids["store"], "Store", c.ids["cafe"], "Cafe", "10"] in matrix
    identity = _rows(c.operator.get("/v1/admin/settlements/2026-03?format=csv&table=identity").raw.decode())
    assert identity[0] == ["Слагаемое сверки", "Баллы"] or identity[0] == ["Identity term", "Points"]
    assert len(identity) == 1 + len(c.operator.get("/v1/admin/settlements/2026-03").json["identity"])
    refused = c.cafe.get("/v1/settlements/2026-03?format=csv&table=identity")
    assert refused.status == 422


def test_portal_and_api_name_the_file_alike_with_the_partner_and_month(month):
    c = month
    assert c.operator.call("PATCH", f"/v1/admin/partners/{c.ids['cafe']}", {"name": "Кофейня Уют"}).status == 200
    api = c.cafe.get("/v1/settlements/2026-03?format=csv")
    portal = _portal(c, c.cafe.key, "ru").request("GET", "/portal/settlements/2026-03/csv")
    assert portal.status_code == 200
    from_portal = portal.headers["Content-Disposition"]
    assert from_portal == api.headers["Content-Disposition"]
    assert _filename(from_portal) == "settlement-Кофейня Уют-2026-03.csv"
    assert 'filename="settlement-Kofeynya-Uyut-2026-03.csv"' in from_portal  # ASCII for old clients
    flows = _portal(c, c.cafe.key, "en").request("GET", "/portal/settlements/2026-03/csv?table=flows")
    assert _filename(flows.headers["Content-Disposition"]) == "settlement-Кофейня Уют-2026-03-flows.csv"


@pytest.mark.parametrize(("lang", "header"), [("ru", "Партнёр"), ("en", "Partner")])
def test_portal_csv_speaks_the_portal_language(month, lang, header):
    c = month
    r = _portal(c, c.cafe.key, lang).request("GET", "/portal/settlements/2026-03/csv")
    rows = _rows(r.body.decode())
    assert rows[0][1] == header and LEGEND[lang] in rows[-1][0]
    assert "table=flows" in _portal(c, c.cafe.key, lang).page("/portal/settlements?period=2026-03")
