"""An Idempotency-Key is bound to its first body and its first answer, errors included; a natural id is bound to its
first success, and a refused attempt under it binds only its own body (the same body replays the same error, a
corrected body executes)."""

import json

import pytest

from chalicelib import cache, db
from chalicelib.errors import Unavailable
from tests.conftest import TRUSTED
from tests.test_api_ledger import accrue, enrol, redeem

TODAY = "2026-03-10"  # the test clock's day


def _entries(kind):
    return [e for e in db.EntryItem.scan() if e.sk.startswith("E#") and e.type == kind]


def test_a_key_whose_first_answer_was_insufficient_points_replays_it_even_after_the_customer_earns(coalition):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 20_000)  # 10 points
    key = {"Idempotency-Key": "till-3-receipt-77"}
    first = redeem(c.store, cid, "S-1", 100_000, 30, headers=key)
    assert first.status == 422 and first["code"] == "insufficient_points"
    accrue(c.cafe, cid, "A-2", 200_000)  # now 110 points: enough
    again = redeem(c.store, cid, "S-1", 100_000, 30, headers=key)
    assert (again.status, again.raw) == (422, first.raw)  # byte for byte, the original request_id included
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == "application/problem+json"
    other = redeem(c.store, cid, "S-1", 100_000, 10, headers=key)
    assert other.status == 409 and other["code"] == "idempotency_key_reused"
    assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 110
    assert _entries("redemption") == []


REDEMPTION = {"order_id": "S-1", "order_amount_minor": 100_000, "points": 30}
CHANGES = [
    ("customer_id", None),  # another customer: filled in by the test
    ("order_id", "S-2"),
    ("order_amount_minor", 100_001),
    ("points", 20),
    ("points", 40),
    ("capture", False),
    ("hold_minutes", 30),
]


@pytest.mark.parametrize(("field", "value"), CHANGES, ids=[f"{f}={v}" for f, v in CHANGES])
def test_every_field_of_a_redemption_is_bound_to_the_key_after_a_failed_first_answer(coalition, field, value):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    rich = enrol(c.cafe, phone="+79161234568")
    accrue(c.cafe, cid, "A-1", 50_000)  # 25 points: 30 is too many, 20 would do
    accrue(c.cafe, rich, "A-2", 200_000)
    key = {"Idempotency-Key": "k-field"}
    body = {"customer_id": cid, **REDEMPTION}
    first = c.store.post("/v1/redemptions", body, headers=key)
    assert first.status == 422
    changed = {**body, field: rich if field == "customer_id" else value}
    r = c.store.post("/v1/redemptions", changed, headers=key)
    assert r.status == 409 and r["code"] == "idempotency_key_reused", r.json
    assert _entries("redemption") == [] and _entries("hold") == []


ACCRUAL_CHANGES = [
    ("order_id", "A-2"),
    ("amount_minor", 100_001),
    ("channel", "online"),
    ("category", "coffee"),
]


@pytest.mark.parametrize(("field", "value"), ACCRUAL_CHANGES, ids=[f for f, _ in ACCRUAL_CHANGES])
def test_every_field_of_an_accrual_is_bound_to_the_key(coalition, field, value):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    key = {"Idempotency-Key": "k-accrual"}
    body = {"customer_id": cid, "order_id": "A-1", "amount_minor": 100_000}
    first = c.cafe.post("/v1/accruals", body, headers=key)
    assert first.status == 201
    r = c.cafe.post("/v1/accruals", {**body, field: value}, headers=key)
    assert r.status == 409 and r["code"] == "idempotency_key_reused", r.json
    # the same body spelled differently (key order, spacing) is the same request
    spelled = json.dumps(dict(reversed(list(body.items()))), indent=2)
    assert c.cafe.call("POST", "/v1/accruals", raw=spelled, headers=key).raw == first.raw
    assert len(_entries("accrual")) == 1


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        ('{"customer_id": ', {}, 400, "invalid_json"),
        ('{"customer_id": "cus_x", "order_id": "A-1", "amount_minor": "100"}', {}, 422, "validation_error"),
        ("amount=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ],
    ids=["malformed", "invalid", "media type"],
)
def test_a_request_that_never_executed_leaves_the_key_free(coalition, raw, headers, status, code):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    key = {"Idempotency-Key": "k-free"}
    refused = c.cafe.call("POST", "/v1/accruals", raw=raw, headers={**key, **headers})
    assert refused.status == status and refused["code"] == code
    r = accrue(c.cafe, cid, "A-1", 100_000, headers=key)
    assert r.status == 201 and "Idempotent-Replayed" not in r.headers


def test_a_transient_error_is_not_recorded(coalition, monkeypatch):
    from chalicelib.services import accruals as ledger

    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    real = ledger.load_partner
    monkeypatch.setattr(ledger, "load_partner", lambda pid, at=None: (_ for _ in ()).throw(Unavailable()))
    key = {"Idempotency-Key": "k-busy"}
    busy = accrue(c.cafe, cid, "A-1", 100_000, headers=key)
    assert busy.status == 503 and busy.headers["Retry-After"]
    monkeypatch.setattr(ledger, "load_partner", real)
    assert accrue(c.cafe, cid, "A-1", 100_000, headers=key).status == 201


