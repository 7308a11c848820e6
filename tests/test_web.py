"""The HTML pages (chalicelib/web). Templates autoescape, one catalogue per language serves both UIs and a
new language is a new file, the JSON API never loads Jinja2, and no HTML is built or escaped by hand in Python."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from chalicelib.web import i18n
from tests.conftest import last_link
from tests.test_api_ledger import accrue, enrol
from tests.test_edges_input_portal import Portal

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "chalicelib" / "web"
TEMPLATES = WEB / "templates"
HOSTILE = "<script>alert(1)</script>&\"'"


def _body(response) -> str:
    return str(response.body.decode())


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def open_page(http, path: str):
    """A link as a browser follows it: the session cookie it sets, then the page it leads to (without the token)."""
    opened = http.get(path)
    if opened.status_code != 303:
        return opened
    cookie = str(opened.headers.get("Set-Cookie") or opened.headers.get("set-cookie")).split(";")[0]
    return http.get(opened.headers["Location"], headers={"Cookie": cookie})


def customer_link(c, phone: str = "+79161234567") -> str:
    """The path of a fresh portal link of a customer with 100 points from the café."""
    cid = enrol(c.cafe, phone=phone, name="Анна")
    assert accrue(c.cafe, cid, f"A-{phone[-4:]}", 200_000).status == 201
    assert c.cafe.post(f"/v1/customers/{cid}/portal-link", {}).status == 202  # the link goes to the customer
    return _path(last_link(phone))


# --- Jinja2 stays off the API's cold start ------------------------------------------------------------------------


def test_the_json_api_never_imports_jinja2(tmp_path):
    """In a fresh process: import the app and serve API routes (against a moto server in this process: moto itself
    uses Jinja2), and Jinja2 is not loaded; the first HTML page loads it."""
    from local import servers

    dynamo = servers.start_dynamodb()
    script = textwrap.dedent(
        f"""
        import os, sys
        os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="eu-central-1")
        from chalice.test import Client
        from app import app
        from chalicelib.services import auth
        from chalicelib import db, runtime
        from chalicelib.config import Settings
        assert "jinja2" not in sys.modules, "importing the app loaded jinja2"
        runtime.configure(Settings("cold-start", "eu-central-1", "{dynamo.url}", "pepper", "secret", 65536, None))
        db.create_table()
        auth.ensure_operator_key("op-key", "pepper", "2026-03-10T09:00:00+00:00")
        with Client(app) as client:
            headers = {{"Authorization": "Bearer op-key", "Content-Type": "application/json"}}
            made = client.http.post("/v1/admin/partners", headers=headers, body='{{"name": "Cafe"}}')
            assert made.status_code == 201, made.body
            assert client.http.get("/v1/admin/partners", headers=headers).status_code == 200
            assert client.http.get("/openapi.json").status_code == 200
            assert "jinja2" not in sys.modules, "serving the API loaded jinja2"
            assert client.http.get("/portal").status_code == 200
            assert "jinja2" in sys.modules
        print("ok")
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        dynamo.stop()
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


# --- no HTML by hand in Python ------------------------------------------------------------------------------------

