"""Small edges found by trying the API as a hostile partner, outsider or unlucky till would: a hold's exact deadline,
Retry-After rounding, periods out of any sane range, names carrying control or bidi-override characters, the
Telegram webhook's secret checked before its body, and secrets compared in constant time."""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.domain.ratelimit import retry_after_seconds
from tests.conftest import make_settings, table_snapshot
from tests.test_api_ledger import accrue, enrol, refund

CHALICELIB = Path(__file__).resolve().parent.parent / "chalicelib"


# --- a hold's deadline is one instant for the order and the wallet ------------------------------------------------


def test_a_refund_at_a_holds_exact_deadline_finds_it_over(coalition, clock):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    assert accrue(c.store, cid, "S-0", 1_000_000).status == 201  # 300 points
    body = {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 40, "capture": False}
    held = c.store.post("/v1/redemptions", {**body, "hold_minutes": 30})
    assert held.status == 201
    clock.advance(timedelta(minutes=30))  # exactly the deadline
    r = refund(c.store, "S-1", "RF-1", 50_000)
    assert r.status == 201, r.json
    assert (r["points_returned"], r["balance"]["held"], r["balance"]["available"]) == (0, 0, 300)
    capture = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture")
    assert capture.status == 409 and capture["code"] == "hold_expired"


# --- Retry-After is rounded up: waiting what it says is enough ------------------------------------------------------


def test_waiting_exactly_retry_after_is_enough(api, clock):
    # 2 per 3 s: one token every 1.5 s, so the wait is never whole seconds
    runtime.configure(make_settings(limits='{"api_key": {"count": 2, "per_seconds": 3}}'), clock)
    for _ in range(2):
        assert api.get("/v1/admin/program").status == 200
    limited = api.get("/v1/admin/program")
    assert limited.status == 429 and limited.headers["Retry-After"] == "2"  # 1.5 s, rounded up
    clock.advance(timedelta(seconds=int(limited.headers["Retry-After"])))
    assert api.get("/v1/admin/program").status == 200


def test_retry_after_seconds_rounds_up():
    assert [retry_after_seconds(ms) for ms in (0, 1, 999, 1000, 1001, 1500, 59_001)] == [1, 1, 1, 1, 2, 2, 60]


def test_the_sdk_waits_what_retry_after_says():
    import httpx

    from partner_sdk import LoyaltyClient

    answers = [httpx.Response(429, headers={"Retry-After": "2"}, json={"code": "rate_limited"}), httpx.Response(200)]
    client = LoyaltyClient(
        api_key="lk_x", base_url="http://api", transport=httpx.MockTransport(lambda request: answers.pop(0))
    )
    slept: list[float] = []
    client._requestor._sleep = slept.append
    client.partners.me()
    assert slept == [2.0]


# --- periods --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["0000-01", "0001-01", "1999-12", "9999-12", "2032-01"])
def test_a_period_out_of_range_is_422_and_closes_nothing(coalition, period):
    c = coalition
    before = table_snapshot()
    for client, method, path in (
        (c.operator, "GET", f"/v1/admin/settlements/{period}"),
        (c.operator, "POST", f"/v1/admin/settlements/{period}/close"),
        (c.operator, "GET", f"/v1/admin/settlements/{period}/reconciliation"),
        (c.cafe, "GET", f"/v1/settlements/{period}"),
    ):
        r = client.call(method, path)
        assert r.status == 422 and r["code"] == "validation_error", (path, r.json)
        assert r.headers["Content-Type"] == "application/problem+json"
    assert table_snapshot() == before


def test_periods_from_2000_to_five_years_ahead_are_months(coalition, clock):
    c = coalition
    assert clock.now().year == 2026
    for period in ("2000-01", "2026-03", "2031-12"):
        assert c.operator.get(f"/v1/admin/settlements/{period}").status == 200, period
    assert c.operator.post("/v1/admin/settlements/2000-01/close").status == 200


# --- names ---------------------------------------------------------------------------------------------------------

