"""DynamoDB round trips per request, counted at botocore as the service sends them: an accrual, a redemption, a hold
and a capture take 2 (one batch read, one transaction) and a balance 1, on a cold instance (empty caches: the key,
its partner, the program and the rate-limit bucket ride with the request's own read) and a warm one, with and
without an Idempotency-Key, with the per-key rate limit on (leases: docs/security.md, "Limits")."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import db, runtime
from tests.conftest import make_settings
from tests.test_api_ledger import accrue, enrol, redeem

ORDERS = itertools.count(1)
TRUSTED = {"max_redeem_share_bps": 10_000, "spend_confirmation": "never"}


class Calls:
    """The DynamoDB operations the app sends, counted at botocore (a 'before-call' hook on the shared client)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.params: list[dict[str, Any]] = []
        events = db.connection().client.meta.events
        events.register("before-call.dynamodb", self._record)
        events.register("before-parameter-build.dynamodb", self._keep)

    def _record(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def _keep(self, params: Any, **_: Any) -> None:
        self.params.append(dict(params))  # what the call was asked, before botocore serialises it

    def during(self, action: Callable[[], Any]) -> list[str]:
        self.names.clear()
        self.params.clear()
        action()
        return list(self.names)


def cold_instance(clock: Any) -> Calls:
    """A fresh instance: empty caches and rate-limit leases, a new client; the default limits (the per-key one on)."""
    runtime.configure(make_settings(limits=""), clock)
    return Calls()


@pytest.fixture
def till(api: Any) -> Any:
    partner = api.post("/v1/admin/partners", {"name": "Лавка", **TRUSTED}).json
    store = api.as_key(partner["api_key"])
    cid = enrol(store, phone="+79161239001")
    assert accrue(store, cid, "SEED", 10_000_000).status == 201
    return store, cid


def _headers(with_key: bool) -> dict[str, str] | None:
    return {"Idempotency-Key": f"till-{next(ORDERS)}"} if with_key else None


def _three(clock: Any, action: Callable[[], Any]) -> tuple[list[str], list[str]]:
    """The calls of ``action`` on a cold instance and on a warm one (after one more request: its lease taken)."""
    calls = cold_instance(clock)
    cold = calls.during(action)
    action()
    return cold, calls.during(action)


ONE_READ_ONE_WRITE = ["BatchGetItem", "TransactWriteItems"]


@pytest.mark.parametrize("with_key", [False, True], ids=["no key", "Idempotency-Key"])
def test_an_accrual_is_one_read_and_one_write_cold_and_warm(till, clock, with_key):
    store, cid = till

    def action() -> None:
        assert accrue(store, cid, f"A-{next(ORDERS)}", 10_000, headers=_headers(with_key)).status == 201

    assert _three(clock, action) == (ONE_READ_ONE_WRITE, ONE_READ_ONE_WRITE)


@pytest.mark.parametrize("with_key", [False, True], ids=["no key", "Idempotency-Key"])
@pytest.mark.parametrize("capture", [True, False], ids=["redemption", "hold"])
def test_a_redemption_or_hold_is_one_read_and_one_write_cold_and_warm(till, clock, with_key, capture):
    store, cid = till

    def action() -> None:
        r = redeem(store, cid, f"R-{next(ORDERS)}", 100_000, 5, headers=_headers(with_key), capture=capture)
        assert r.status == 201, r.json

    assert _three(clock, action) == (ONE_READ_ONE_WRITE, ONE_READ_ONE_WRITE)


@pytest.mark.parametrize("with_key", [False, True], ids=["no key", "Idempotency-Key"])
def test_a_capture_is_one_read_and_one_write_cold_and_warm(till, clock, with_key):
    store, cid = till
    holds = iter([redeem(store, cid, f"H-{i}", 100_000, 5, capture=False).json["redemption_id"] for i in range(3)])

    def action() -> None:
        r = store.post(f"/v1/redemptions/{next(holds)}/capture", {}, headers=_headers(with_key))
        assert r.status == 200, r.json

    assert _three(clock, action) == (ONE_READ_ONE_WRITE, ONE_READ_ONE_WRITE)


def test_a_balance_is_one_read_cold_and_warm(till, clock):
    store, cid = till

    def action() -> None:
        assert store.get(f"/v1/customers/{cid}/balance").status == 200

    assert _three(clock, action) == (["BatchGetItem"], ["GetItem"])


def _batch_keys(calls: Calls) -> list[str]:
    batches = [p for p in calls.params if "RequestItems" in p]
    return [k["pk"]["S"] for b in batches for table in b["RequestItems"].values() for k in table["Keys"]]


def test_a_trusted_tills_spend_reads_no_code_item(till, clock):
    store, cid = till
    calls = cold_instance(clock)
    calls.during(lambda: redeem(store, cid, "R-cold", 100_000, 5))
    assert not [k for k in _batch_keys(calls) if k.startswith("OTC#")]  # no code sent: no code, no tries counter
    calls.during(lambda: redeem(store, cid, "R-warm", 100_000, 5))
    keys = _batch_keys(calls)
    assert not [k for k in keys if k.startswith(("OTC#", "CODEFREE#"))], keys  # "never" counts no allowance
    sent = calls.during(lambda: redeem(store, cid, "R-code", 100_000, 5, customer_code="000000"))
    assert sent and [k for k in _batch_keys(calls) if k.startswith("OTC#")]  # a code sent is always checked


def test_an_accrual_writes_its_months_expiry_marker_once(till, clock):
    store, cid = till  # the seed accrual marked this month's lot
    calls = cold_instance(clock)
    assert calls.during(lambda: accrue(store, cid, "A-again", 10_000).status) == ONE_READ_ONE_WRITE
    (tx,) = [p for p in calls.params if "TransactItems" in p]
    written = [next(iter(item.values())) for item in tx["TransactItems"]]
    pks = [w.get("Item", w.get("Key", {})).get("pk", {}).get("S", "") for w in written]
    assert not [pk for pk in pks if pk.startswith("EXPIRE#")], pks
    items = db.connection().client.scan(TableName=db.models._Item.Meta.table_name)["Items"]
    assert [i["sk"]["S"] for i in items if i["pk"]["S"].startswith("EXPIRE#")] == [cid]  # the first one's marker


# --- what rides with the request's read is checked before anything leaves -------------------------------------------


def test_a_made_up_key_naming_a_partner_gets_401_even_for_a_body_that_does_not_validate(till, clock, api):
    store, cid = till
    partner_id = api.get("/v1/admin/partners").json["items"][0]["partner_id"]
    forged = store.as_key(f"lk_{partner_id}.key_aaaaaaaaaaaaaaaa.{'x' * 40}")
    cold_instance(clock)
    r = forged.post("/v1/accruals", {"customer_id": cid})  # reads nothing: the key is checked before the 422
    assert r.status == 401, r.json
    r = forged.get(f"/v1/customers/{cid}/balance")  # the key rides with the customer's read: no balance leaves
    assert r.status == 401 and "available" not in r.json


def test_a_made_up_key_naming_a_suspended_partner_learns_nothing_but_401(coalition):
    """Only a key shown real learns its partner's state: a warm instance that knows the partner is suspended still
    answers a made-up key naming it 401, and the partner's own other key (not read yet) 403 partner_suspended."""
    pid = coalition.ids["cafe"]
    second = coalition.operator.post(f"/v1/admin/partners/{pid}/keys", {}).json["api_key"]
    assert coalition.operator.call("PATCH", f"/v1/admin/partners/{pid}", {"status": "suspended"}).status == 200
    assert coalition.cafe.get("/v1/partner")["code"] == "partner_suspended"  # the instance now knows the partner
    made_up = coalition.operator.as_key(f"lk_{pid}.key_aaaaaaaaaaaaaaaa.{'x' * 40}")
    r = made_up.get("/v1/customers/cus_x/balance")
    assert r.status == 401 and r["code"] == "unauthorized", r.json
    r = coalition.operator.as_key(second).get("/v1/customers/cus_x/balance")
    assert r.status == 403 and r["code"] == "partner_suspended", r.json


def test_a_made_up_key_naming_a_partner_id_of_any_other_shape_gets_401_not_500(coalition):
    """What a key names is read with the request's first read, before it is believed: a name DynamoDB would refuse
    as a key (a sort key over 1,024 bytes, here 341 CJK characters in a 356-character token) must not make that read
    fail. Such a name is no claim: the key is read by its hash alone. (moto checks key sizes only on writes, so
    DynamoDB's refusal on reads is added at the client.)"""
    from botocore.exceptions import ClientError

    def dynamodb_key_limits(params: dict[str, Any], **_: Any) -> None:
        for table in params.get("RequestItems", {}).values():
            for key in table["Keys"]:
                if len(key["sk"]["S"].encode()) > 1024:
                    error = {"Code": "ValidationException", "Message": "Aggregated size of all range keys"}
                    raise ClientError({"Error": error}, "BatchGetItem")

    client = db.connection().client
    client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", dynamodb_key_limits)
    try:
        for name in ("ptn_" + "\u4e00" * 341, "ptn_" + "a" * 900, "ptn_CAFE", "ptn_"):
            r = coalition.operator.as_key(f"lk_{name}.key_x.y").get("/v1/customers/cus_x/balance")
            assert r.status == 401 and r["code"] == "unauthorized", (name[:8], r.status)
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.BatchGetItem", dynamodb_key_limits)


def test_a_revoked_key_is_refused_by_a_cold_instance(till, clock, api):
    store, cid = till
    partner_id = api.get("/v1/admin/partners").json["items"][0]["partner_id"]
    key = api.post(f"/v1/admin/partners/{partner_id}/keys", {}).json
    other = store.as_key(key["api_key"])
    assert other.get(f"/v1/customers/{cid}/balance").status == 200
    assert (
        api.http.delete(
            f"/v1/admin/partners/{partner_id}/keys/{key['key_id']}", headers={"Authorization": f"Bearer {api.key}"}
        ).status_code
        == 204
    )
    cold_instance(clock)
    assert other.get(f"/v1/customers/{cid}/balance").status == 401
    assert store.get(f"/v1/customers/{cid}/balance").status == 200


def test_an_accrual_at_a_till_with_campaigns_is_one_read_and_one_write_warm(coalition, clock):
    """A warm instance reads the campaigns' items (a budget shard of each drawn at random) with the customer: the
    write's second look at the partner's campaigns must not draw other shards and read them again."""
    from tests.test_campaigns import live_campaign

    c = coalition
    for name in ("A", "B", "C"):
        live_campaign(c, name=name, audience=None, per_customer_limit=None, budget_points=None)
    cid = enrol(c.cafe, phone="+79161239002")
    calls = cold_instance(clock)
    assert accrue(c.cafe, cid, f"W-{next(ORDERS)}", 10_000).status == 201  # cold: the campaigns come second
    for _ in range(12):  # each draw of a shard: 1 in CAMPAIGN_SHARDS to match, per campaign, by chance
        got = calls.during(lambda: accrue(c.cafe, cid, f"W-{next(ORDERS)}", 10_000))
        assert [name for name in got if name != "UpdateItem"] == ONE_READ_ONE_WRITE, got  # UpdateItem: a lease


def test_revoking_a_listed_key_reads_it_and_its_count_in_one_batch(till, clock, api):
    """The owner's revocation: the key's index, then the listed key with the partner's count of active keys (one
    batch read, not two), then one transaction. (First the caller's own key: the last revocation emptied the
    instance's cache, so that no revoked key is served from it.)"""
    partner_id = api.get("/v1/admin/partners").json["items"][0]["partner_id"]
    made = [api.post(f"/v1/admin/partners/{partner_id}/keys", {}).json for _ in range(2)]
    calls = cold_instance(clock)
    auth = {"Authorization": f"Bearer {api.key}"}
    api.http.delete(f"/v1/admin/partners/{partner_id}/keys/{made[0]['key_id']}", headers=auth)  # warm: the operator
    got = calls.during(
        lambda: api.http.delete(f"/v1/admin/partners/{partner_id}/keys/{made[1]['key_id']}", headers=auth)
    )
    assert got == ["BatchGetItem", "GetItem", "BatchGetItem", "TransactWriteItems"], got


def test_an_accrual_at_a_till_with_a_small_budgeted_campaign_is_one_read_and_one_write_warm(coalition, clock):
    """A budget of 3,000 points is spread over 3 shards, not 8: the shard read with the purchase is drawn among the
    campaign's own, so the award's room is known at once and no second read is needed."""
    from tests.test_campaigns import live_campaign

    c = coalition
    live_campaign(c, audience=None, per_customer_limit=None, budget_points=3_000, reward={"type": "fixed", "points": 1})
    cid = enrol(c.cafe, phone="+79161239003")
    calls = cold_instance(clock)
    assert accrue(c.cafe, cid, f"W-{next(ORDERS)}", 10_000).status == 201
    for _ in range(16):  # drawn among 8, a draw past the third shard missed 5 times in 8: a second read
        got = calls.during(lambda: accrue(c.cafe, cid, f"W-{next(ORDERS)}", 10_000))
        assert [name for name in got if name != "UpdateItem"] == ONE_READ_ONE_WRITE, got  # UpdateItem: a lease