def test_a_refused_body_under_a_natural_id_replays_its_error_and_a_corrected_body_executes(coalition):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 20_000)  # 10 points
    first = redeem(c.store, cid, "S-1", 100_000, 30)
    assert first.status == 422 and first["code"] == "insufficient_points"
    accrue(c.cafe, cid, "A-2", 200_000)  # 110 points: now the same body could pay
    again = redeem(c.store, cid, "S-1", 100_000, 30)
    assert (again.status, again.raw) == (422, first.raw)  # the same body: the same error, byte for byte
    assert again.headers["Idempotent-Replayed"] == "true"
    # an order whose only record is a refusal is no order: a refund finds nothing to refund
    refunded = c.store.post("/v1/refunds", {"order_id": "S-1", "refund_id": "R-1", "amount_minor": 1_000})
    assert refunded.status == 404 and refunded["code"] == "order_not_found"
    corrected = redeem(c.store, cid, "S-1", 100_000, 10)
    assert corrected.status == 201 and corrected["points"] == 10, corrected.json
    assert redeem(c.store, cid, "S-1", 100_000, 10).raw == corrected.raw  # the success replays
    assert redeem(c.store, cid, "S-1", 100_000, 30).raw == first.raw  # the refused body still gets its error
    other = redeem(c.store, cid, "S-1", 100_000, 20)
    assert other.status == 409 and other["code"] == "duplicate_order"  # a success binds the order id
    assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 100
    assert len(_entries("redemption")) == 1


def test_a_refused_accrual_on_a_spent_receipt_then_the_corrected_body_earns(coalition):
    """The old cashier example: spend on a receipt, then accrue the receipt less the discount (refused: the order's
    amount is the receipt's), then the receipt total: it earns on the part paid in money."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
    spent = redeem(c.store, cid, "S-1", 100_000, 30)
    assert spent.status == 201 and spent["discount_minor"] == 3_000
    refused = accrue(c.store, cid, "S-1", 100_000 - 3_000)
    assert refused.status == 409 and refused["code"] == "order_conflict"
    again = accrue(c.store, cid, "S-1", 100_000 - 3_000)
    assert (again.status, again.raw) == (409, refused.raw)
    earned = accrue(c.store, cid, "S-1", 100_000)
    assert earned.status == 201, earned.json
    assert earned["points"] == 29  # the store earns 3 %: of the 970 roubles paid in money (not 30 on 1 000)
    assert accrue(c.store, cid, "S-1", 100_000).raw == earned.raw
    assert accrue(c.store, cid, "S-1", 100_000 - 3_000).raw == refused.raw
    other = accrue(c.store, cid, "S-1", 100_000, channel="online")
    assert other.status == 409 and other["code"] == "duplicate_order"
    assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 100 - 30 + 29
    assert len(_entries("accrual")) == 2


def test_an_idempotency_key_stays_bound_to_its_first_error_even_for_a_corrected_body(coalition):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
    redeem(c.store, cid, "S-1", 100_000, 30)
    key = {"Idempotency-Key": "till-7-press-1"}
    refused = accrue(c.store, cid, "S-1", 97_000, headers=key)
    assert refused.status == 409 and refused["code"] == "order_conflict"
    corrected = accrue(c.store, cid, "S-1", 100_000, headers=key)
    assert corrected.status == 409 and corrected["code"] == "idempotency_key_reused"
    assert accrue(c.store, cid, "S-1", 97_000, headers=key).raw == refused.raw
    assert [e.order_id for e in _entries("accrual")] == ["A-1"]
    assert accrue(c.store, cid, "S-1", 100_000, headers={"Idempotency-Key": "till-7-press-2"}).status == 201


def test_an_error_recorded_for_a_hold_is_no_hold(coalition):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    body = {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 30, "capture": False}
    refused = c.store.post("/v1/redemptions", body)
    assert refused.status == 422
    from chalicelib.services.redemptions import redemption_ref

    r = c.store.post(f"/v1/redemptions/{redemption_ref(cid, 'S-1')}/capture")
    assert r.status == 404 and r["code"] == "not_found"


def test_a_capture_refused_as_already_resolved_stays_refused_under_its_key(coalition):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)
    body = {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 30, "capture": False}
    rid = c.store.post("/v1/redemptions", body)["redemption_id"]
    assert c.store.post(f"/v1/redemptions/{rid}/void").status == 200
    key = {"Idempotency-Key": "cap-late"}
    late = c.store.post(f"/v1/redemptions/{rid}/capture", headers=key)
    assert late.status == 409 and late["code"] == "hold_already_resolved"
    again = c.store.post(f"/v1/redemptions/{rid}/capture", headers=key)
    assert again.raw == late.raw and again.headers["Idempotent-Replayed"] == "true"


def test_a_transaction_over_the_budget_is_a_clear_422_recorded_under_its_key(coalition, monkeypatch):
    from chalicelib.db import tx

    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    monkeypatch.setattr(tx, "MAX_ITEMS", 3)  # an accrual writes the wallet, its entry, counters and records
    key = {"Idempotency-Key": "k-big"}
    r = accrue(c.cafe, cid, "A-1", 100_000, headers=key)
    assert r.status == 422 and r["code"] == "request_too_large" and r["max_items"] == 3, r.json
    assert _entries("accrual") == []
    monkeypatch.setattr(tx, "MAX_ITEMS", 100)
    again = accrue(c.cafe, cid, "A-1", 100_000, headers=key)
    assert again.raw == r.raw  # bound to that answer like any other
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 0


def test_a_key_created_without_idempotency_key_is_in_no_record(api):
    r = api.post("/v1/admin/partners", {"name": "Уют", **TRUSTED})
    assert r.status == 201
    records = list(db.ReplayItem.scan())
    assert any(i.pk.startswith("REQ#") for i in records)  # the request's own record (placeholder, not the key)
    assert all(r["api_key"] not in str(i.attribute_values) for i in records)
    assert api.as_key(r["api_key"]).get("/v1/partner").status == 200


def _interleave(monkeypatch, when, other):
    """Run ``other`` (another request) once, just before the first commit whose plan satisfies ``when``: as if it had
    raced in between that request's read and its commit."""
    from chalicelib.machinery import idempotency

    real, done, started = idempotency._send, [], []

    def send(plan, req, attempt, **kw):
        if not started and when(plan):
            started.append(True)  # once: the other request's own commits pass straight through
            done.append(other())
        return real(plan, req, attempt, **kw)

    monkeypatch.setattr(idempotency, "_send", send)
    return done