HOSTILE = ["Уют\x00", "\u202eтюУ", "Уют\r\nВаш код: 000000", "Уют\u2066x\u2069", "Уют\x1b[31m", "a\u2028b", "Уют\tкафе"]


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(n) for n in HOSTILE])
def test_a_name_with_control_or_bidi_characters_is_422_and_writes_nothing(coalition, name):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    before = table_snapshot()
    attempts = [
        (c.operator, "POST", "/v1/admin/partners", {"name": name}),
        (c.operator, "PATCH", f"/v1/admin/partners/{c.ids['cafe']}", {"name": name}),
        (c.operator, "PATCH", f"/v1/admin/partners/{c.ids['cafe']}", {"category": name}),
        (c.cafe, "POST", "/v1/customers", {"phone": "+79161234568", "name": name}),
        (
            c.cafe,
            "POST",
            "/v1/campaigns",
            {"name": name, "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 10}},
        ),
        (
            c.operator,
            "POST",
            "/v1/admin/adjustments",
            {"customer_id": cid, "adjustment_id": "ADJ-1", "points": 10, "reason": name},
        ),
    ]
    for client, method, path, body in attempts:
        r = client.call(method, path, body)
        assert r.status == 422 and r["code"] == "validation_error", (path, r.json)
    assert table_snapshot() == before


def test_names_in_any_script_with_emoji_are_fine(coalition):
    r = coalition.operator.post("/v1/admin/partners", {"name": "Кафе «Уют» — 24/7 ☕ مقهى"})
    assert r.status == 201 and r["name"] == "Кафе «Уют» — 24/7 ☕ مقهى"


# --- the Telegram webhook -------------------------------------------------------------------------------------------


@pytest.fixture
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    secret = "webhook-secret-Xy7_k2"
    monkeypatch.setenv("LOYALTY_TELEGRAM_WEBHOOK_SECRET", secret)
    return secret


def _webhook(api: Any, raw: str, secret: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return api.http.post("/telegram/webhook", headers=headers, body=raw)


@pytest.mark.parametrize("raw", ['{"update_id": "x", "message": 5}', "[1, 2]", "not json", '{"update_id": 1}'])
def test_the_webhook_checks_its_secret_before_reading_the_body(api, webhook_secret, raw):
    for secret in (None, "", "wrong"):
        r = _webhook(api, raw, secret)
        body = json.loads(r.body)
        assert r.status_code == 401 and body["code"] == "unauthorized", body
        assert "errors" not in body and "update_id" not in r.body.decode()  # nothing about what a body should be


def test_with_its_secret_a_malformed_update_is_still_refused(api, webhook_secret):
    r = _webhook(api, '{"update_id": "x"}', webhook_secret)
    assert r.status_code == 422


# --- secrets and digests are compared in constant time ------------------------------------------------------------

SECRET_WORDS = ("hash", "digest", "secret", "token", "signature", "mac", "pepper", "code")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def _secretish(node: ast.expr) -> bool:
    words = _name(node).lower().replace("_", " ").split()
    return any(w in SECRET_WORDS or w.endswith(("hash", "digest", "mac", "token", "secret")) for w in words)


def _condition(node: ast.expr) -> bool:
    """``CodeItem.code_hash == x`` builds a DynamoDB condition expression (compared by DynamoDB), not a comparison."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id.endswith("Item")


def equality_on_secrets(source: str) -> list[tuple[int, str]]:
    """``==`` / ``!=`` comparisons where an operand is named like a secret or a digest, other than to None or to a
    constant (a state name, an empty string)."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(isinstance(o, ast.Constant) or _condition(o) for o in operands):
            continue
        if any(_secretish(o) for o in operands):
            hits.append((node.lineno, ast.unparse(node)))
    return hits


def test_secrets_and_digests_are_compared_with_hmac_compare_digest():
    found = {
        f"{path.relative_to(CHALICELIB)}:{line}": text
        for path in sorted(CHALICELIB.rglob("*.py"))
        for line, text in equality_on_secrets(path.read_text())
    }
    assert found == {}, "compare secrets with signing.verify (hmac.compare_digest on bytes)"


def test_the_scan_finds_what_it_is_for():
    source = "ok = given_mac == expected\nif token != item.token_hash: pass\nx = a == b\nc = KeyItem.key_hash == h"
    assert [line for line, _ in equality_on_secrets(source)] == [1, 2]
