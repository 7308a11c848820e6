"""The operator's console over HTTP: each page reads the services' answers in the operator's language, each form
writes through the same services as the operator's API, refusals come back next to their fields, and read-only staff
can change nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from tests.conftest import OPERATOR_KEY, TRUSTED
from tests.staff_helpers import Browser, add_staff

NONCE = "A" * 22


def visit(api: Any, path: str, key: str = OPERATOR_KEY) -> tuple[int, str, dict[str, str]]:
    r = api.http.get(path, headers={"Authorization": f"Bearer {key}"})
    return r.status_code, r.body.decode(), {k.lower(): v for k, v in r.headers.items()}


def send(
    api: Any, path: str, form: dict[str, str], key: str = OPERATOR_KEY, nonce: str = NONCE
) -> tuple[int, str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
    r = api.http.post(path, headers=headers, body=urlencode({"nonce": nonce, **form}))
    return r.status_code, r.body.decode(), {k.lower(): v for k, v in r.headers.items()}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")


def partner(api: Any, name: str, **extra: Any) -> dict[str, Any]:
    r = api.post("/v1/admin/partners", {"name": name, **TRUSTED, **extra})
    assert r.status == 201, r.json
    return dict(r.json)


def _visible(html: str) -> str:
    return text(re.sub(r"<style.*?</style>", "", html, flags=re.S))


def test_the_console_creates_a_partner_and_shows_its_key_once(api):
    form = {"name": "Уют", "category": "cafe", "earn_rate": "5,5", "max_redeem_share": "30", "pending_days": "3"}
    status, html, _ = send(api, "/admin/partners", {**form, "spend_confirmation": "always"})
    assert status == 201
    key = re.search(r'data-testid="api-key">([^<]+)<', html).group(1)
    created = api.as_key(key).get("/v1/partner").json  # the key shown is the partner's own, and it works
    assert (created["name"], created["earn_rate_bps"], created["max_redeem_share_bps"]) == ("Уют", 550, 3000)
    assert created["pending_days"] == 3
    status, listing, _ = visit(api, "/admin")
    assert status == 200 and key not in listing  # shown once: never on the list
    row = re.search(r'data-testid="partner-Уют">(.*?)</tr>', listing, re.S).group(1)
    assert "5,5 %" in _visible(row) and "работает" in _visible(row)


def test_a_refused_form_says_what_is_wrong_next_to_each_field_in_the_operators_language(api):
    before = api.get("/v1/admin/partners").json["items"]
    status, html, _ = send(api, "/admin/partners?lang=en", {"name": " ", "earn_rate": "five", "pending_days": "-1"})
    assert status == 422
    errors = dict(re.findall(r'data-testid="error-([a-z_]+)">([^<]+)<', html))
    assert errors == {
        "name": "Fill in this field",
        "earn_rate": "Enter a number, for example 5 or 5,5",
        "pending_days": "Enter a whole number",
    }
    assert 'aria-describedby="e-name"' in html and 'value="five"' in html  # kept as typed, tied to its message
    assert api.get("/v1/admin/partners").json["items"] == before


def test_suspending_a_partner_asks_first_and_its_key_stops_working(api):
    p = partner(api, "Уют")
    path = f"/admin/partners/{p['partner_id']}"
    status, html, _ = send(api, f"{path}/suspend", {})
    assert status == 200 and 'data-testid="confirm"' in html
    assert api.get(f"/v1/admin/partners/{p['partner_id']}").json["status"] == "active"  # nothing yet
    status, _, headers = send(api, f"{path}/suspend", {"confirmed": "yes"}, nonce="B" * 22)
    assert status == 303 and headers["location"] == path
    assert re.search(r'data-testid="status">([^<]+)<', visit(api, path)[1]).group(1) == "приостановлен"
    assert api.as_key(p["api_key"]).get("/v1/partner").status == 403
    send(api, f"{path}/resume", {"confirmed": "yes"}, nonce="C" * 22)
    assert api.as_key(p["api_key"]).get("/v1/partner").status == 200


def test_a_rate_changes_from_the_date_typed_and_a_past_date_is_refused_next_to_it(api, clock):
    p = partner(api, "Уют", earn_rate_bps=500)
    path = f"/admin/partners/{p['partner_id']}"
    form = {"earn_rate": "7,5", "max_redeem_share": "50", "pending_days": "0", "spend_confirmation": "never"}
    status, _, headers = send(api, f"{path}/settings", {**form, "effective_from": "2026-03-20"})
    assert status == 303 and headers["location"] == f"{path}?saved=1"
    out = api.get(f"/v1/admin/partners/{p['partner_id']}").json
    assert out["earn_rate_bps"] == 500  # not before its day
    assert out["scheduled_changes"] == [
        {"effective_from": "2026-03-20", "earn_rate_bps": 750, "max_redeem_share_bps": 5000}
    ]
    page = _visible(visit(api, f"{path}?saved=1&lang=en")[1])
    assert "Saved." in page and "from 20 Mar 2026" in page and "7.5 %" in page
    status, html, _ = send(api, f"{path}/settings", {**form, "effective_from": "2026-03-01"}, nonce="B" * 22)
    assert status == 422
    assert re.search(r'data-testid="error-effective_from">([^<]+)<', html).group(1) == (
        "Дата в прошлом: выберите сегодня или позже"
    )
    clock.advance(timedelta(days=11))
    assert api.get(f"/v1/admin/partners/{p['partner_id']}").json["earn_rate_bps"] == 750


def test_program_settings_name_the_program_and_schedule_the_point_value(api):
    form = {"program_name": "Соседи", "point_value": "1,50", "operator_fee": "2", "expiry_months": "12"}
    assert send(api, "/admin/program", {**form, "effective_from": "2026-04-01"})[0] == 303
    settings = api.get("/v1/admin/program").json
    assert settings["notifications"]["sender_name"] == "Соседи"
    assert settings["point_value_minor"] == 100  # from April
    assert {"effective_from": "2026-04-01", "point_value_minor": 150, "operator_fee_bps": 200} in settings[
        "scheduled_changes"
    ]
    page = _visible(visit(api, "/admin/program")[1])
    assert "1,50 ₽" in page and 'value="Соседи"' in visit(api, "/admin/program")[1]


def test_a_customer_found_by_phone_is_adjusted_with_a_reason(api):
    p = partner(api, "Уют")
    cafe = api.as_key(p["api_key"])
    cid = cafe.post("/v1/customers", {"phone": "+79161234567"}).json["customer_id"]
    status, html, _ = visit(api, "/admin/customers?phone=8%20916%20123-45-67")
    assert status == 200 and cid in html
    status, html, _ = send(api, f"/admin/customers/{cid}/adjust", {"points": "50", "reason": " "})
    assert status == 422 and 'data-testid="error-reason">Заполните это поле<' in html
    status, html, _ = send(api, f"/admin/customers/{cid}/adjust", {"points": "50", "reason": "Жалоба"}, nonce="B" * 22)
    assert status == 201 and re.search(r'data-testid="available">([^<]+)<', html).group(1) == "50"
    send(api, f"/admin/customers/{cid}/adjust", {"points": "50", "reason": "Жалоба"}, nonce="B" * 22)  # double press
    assert api.get(f"/v1/admin/customers/{cid}/transactions").json["items"][0]["points"] == 50
    assert len(api.get(f"/v1/admin/customers/{cid}/transactions").json["items"]) == 1
    status, html, _ = send(api, f"/admin/customers/{cid}/adjust", {"points": "-500", "reason": "x"}, nonce="C" * 22)
    assert status == 422 and "У покупателя нет столько баллов" in html
    status, html, _ = visit(api, "/admin/customers?phone=%2B79990000000&lang=en")
    assert 'data-testid="error-phone">Nothing found<' in html


def test_the_operator_ends_any_campaign_after_a_confirmation(api):
    p = partner(api, "Уют")
    cafe = api.as_key(p["api_key"])
    body = {"name": "Кофе", "earn_at": [p["partner_id"]], "reward": {"type": "fixed", "points": 5}}
    cid = cafe.post("/v1/campaigns", body).json["campaign_id"]
    assert cafe.post(f"/v1/campaigns/{cid}/activate").status == 200
    row = re.search(r'data-testid="campaign-Кофе">(.*?)</tr>', visit(api, "/admin/campaigns")[1], re.S).group(1)
    assert "Уют" in row and "идёт" in row
    assert send(api, f"/admin/campaigns/{cid}/pause", {})[0] == 303
    assert cafe.get(f"/v1/campaigns/{cid}").json["status"] == "paused"
    status, html, _ = send(api, f"/admin/campaigns/{cid}/end", {}, nonce="B" * 22)
    assert status == 200 and "Завершить акцию «Кофе» партнёра Уют навсегда?" in _visible(html)
    assert cafe.get(f"/v1/campaigns/{cid}").json["status"] == "paused"
    assert send(api, f"/admin/campaigns/{cid}/end", {"confirmed": "yes"}, nonce="C" * 22)[0] == 303
    assert cafe.get(f"/v1/campaigns/{cid}").json["status"] == "ended"


def test_a_month_closes_after_it_ended_and_a_confirmation(api, clock):
    p = partner(api, "Уют")
    cafe = api.as_key(p["api_key"])
    cid = cafe.post("/v1/customers", {"phone": "+79161234567"}).json["customer_id"]
    cafe.post("/v1/accruals", {"customer_id": cid, "order_id": "A-1", "amount_minor": 100_000})
    html = visit(api, "/admin/settlements?period=2026-03")[1]
    assert "Месяц можно закрыть, когда он закончится." in _visible(html) and "/2026-03/close" not in html
    clock.advance(timedelta(days=25))
    html = visit(api, "/admin/settlements?period=2026-03")[1]
    net = re.search(r'data-testid="statement-Уют">.*?data-testid="net">([^<]+)<', html, re.S).group(1)
    assert net == "-50\u00a0₽"  # 50 points of 1 ₽ issued: the partner pays the coalition
    assert re.search(r'data-testid="identity-result">([^<]+)<', html).group(1) == "0"
    status, html, _ = send(api, "/admin/settlements/2026-03/close", {})
    assert status == 200 and "Закрыть март 2026?" in _visible(html)
    assert api.get("/v1/admin/settlements/2026-03").json["status"] == "open"
    assert send(api, "/admin/settlements/2026-03/close", {"confirmed": "yes"}, nonce="B" * 22)[0] == 303
    html = visit(api, "/admin/settlements?period=2026-03")[1]
    assert re.search(r'data-testid="month-status">([^<]+)<', html).group(1) == "закрыт"
    assert send(api, "/admin/settlements/2026-03/reconcile", {}, nonce="C" * 22)[0] == 303
    html = visit(api, "/admin/settlements?period=2026-03&check=1&lang=en")[1]
    assert "Every figure matches the ledger (1 entries)." in _visible(html)


def test_a_refusal_is_a_page_in_the_operators_language(api):
    status, html, headers = send(api, "/admin/settlements/2026-03/close?lang=en", {"confirmed": "yes"})
    assert status == 409 and headers["content-type"].startswith("text/html")
    assert 'data-testid="error">This month has not ended yet: it can be closed from the 1st of the next month.<' in html
    assert api.get("/v1/admin/settlements/2026-03").json["status"] == "open"


def test_the_console_catalogues_agree_and_every_text_is_shown():
    from pathlib import Path

    web = Path(__file__).resolve().parent.parent / "chalicelib" / "web"
    ru, en = (json.loads((web / "messages" / "admin" / f"{lang}.json").read_text()) for lang in ("ru", "en"))

    def keys(tree: dict[str, Any], prefix: str = "admin.") -> set[str]:
        out: set[str] = set()
        for k, v in tree.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(ru) == keys(en)
    sources = [*(web / "templates" / "admin").glob("*.html"), *(web / "admin").glob("*.py")]
    used = "\n".join(p.read_text() for p in sources)
    literal = set(re.findall(r"""["'](admin\.[a-z_.]*[a-z_])["']""", used))
    prefixes = {"admin.error."}  # by the refusal's code (templates/admin/error.html)
    prefixes |= set(re.findall(r"""["'](admin\.(?:[a-z_]+\.)+)["']\s*~""", used)) - {"admin."} | set(
        re.findall(r"""f["'](admin\.[a-z_.]+\.)\{""", used)
    )
    unused = {k for k in keys(ru) - literal - COMPOSED if not any(k.startswith(p) for p in prefixes)}
    assert unused == set()


# texts whose names the templates compose ("admin." ~ partner.status, "admin." ~ action)
COMPOSED = {
    *(f"admin.{status}" for status in ("active", "suspended")),
    *(f"admin.{action}" for action in ("suspend", "resume")),
    "admin.pause",
    "admin.end",
    "admin.adjusted",
}


def _path(route: Any, partner_id: str) -> str:
    ids = {"customer_id": "cus_00000000", "period": "2026-02", "campaign_id": "cmp_00000000", "action": "suspend",
           "staff_id": "stf_00000000"}  # fmt: skip
    return route.path.format(partner_id=partner_id, **ids)


def test_every_console_route_shows_a_stranger_the_sign_in_and_a_partner_a_refusal(api):
    from tests.test_authorization_matrix import CONSOLE_ROUTES

    p = partner(api, "Уют")
    add_staff(api, partner_key_or_operator_key=p["api_key"], role="owner", phone="+79160000001", name="Анна")
    owner = Browser(api)
    assert owner.sign_in("portal", "+79160000001")[0] == 303
    before = api.get("/v1/admin/partners").json
    for route in CONSOLE_ROUTES:
        path = _path(route, p["partner_id"])
        form = {"confirmed": "yes", "name": "X", "nonce": NONCE}
        for key in ("", p["api_key"], "lk_forged.forged"):  # no cookie: the sign-in, whatever the header says
            if route.method == "GET":
                status, html, _ = visit(api, path, key=key)
                assert status == 200 and 'action="/admin/login/code"' in html, (route.name, status)
            else:
                status, _, headers = send(api, path, form, key=key)
                assert status == 303 and headers["location"] == "/admin/login", (route.name, status)
        status, html, _ = owner.request(route.method, path, None if route.method == "GET" else form)
        assert status == 403 and "Уют" not in html, (route.name, status)  # a partner's owner: not the console
    assert api.get("/v1/admin/partners").json == before


def test_read_only_staff_sees_every_page_without_buttons_and_cannot_write(api):
    p = partner(api, "Уют")
    add_staff(api, partner_key_or_operator_key=OPERATOR_KEY, role="operator_readonly", phone="+79160000002",
              name="Ирина", admin=True)  # fmt: skip
    reader = Browser(api)
    assert reader.sign_in("admin", "+79160000002")[0] == 303
    status, html, _ = reader.request("GET", f"/admin/partners/{p['partner_id']}")
    assert status == 200 and "Только просмотр" in html and "Ирина" in html
    assert "/suspend" not in html and "/keys" not in html  # no button to press
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # the sign-out form's: a genuine token
    for path, form in (
        (f"/admin/partners/{p['partner_id']}/suspend", {"confirmed": "yes"}),
        ("/admin/partners", {"name": "Чужой"}),
        ("/admin/program", {"program_name": "Чужая"}),
    ):
        status, _, _ = reader.request("POST", path, {"csrf": csrf, "nonce": NONCE, **form})
        assert status == 403, (path, status)
    assert api.get(f"/v1/admin/partners/{p['partner_id']}").json["status"] == "active"
    assert [x["name"] for x in api.get("/v1/admin/partners").json["items"]] == ["Уют"]


def test_operator_staff_writes_only_with_the_forms_csrf_token(api):
    p = partner(api, "Уют")
    add_staff(api, partner_key_or_operator_key=OPERATOR_KEY, role="operator", phone="+79160000003", name="Олег",
              admin=True)  # fmt: skip
    op = Browser(api)
    assert op.sign_in("admin", "+79160000003")[0] == 303
    html = op.request("GET", f"/admin/partners/{p['partner_id']}")[1]
    form = op.forms(html)[f"/admin/partners/{p['partner_id']}/suspend"]
    path = f"/admin/partners/{p['partner_id']}/suspend"
    assert op.request("POST", path, {**form, "csrf": "forged", "confirmed": "yes"})[0] == 403
    assert api.get(f"/v1/admin/partners/{p['partner_id']}").json["status"] == "active"
    assert op.request("POST", path, {**form, "confirmed": "yes"})[0] == 303
    assert api.get(f"/v1/admin/partners/{p['partner_id']}").json["status"] == "suspended"


def test_a_payment_is_recorded_and_the_month_shows_paid_and_open(api, clock):
    p = partner(api, "Уют")
    cafe = api.as_key(p["api_key"])
    cid = cafe.post("/v1/customers", {"phone": "+79161234567"}).json["customer_id"]
    cafe.post("/v1/accruals", {"customer_id": cid, "order_id": "A-1", "amount_minor": 200_000})  # 100 points: 100 ₽
    clock.advance(timedelta(days=25))
    path = "/admin/settlements/2026-03/payment"
    status, html, _ = send(api, path, {"partner_id": p["partner_id"], "amount": "", "paid_on": "2026-04-30"})
    assert status == 422
    errors = dict(re.findall(r'data-testid="error-([a-z_]+)">([^<]+)<', html))
    assert errors == {"amount": "Заполните это поле", "reference": "Заполните это поле"}
    form = {"partner_id": p["partner_id"], "direction": "from_partner", "amount": "40,50", "paid_on": "2026-04-03"}
    status, html, _ = send(api, path, {**form, "paid_on": "2026-04-30", "reference": "ПП 17"})
    assert status == 422 and 'data-testid="error-paid_on">Дата в будущем: выберите сегодня или раньше<' in html
    status, _, headers = send(api, path, {**form, "reference": "ПП 17"}, nonce="B" * 22)
    assert status == 303 and headers["location"] == "/admin/settlements?period=2026-03&saved=1"
    send(api, path, {**form, "reference": "ПП 17"}, nonce="B" * 22)  # a double press records it once
    html = visit(api, "/admin/settlements?period=2026-03&saved=1")[1]
    row = re.search(r'data-testid="statement-Уют">(.*?)</tr>', html, re.S).group(1)
    cells = dict(re.findall(r'data-testid="(net|paid|open)">([^<]+)<', row))
    assert cells == {"net": "-100\u00a0₽", "paid": "-40,50\u00a0₽", "open": "-59,50\u00a0₽"}
    assert "Платёж записан." in html
    assert api.get("/v1/admin/settlements/2026-03").json["partners"][0]["paid_minor"] == -4050
    audit = _visible(re.findall(r'<tr data-testid="audit-\d+">(.*?)</tr>', visit(api, "/admin/audit")[1], re.S)[0])
    assert "3 апр 2026" in audit and "март 2026" in audit and "2026-04-03" not in audit  # days as people write them


def test_the_audit_log_shows_who_changed_what_old_and_new(api):
    p = partner(api, "Уют", pending_days=0)
    add_staff(api, partner_key_or_operator_key=OPERATOR_KEY, role="operator", phone="+79160000004", name="Олег",
              admin=True)  # fmt: skip
    op = Browser(api)
    op.sign_in("admin", "+79160000004")
    path = f"/admin/partners/{p['partner_id']}"
    form = op.forms(op.request("GET", path)[1])[f"{path}/settings"]
    fields = {"earn_rate": "7,5", "max_redeem_share": "50", "pending_days": "3", "spend_confirmation": "never"}
    assert op.request("POST", f"{path}/settings", {**form, **fields, "effective_from": "2026-03-20"})[0] == 303
    form = op.forms(op.request("GET", path)[1])[f"{path}/suspend"]
    assert op.request("POST", f"{path}/suspend", {**form, "confirmed": "yes"})[0] == 303

    html = op.request("GET", "/admin/audit")[1]
    rows = re.findall(r'<tr data-testid="audit-\d+">(.*?)</tr>', html, re.S)
    suspended, updated = (_visible(row) for row in rows[:2])
    assert "Олег" in suspended and "Партнёр приостановлен" in suspended
    assert "Статус : работает → приостановлен" in suspended
    assert "Изменены настройки партнёра" in updated and "Дней ожидания : 0 → 3" in updated
    assert "Начисление с 20 мар 2026 : 5 % → 7,5 %" in updated  # the rate in force that day, before and after
    assert "Оплата баллами" not in updated  # sent unchanged: not a change
    html = op.request("GET", f"/admin/audit?action=partner.suspended&partner_id={p['partner_id']}")[1]
    assert len(re.findall(r'<tr data-testid="audit-\d+">', html)) == 1
    status, html = op.request("GET", "/admin/audit?cursor=forged.forged")[:2]
    assert status == 200 and 'data-testid="error-cursor"' in html


def test_a_reconciliation_that_differs_lists_each_figure_in_the_operators_language(api, clock):
    from chalicelib.schemas import Reconciliation, ReconciliationDifference
    from chalicelib.services import auth
    from chalicelib.web.admin.access import Operator
    from chalicelib.web.admin.settlement_views import settlements_page

    p = partner(api, "Уют")
    differs = Reconciliation(
        period="2026-03", job_id="job_1", status="done", started_at="", updated_at="", finished_at="", entries=7,
        matches=False, differences=[ReconciliationDifference(partner_id=p["partner_id"], field="issued_points",
                                                             counters=10, entries=12)],
    )  # fmt: skip
    operator = Operator(auth.Principal("key_op", "key", None), "key:key_op", "key", "")
    html = settlements_page(operator, "en", "2026-03", clock.now(), check=differs).body
    table = _visible(re.search(r'data-testid="reconciliation">(.*?)</div>', html, re.S).group(1))
    assert "Differences found" in table and "Figure" in table and "issued_points 10 12" in table


def test_a_partner_created_with_its_first_owner_who_signs_in_and_its_keys_listed_and_revoked(api):
    form = {"name": "Уют", "earn_rate": "5", "owner_name": "Анна", "owner_contact": "8 916 555-00-11"}
    status, html, _ = send(api, "/admin/partners", {**form, "owner_contact": "not a phone"})
    assert status == 422 and 'data-testid="error-owner_contact">Проверьте это значение<' in html
    status, html, _ = send(api, "/admin/partners", form, nonce="B" * 22)
    assert status == 201
    key = re.search(r'data-testid="api-key">([^<]+)<', html).group(1)
    assert Browser(api).sign_in("portal", "+79165550011")[0] == 303  # the owner signs in with a code
    pid = api.as_key(key).get("/v1/partner").json["partner_id"]
    status, html, _ = send(api, f"/admin/partners/{pid}/keys", {}, nonce="C" * 22)
    second = re.search(r'data-testid="api-key">([^<]+)<', html).group(1)
    second_id = re.search(r'<p class="muted">(key_[0-9a-z]+) ·', html).group(1)
    listed = re.search(r'data-testid="keys">(.*?)</table>', visit(api, f"/admin/partners/{pid}")[1], re.S).group(1)
    assert second_id in listed and f'name="key_id" value="{second_id}"' in listed  # its own revoke button
    assert api.as_key(second).get("/v1/partner").status == 200
    assert send(api, f"/admin/partners/{pid}/revoke", {"key_id": second_id}, nonce="D" * 22)[0] == 303
    assert api.as_key(second).get("/v1/partner").status == 401
    assert api.as_key(key).get("/v1/partner").status == 200  # the first key is untouched


def test_the_operator_invites_a_read_only_colleague_who_signs_in_and_is_removed(api):
    add_staff(api, partner_key_or_operator_key=OPERATOR_KEY, role="operator", phone="+79160000005", name="Олег",
              admin=True)  # fmt: skip
    op = Browser(api)
    op.sign_in("admin", "+79160000005")
    form = op.forms(op.request("GET", "/admin/staff?lang=en")[1])["/admin/staff"]
    status, html, _ = op.request("POST", "/admin/staff", {**form, "staff_name": "", "contact": "nope", "role": "x"})
    assert status == 422
    assert dict(re.findall(r'data-testid="error-([a-z_]+)">([^<]+)<', html)) == {
        "contact": "Enter a phone number or an e-mail address",
        "staff_name": "Fill in this field",
        "role": "Check this value",
    }
    typed = {"staff_name": "Ирина", "contact": "8 916 000-00-06", "role": "operator_readonly"}
    assert op.request("POST", "/admin/staff", {**form, **typed})[0] == 303
    row = re.search(r'data-testid="member-Ирина">(.*?)</tr>', op.request("GET", "/admin/staff?lang=en")[1], re.S)
    assert "operator (read-only)" in row.group(1) and "+79160000006" in row.group(1)
    reader = Browser(api)
    assert reader.sign_in("admin", "+79160000006")[0] == 303
    assert "Только просмотр" in reader.request("GET", "/admin")[1]
    page = op.request("GET", "/admin/staff")[1]
    staff_id = re.search(r'data-testid="member-Ирина">.*?action="/admin/staff/(stf_[0-9a-z]+)/remove"', page, re.S)
    remove = f"/admin/staff/{staff_id.group(1)}/remove"
    assert op.request("POST", remove, op.forms(page)[remove])[0] == 303
    assert 'action="/admin/login/code"' in reader.request("GET", "/admin")[1]  # her session ended with her