TAG = re.compile(
    r"<\s*/?\s*(!doctype|html|head|body|main|header|footer|nav|section|div|span|p|a|b|i|small|br|ul|li|table|tr|td|th|"
    r"form|input|select|option|button|label|fieldset|legend|h[1-6]|svg|rect|text|title|style|meta|script|img)\b",
    re.IGNORECASE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def test_no_python_in_chalicelib_builds_or_escapes_html():
    problems = []
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and node.attr == "escape":
                problems.append(f"{where}: .escape")
            if isinstance(node, ast.ImportFrom) and node.module in ("html", "markupsafe"):
                problems.append(f"{where}: from {node.module} import")
            if isinstance(node, ast.Import) and any(a.name in ("html", "markupsafe") for a in node.names):
                problems.append(f"{where}: import html")
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if TAG.search(text):
                    problems.append(f"{where}: f-string with HTML")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if TAG.search(node.value):
                    problems.append(f"{where}: string with HTML")
    assert problems == []


def test_templates_autoescape_and_never_opt_out():
    from chalicelib.web.render import environment

    env = environment()
    assert env.autoescape("customer/page.html") is True and env.autoescape("portal/base.html") is True
    for path in TEMPLATES.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup|<script", text, re.I), path
            assert not re.search(r"\sstyle=", text), path  # the CSP allows no style attributes
            assert path.suffix in (".html", ".css"), path


def test_modules_stay_small_and_simple():
    for path in WEB.rglob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "C901",
            "--config",
            "lint.mccabe.max-complexity=12",
            str(WEB),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


# --- one catalogue per language ---------------------------------------------------------------------------------


def _catalogue(lang: str) -> dict:
    """A language's texts, with each area's own file (``messages/<area>/<lang>.json``) under ``<area>``."""
    tree = json.loads((WEB / "messages" / f"{lang}.json").read_text(encoding="utf-8"))
    for area in sorted((WEB / "messages").glob(f"*/{lang}.json")):
        tree[area.parent.name] = json.loads(area.read_text(encoding="utf-8"))
    return tree


def _keys(tree: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in tree.items():
        if isinstance(value, dict) and not set(value) <= {"zero", "one", "two", "few", "many", "other"}:
            out |= _keys(value, f"{prefix}{key}.")
        else:
            out.add(prefix + key)
    return out


def test_the_catalogues_agree_and_every_message_is_used():
    ru, en = _catalogue("ru"), _catalogue("en")
    ru.pop("_meta"), en.pop("_meta")
    assert _keys(ru) == _keys(en)
    used = "\n".join(p.read_text() for p in [*TEMPLATES.rglob("*.html"), *WEB.rglob("*.py")])
    asked = set(re.findall(r"""\bt(?:\.plural|\.get)?\(\s*["']([a-z_][a-z0-9_.]*[a-z0-9_])["']""", used))
    assert asked - _keys(ru) == set(), "templates or views ask for messages that do not exist"
    literal = set(re.findall(r"""["']([a-z_][a-z0-9_.]*[a-z0-9_])["']""", used))  # t("me.title"), ("portal.fee", ...)
    prefixes = set(re.findall(r"""["']([a-z_]+\.)["']\s*~""", used))  # t.get("entry." ~ e.type, ...)
    prefixes |= set(re.findall(r"""\bf["']([a-z_.]+\.)\{""", used))  # t.get(f"export.profile.{field}", ...)
    unused = {k for k in _keys(ru) - literal if not any(k.startswith(p) for p in prefixes)}
    assert unused == set(), "messages nobody shows"
    for lang, forms in (("ru", {"one", "few", "many"}), ("en", {"one", "other"})):
        tree = _catalogue(lang)
        assert set(tree["points"]) == forms and set(tree["describe"]["points"]) == forms


@pytest.mark.parametrize(
    ("n", "word"),
    [(0, "баллов"), (1, "балл"), (2, "балла"), (4, "балла"), (5, "баллов"), (11, "баллов"), (12, "баллов"),
     (14, "баллов"), (21, "балл"), (22, "балла"), (25, "баллов"), (101, "балл"), (111, "баллов"), (-3, "балла")],
)  # fmt: skip
def test_russian_plurals(n, word):
    assert i18n.locale("ru").plural("points", n) == word


def test_english_plurals_and_the_phrase_with_its_number():
    en, ru = i18n.locale("en"), i18n.locale("ru")
    assert [en.plural("points", n) for n in (0, 1, 2, -1)] == ["points", "point", "points", "point"]
    assert ru.plural("describe.points", 30_000, count=ru.group(30_000)) == "30\u00a0000 баллов"
    assert en.plural("describe.points", 1, count=en.group(1)) == "1 point"


def test_one_money_formatter_in_each_language():
    ru, en = i18n.locale("ru"), i18n.locale("en")
    assert [ru.money(m) for m in (0, 5, 3_000_000, 123_456, -13_000)] == [
        "0\u00a0₽",
        "0,05\u00a0₽",
        "30\u00a0000\u00a0₽",
        "1\u00a0234,56\u00a0₽",
        "-130\u00a0₽",
    ]
    assert [en.money(m) for m in (3_000_000, 123_450)] == ["30,000\u00a0RUB", "1,234.50\u00a0RUB"]
    assert (ru.fraction(250, 100), en.fraction(250, 100), ru.fraction(10_000, 10_000), en.fraction(5, 10_000)) == (
        "2,5",
        "2.5",
        "1",
        "0.0005",
    )
    assert (ru.date("2026-03-10T22:30:00+00:00", "Europe/Moscow"), en.date("2026-03-10T09:00:00+00:00", "UTC")) == (
        "11.03.2026",
        "10 Mar 2026",
    )


@pytest.fixture
def german(tmp_path, monkeypatch):
    """A third language dropped in as a file: most of German, the rest falls back to English."""
    messages = tmp_path / "messages"
    shutil.copytree(WEB / "messages", messages)
    de = {
        "_meta": {
            "name": "Deutsch",
            "plural": "one_other",
            "decimal": ",",
            "group": ".",
            "money": "{amount}\u00a0RUB",
            "date": "%d.%m.%Y",
            "fallback": "en",
        },
        "points": {"one": "Punkt", "other": "Punkte"},
        "me": {"title": "Meine Punkte", "hello_name": "Hallo, {name}!", "available": "Verfügbar"},
        "portal": {"portal": "Partnerportal", "sign_in": "Anmelden", "api_key": "API-Schlüssel"},
    }
    (messages / "de.json").write_text(json.dumps(de, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(i18n, "MESSAGES_DIR", messages)
    i18n.reset()
    yield
    i18n.reset()


def test_a_third_language_is_a_file_and_no_python(coalition, german):
    c = coalition
    page = open_page(c.operator.http, customer_link(c) + "&lang=de")
    assert page.status_code == 200
    text = _body(page)
    assert '<html lang="de">' in text and "<title>Meine Punkte</title>" in text and "Hallo, Анна!" in text
    assert "Verfügbar" in text and re.search(r'data-testid="available">100</div>\s*<div class="muted">Punkte', text)
    assert "expire on" in text  # not translated: the fallback's (English) text, not a KeyError
    assert re.findall(r'hreflang="([a-z]+)" lang="[a-z]+">([^<]+)<', text) == [("ru", "Русский"), ("en", "English")]

    portal = Portal(c.operator.http)
    sign_in = portal.request("GET", "/portal?lang=de")
    assert sign_in.status_code == 200
    text = _body(sign_in)
    assert '<html lang="de">' in text and "Partnerportal" in text and ">API-Schlüssel</label>" in text
    assert portal.jar["lp_lang"] == "de"
    portal.sign_in(c.cafe.key)
    assert "Partnerportal" in portal.page("/portal/settlements")  # the remembered language
    assert c.operator.http.get(customer_link(c, "+79161234568") + "&lang=xx").status_code == 422


# --- what the pages promise -------------------------------------------------------------------------------------


def _csp_nonce(response) -> str:
    csp = response.headers["Content-Security-Policy"]
    nonce = re.fullmatch(r".*style-src 'nonce-([A-Za-z0-9_-]+)';.*", csp)
    assert nonce and "default-src 'none'" in csp and "script" not in csp
    return nonce.group(1)


def _private_page(response) -> str:
    text = _body(response)
    nonce = _csp_nonce(response)
    assert re.findall(r"<style nonce=\"([^\"]+)\">", text) == [nonce]
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"] and '<meta name="robots" content="noindex, nofollow">' in text
    assert "<script" not in text.lower() and " style=" not in text
    return text


def test_every_page_escapes_what_people_typed_and_keeps_its_protections(coalition):
    c, op = coalition, coalition.operator
    evil = op.post("/v1/admin/partners", {"name": HOSTILE, "category": HOSTILE})
    assert evil.status == 201, evil.json
    evil_key = op.as_key(evil["api_key"])
    link = customer_link(c)
    cid = enrol(c.cafe, phone="+79161234567")  # the same customer: now with points from the hostile partner
    assert accrue(evil_key, cid, "E-1", 100_000).status == 201
    made = evil_key.post(
        "/v1/campaigns", {"name": HOSTILE, "earn_at": [evil["partner_id"]], "reward": {"type": "fixed", "points": 5}}
    )
    assert made.status == 201, made.json

    first, second = open_page(op.http, link), open_page(op.http, link)
    assert _csp_nonce(first) != _csp_nonce(second)
    for text in (_private_page(first), _private_page(open_page(op.http, link + "&lang=en"))):
        assert HOSTILE not in text and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#34;&#39;" in text

    portal = Portal(op.http)
    portal.sign_in(evil["api_key"])
    campaign = made["campaign_id"]
    for path in ("/portal", f"/portal/campaigns/{campaign}", "/portal/campaigns/new", "/portal/settlements"):
        response = portal.request("GET", path)
        text = _private_page(response)
        assert HOSTILE not in text and "&lt;script&gt;" in text, path
        nonces = []
        for form in re.findall(r"<form[^>]*>.*?</form>", text, re.S):
            fields = dict(re.findall(r'<input type="hidden" name="(csrf|nonce)" value="([^"]*)">', form))
            assert set(fields) == {"csrf", "nonce"}, (path, form)
            nonces.append(fields["nonce"])
        assert nonces and len(set(nonces)) == len(nonces), path  # a nonce per form, drawn as it is rendered
    new = portal.forms(portal.page("/portal/campaigns/new"))["/portal/campaigns/preview"]
    preview = portal.submit("/portal/campaigns/preview", {**new, "name": HOSTILE, "reward_value": "5"})
    text = _private_page(preview)
    assert HOSTILE not in text and portal.forms(text)["/portal/campaigns"]["name"] == HOSTILE  # carried intact


# --- the partner portal as a new user reads it ------------------------------------------------------------------


def _heights(page: str) -> dict[int, int]:
    """The chart's bars: points -> height in the SVG."""
    rects = re.findall(r'<rect class="chart-bar"[^>]* height="(\d+)" data-points="(\d+)"', page)
    return {int(points): int(height) for height, points in rects}


def _invite(c, **extra) -> str:
    """The café sponsors a campaign for the store's customers: the store must answer."""
    body = {
        "name": "Из Store в Cafe",
        "earn_at": [c.ids["cafe"]],
        "audience": {"purchased_at": c.ids["store"], "within_days": 30},
        "reward": {"type": "fixed", "points": 10},
        "budget_points": 20_000,
        **extra,
    }
    r = c.cafe.post("/v1/campaigns", body)
    assert r.status == 201, r.json
    return str(r["campaign_id"])


def _portal(c, key: str, lang: str = "ru") -> Portal:
    portal = Portal(c.operator.http)
    portal.sign_in(key)
    portal.page(f"/portal?lang={lang}")  # the language is remembered for the next pages
    return portal


def _post(portal: Portal, path: str, **fields: str):
    """A signed-in form post (its CSRF token and a fresh nonce from the page's sign-out form)."""
    hidden = portal.forms(portal.page("/portal"))["/portal/logout"]
    return portal.submit(path, {**hidden, **fields})


def _text(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', page, re.S)
    assert found, testid
    return unescape(found.group(1)).strip()


def test_the_campaign_chart_is_proportional_with_an_axis_values_and_day_names(coalition, clock):
    from datetime import timedelta

    c = coalition
    r = c.cafe.post(
        "/v1/campaigns",
        {"name": "Кофе", "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 10}, "budget_points": 900},
    )
    cmp = r["campaign_id"]
    assert c.cafe.post(f"/v1/campaigns/{cmp}/activate").status == 200
    for i in range(4):
        accrue(c.cafe, enrol(c.cafe, phone=f"+7916555000{i}"), f"D1-{i}", 10_000)  # 40 points on 10 March
    clock.advance(timedelta(days=1))
    for i in range(2):
        accrue(c.cafe, enrol(c.cafe, phone=f"+7916555100{i}"), f"D2-{i}", 10_000)  # 20 points on 11 March
    ru = _portal(c, c.cafe.key).page(f"/portal/campaigns/{cmp}")
    heights = _heights(ru)
    assert set(heights) == {40, 20} and heights[40] == 2 * heights[20] > 12  # the tallest is the max, half is half
    assert 'class="bar"' not in ru  # the customer page's 12-px tier bar style never reaches the chart
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', ru)
    assert ticks == ["0", "20", "40"]  # a value axis
    assert re.findall(r'<text class="value"[^>]*>([^<]*)</text>', ru) == ["40", "20"]
    assert re.findall(r'<text class="day"[^>]*>([^<]*)</text>', ru) == ["10 мар", "11 мар"]
    en = _portal(c, c.cafe.key, "en").page(f"/portal/campaigns/{cmp}")
    assert re.findall(r'<text class="day"[^>]*>([^<]*)</text>', en) == ["10 Mar", "11 Mar"]


def test_an_invited_partner_reads_who_pays_declines_and_everyone_sees_each_answer(coalition):
    c = coalition
    cmp = _invite(c)
    store = _portal(c, c.store.key)
    page = store.page(f"/portal/campaigns/{cmp}")
    description = _text(page, "description")
    assert "платит «Cafe», до 20\u00a0000\u00a0₽" in description and "вы платите" not in description
    assert _text(page, "answer-Store") == "ещё не ответил"
    assert ">Принять<" in page and ">Отказаться<" in page
    english = _portal(c, c.store.key, "en").page(f"/portal/campaigns/{cmp}")
    assert "Cafe pays, up to 20,000\u00a0RUB" in _text(english, "description")

    cafe = _portal(c, c.cafe.key)
    sponsor_page = cafe.page(f"/portal/campaigns/{cmp}")
    assert "вы платите до 20\u00a0000\u00a0₽" in _text(sponsor_page, "description")
    assert ">Запустить<" not in sponsor_page  # not offered while the store has not accepted

    assert _post(store, f"/portal/campaigns/{cmp}/decline").status_code == 303
    assert c.cafe.get(f"/v1/campaigns/{cmp}")["partner_states"] == {c.ids["store"]: "declined"}
    assert _text(cafe.page(f"/portal/campaigns/{cmp}"), "answer-Store") == "отказался"
    refused = _post(cafe, f"/portal/campaigns/{cmp}/activate")  # a stale page's button, or a race
    assert refused.status_code == 409
    body = refused.body.decode()
    assert _text(body, "refusal") == "Запустить нельзя: отказались Store." and c.ids["store"] not in _text(
        body, "refusal"
    )
    assert '<html lang="ru"' in body and _text(body, "status") == "партнёр отказался: запустить нельзя"

    assert _post(store, f"/portal/campaigns/{cmp}/accept").status_code == 303
    after = cafe.page(f"/portal/campaigns/{cmp}")
    assert _text(after, "answer-Store") == "согласился" and 'data-testid="awaiting"' not in after
    assert ">Запустить<" in after
    accepted = store.page(f"/portal/campaigns/{cmp}")
    assert _text(accepted, "answer-Store") == "согласился" and ">Принять<" not in accepted


def test_activation_refused_for_a_partner_not_yet_answering_names_it_in_english(coalition):
    c = coalition
    cmp = _invite(c)
    cafe = _portal(c, c.cafe.key, "en")
    refused = _post(cafe, f"/portal/campaigns/{cmp}/activate")
    assert refused.status_code == 409
    assert _text(refused.body.decode(), "refusal") == "It cannot start yet: Store have not accepted."


@pytest.mark.parametrize(
    ("lang", "number", "window"),
    [
        ("ru", "Введите целое число", "Окончание должно быть позже начала"),
        ("en", "Enter a whole number", "The end must be after the start"),
    ],
)
def test_campaign_form_errors_are_beside_their_fields_all_at_once_in_the_users_language(
    coalition, lang, number, window
):
    c = coalition
    portal = _portal(c, c.cafe.key, lang)
    form = portal.forms(portal.page("/portal/campaigns/new"))["/portal/campaigns/preview"]
    fields = {"name": "Осень", "reward_type": "fixed", "reward_value": "10", "budget": "много", "limit": "x"}
    fields |= {"starts": "2026-04-10", "ends": "2026-04-01"}
    refused = portal.submit("/portal/campaigns/preview", {**form, **fields})
    assert refused.status_code == 422
    page = refused.body.decode()
    assert _text(page, "problem-budget") == number and _text(page, "problem-limit") == number
    assert _text(page, "problem-ends") == window
    assert "a whole number, please" not in page and "ends_at" not in page and "budget:" not in page
    assert 'id="budget" name="budget" type="number" value="много"' in page  # as typed
    assert 'aria-describedby="budget-problem"' in page


def test_ending_asks_first_and_the_page_shows_dates_cost_with_fee_and_a_rounded_ratio(coalition):
    c = coalition
    assert (
        c.operator.call("PUT", "/v1/admin/program", {"operator_fee_bps": 1000, "effective_from": "2026-03-10"}).status
        == 200
    )
    r = c.cafe.post(
        "/v1/campaigns",
        {
            "name": "Весна",
            "earn_at": [c.ids["cafe"]],
            "reward": {"type": "fixed", "points": 3},
            "starts_at": "2026-03-10T00:00:00+03:00",
            "ends_at": "2026-04-30T00:00:00+03:00",
        },
    )
    cmp = r["campaign_id"]
    assert c.cafe.post(f"/v1/campaigns/{cmp}/activate").status == 200
    accrue(c.cafe, enrol(c.cafe, phone="+79165550000"), "R-1", 1_700)  # 17 ₽ of purchases, 3 points (3 ₽) awarded
    cafe = _portal(c, c.cafe.key)
    page = cafe.page(f"/portal/campaigns/{cmp}")
    assert _text(page, "dates") == "Сроки: 10.03.2026 — 30.04.2026"
    figures = dict(re.findall(r"<tr><th>([^<]*)</th><td[^>]*>([^<]*)</td></tr>", page))
    assert figures["Стоимость баллов"] == "3\u00a0₽" and figures["Комиссия оператора"] == "0,30\u00a0₽"
    assert figures["Стоимость"] == "3,30\u00a0₽"
    assert figures["Выручка на рубль бонусов"] == "5,15"  # 17 / 3.30, two decimals, not "5,6666"

    asked = _post(cafe, f"/portal/campaigns/{cmp}/end")
    assert asked.status_code == 200 and c.cafe.get(f"/v1/campaigns/{cmp}")["status"] == "active"  # nothing yet
    confirm_page = asked.body.decode()
    assert "навсегда" in _text(confirm_page, "confirm") or "навсегда" in confirm_page
    confirm = portal_form = cafe.forms(confirm_page)[f"/portal/campaigns/{cmp}/end"]
    assert portal_form["confirmed"] == "yes"
    assert cafe.submit(f"/portal/campaigns/{cmp}/end", confirm).status_code == 303
    assert c.cafe.get(f"/v1/campaigns/{cmp}")["status"] == "ended"


def test_your_campaigns_and_invitations_are_apart(coalition):
    c = coalition
    cmp = _invite(c)
    assert c.store.post(f"/v1/campaigns/{cmp}/accept").status == 200
    own = c.store.post(
        "/v1/campaigns", {"name": "Своя", "earn_at": [c.ids["store"]], "reward": {"type": "fixed", "points": 5}}
    )["campaign_id"]
    page = _portal(c, c.store.key).page("/portal")
    yours = page.split('data-testid="yours"')[1].split("</section>")[0]
    invitations = page.split('data-testid="invitations"')[1].split("</section>")[0]
    assert own in yours and cmp not in yours
    assert cmp in invitations and "Приглашения" in invitations and own not in invitations


@pytest.mark.parametrize(("lang", "month", "sign"), [("ru", "март 2026", "вы должны"), ("en", "March 2026", "you owe")])
def test_settlement_months_are_named_and_a_debt_is_red_with_a_sign(coalition, lang, month, sign):
    c = coalition
    accrue(c.cafe, enrol(c.cafe, phone="+79165550001"), "S-1", 200_000)  # the café issued points: it owes
    page = _portal(c, c.cafe.key, lang).page("/portal/settlements")
    assert _text(page, "month").startswith(month) and "2026-03</" not in page
    assert re.search(r'class="big debt" data-testid="net-amount">−', page)
    assert _text(page, "net-sign") == sign


def test_a_suspended_partner_is_told_so_at_sign_in(coalition):
    c = coalition
    assert c.operator.call("PATCH", f"/v1/admin/partners/{c.ids['store']}", {"status": "suspended"}).status == 200
    portal = Portal(c.operator.http)
    login = portal.forms(portal.page("/portal"))["/portal/login"]
    refused = portal.submit("/portal/login", {**login, "api_key": c.store.key})
    assert refused.status_code == 401
    assert "приостановлен" in _text(refused.body.decode(), "sign-in-error")
    wrong = portal.submit("/portal/login", {**portal.forms(refused.body.decode())["/portal/login"], "api_key": "nope"})
    assert _text(wrong.body.decode(), "sign-in-error") == "Ключ не подошёл."