def test_a_refusal_decided_while_the_same_body_succeeded_answers_that_success(coalition, monkeypatch):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 20_000)  # 10 points: 30 is refused...

    def meanwhile():  # ...while the customer earns and the same body, sent again, pays
        accrue(c.cafe, cid, "A-2", 200_000)
        return redeem(c.store, cid, "S-1", 100_000, 30)

    raced = _interleave(monkeypatch, lambda plan: plan.error is not None, meanwhile)
    first = redeem(c.store, cid, "S-1", 100_000, 30)
    assert raced[0].status == 201
    assert (first.status, first.raw) == (201, raced[0].raw)  # one answer for one body: the success
    assert redeem(c.store, cid, "S-1", 100_000, 30).raw == raced[0].raw
    assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 80


def test_a_success_decided_while_the_same_body_was_refused_answers_that_refusal(coalition, monkeypatch):
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)  # 100 points: 50 fits the store's cap of 50 %...

    def meanwhile():  # ...until the operator lowers it to 3 % and the same body, sent again, is refused
        r = c.operator.call(
            "PATCH", f"/v1/admin/partners/{c.ids['store']}", {"max_redeem_share_bps": 300, "effective_from": TODAY}
        )
        assert r.status == 200, r.json
        cache.clear()  # another instance, which has not read the partner yet
        return redeem(c.store, cid, "S-1", 100_000, 50)

    raced = _interleave(monkeypatch, lambda plan: plan.error is None and len(plan.tx) > 1, meanwhile)
    first = redeem(c.store, cid, "S-1", 100_000, 50)
    assert raced[0].status == 422 and raced[0]["code"] == "redemption_cap_exceeded", raced[0].json
    assert (first.status, first.raw) == (422, raced[0].raw)  # nothing was spent: the refusal stands
    assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 100
    assert _entries("redemption") == []


def test_a_refusal_recorded_at_the_order_id_itself_binds_only_its_body(coalition):
    """Refusals recorded before they had records of their own sit at the natural id: they still replay for their
    body, and a corrected body executes and takes the id."""
    from chalicelib.db import keys
    from chalicelib.machinery.idempotency import fingerprint

    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
    refused = {"customer_id": cid, "order_id": "S-1", "order_amount_minor": 100_000, "points": 500}
    pk, sk = keys.redemption(c.ids["store"], "S-1")
    problem = '{"code":"insufficient_points","status":422}'
    db.ReplayItem(
        pk, sk, fingerprint=fingerprint("", "", refused), status_code=422, body=problem, created_at="2026-03-01"
    ).save()
    assert redeem(c.store, cid, "S-1", 100_000, 500).raw == problem.encode()
    # Another body refused in its turn is refused for its own reason: the error at the id is no success holding it.
    assert redeem(c.store, cid, "S-1", 100_000, 400)["code"] == "insufficient_points"
    corrected = redeem(c.store, cid, "S-1", 100_000, 30)
    assert corrected.status == 201, corrected.json
    assert redeem(c.store, cid, "S-1", 100_000, 40)["code"] == "duplicate_order"
    assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 70
