"""Limits: per API key (burst and sustained), look-ups per key and hour, open holds per customer and
partner, sign-in and code attempts per phone and IP. Over HTTP where a partner would see them; docs/security.md
lists each number and the test guarding it."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import db, runtime
from chalicelib.db import ratelimits
from chalicelib.domain.ratelimit import DEFAULT_RATES, Rate, admit, open_holds_wait, parse_limits
from chalicelib.domain.wallet import Hold
from chalicelib.errors import RateLimited
from chalicelib.machinery import limits
from tests.conftest import make_settings
from tests.test_api_ledger import accrue, enrol, redeem


def use_limits(clock: Any, text: str = "", **kw: Any) -> None:
    """Reconfigure the running app with these limits (default: every default, the per-key rate included)."""
    runtime.configure(make_settings(limits=text, **kw), clock)


def assert_limited(r: Any, retry_after: int) -> None:
    assert r.status == 429, r.json
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r["code"] == "rate_limited" and r["retry_after"] == retry_after
    assert r.headers["Retry-After"] == str(retry_after)


# --- the arithmetic ------------------------------------------------------------------------------------------------


def test_a_bucket_admits_its_burst_then_its_rate():
    rate = Rate(10, 1, burst=20)
    tat, now, admitted = None, 1_000_000, 0
    while (v := admit(tat, now, rate)).allowed:
        tat, admitted = v.tat_ms, admitted + 1
    assert admitted == 20 and v.retry_after_s == 1  # 100 ms to the next token, rounded up to whole seconds
    assert not admit(tat, now + 99, rate).allowed and admit(tat, now + 100, rate).allowed
    assert admit(tat, now + 2_000, rate).allowed  # idle two seconds: full again
    assert [admit(tat, now + 2_000 + 10_000, rate).tat_ms] == [now + 12_000 + 100]  # never more than full


def test_limits_are_settings_and_a_bad_setting_keeps_the_defaults():
    limits_, problems = parse_limits(
        json.dumps({"lookup": {"count": 3, "per_seconds": 60}, "api_key": None, "open_holds": 2, "nope": 1})
    )
    assert limits_.rate("lookup") == Rate(3, 60) and limits_.rate("api_key") is None and limits_.open_holds == 2
    assert problems == ["nope: unknown limit"]
    for bad in ("{", "[]", '{"lookup": {"count": 0, "per_seconds": 1}}', '{"lookup": {"count": "9"}}'):
        limits_, problems = parse_limits(bad)
        assert problems and limits_.rate("lookup") == DEFAULT_RATES["lookup"]


def test_the_open_holds_wait_is_until_the_partners_earliest_hold_expires(clock):
    now = clock.now()

    def hold(partner: str, minutes: int) -> Hold:
        return Hold(1, (now + timedelta(minutes=minutes)).isoformat(), {}, partner, f"o{minutes}")

    holds = {f"h{i}": hold("p1", m) for i, m in enumerate((7, 3, 15, 15))} | {
        "x": hold("p2", 1),
        "gone": hold("p1", -1),
    }
    assert open_holds_wait(holds, "p1", now, 5) is None
    assert open_holds_wait(holds, "p1", now, 4) == 180
    assert open_holds_wait(holds, "p2", now, 1) == 60 and open_holds_wait(holds, "p3", now, 1) is None


# --- the whole API: API Gateway ------------------------------------------------------------------------------------


def test_the_whole_api_is_throttled_by_api_gateway():
    from infra import build_template

    template = json.loads(build_template.render())
    (settings,) = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert (settings["HttpMethod"], settings["ResourcePath"]) == ("*", "/*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    parameters = template["Parameters"]
    assert (parameters["ApiRateLimit"]["Default"], parameters["ApiBurstLimit"]["Default"]) == (200, 400)


def test_every_authenticated_route_documents_its_429(api):
    from chalicelib.routes import ROUTES

    spec = api.get("/openapi.json").json
    for route in ROUTES:
        if route.media != ("application/json",):
            continue  # pages document their own answers (a sign-in page may be a 429 page)
        responses = spec["paths"][route.path][route.method.lower()]["responses"]
        assert ("429" in responses) == (route.auth not in ("public", "session")), route.name  # API keys


# --- per API key ---------------------------------------------------------------------------------------------------


def test_a_burst_from_one_key_is_429_while_another_key_is_unaffected(coalition, clock):
    use_limits(clock)  # the defaults: 20 at once, then 10 per second
    for _ in range(20):
        assert coalition.cafe.get("/v1/partner").status == 200
    assert_limited(coalition.cafe.get("/v1/partner"), 1)
    assert coalition.store.get("/v1/partner").status == 200  # another key: its own bucket
    assert coalition.operator.get("/v1/admin/program").status == 200
    clock.advance(timedelta(milliseconds=100))  # sustained: one more per 100 ms
    assert coalition.cafe.get("/v1/partner").status == 200
    assert coalition.cafe.get("/v1/partner").status == 429
    clock.advance(timedelta(seconds=2))  # idle two seconds: the whole burst again
    assert all(coalition.cafe.get("/v1/partner").status == 200 for _ in range(20))


def test_a_refused_write_leaves_its_idempotency_key_free(coalition, clock):
    cid = enrol(coalition.cafe, phone="+79161230001")
    assert coalition.cafe.get("/v1/partner").status == 200  # warm: the instance keeps the key's rates as they were
    use_limits(clock, '{"api_key": {"count": 1, "per_seconds": 5}}')  # ... until the settings change
    headers = {"Idempotency-Key": "till-7-receipt-1"}
    assert accrue(coalition.cafe, cid, "A-1", 10_000, headers=headers).status == 201
    assert_limited(accrue(coalition.cafe, cid, "A-2", 10_000, headers={"Idempotency-Key": "till-7-receipt-2"}), 5)
    clock.advance(timedelta(seconds=5))
    first = accrue(coalition.cafe, cid, "A-2", 10_000, headers={"Idempotency-Key": "till-7-receipt-2"})
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers


def test_concurrent_requests_from_one_key_get_exactly_the_burst(live, clock):
    """Conditional writes, not read-then-write: 40 requests at once on one frozen instant admit exactly 20."""
    use_limits(clock, endpoint=live.dynamodb_url, table=db.models._Item.Meta.table_name)
    key = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Burst"}).json()["api_key"]
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status = live.request("GET", "/v1/partner", key).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 20 + [429] * 20


class Calls:
    """The DynamoDB operations the app sends, counted at botocore."""

    def __init__(self) -> None:
        self.names: list[str] = []
        db.connection().client.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def during(self, action: Any) -> list[str]:
        self.names.clear()
        action()
        return list(self.names)


def test_a_key_under_its_limit_costs_no_round_trip_of_its_own_and_a_refusal_costs_none(coalition, clock):
    """Leases (docs/security.md, "Limits"): one conditional write takes up to five tokens for this instance; a cold
    instance reads the bucket with the request's own read and admits that request on credit."""
    cid = enrol(coalition.cafe, phone="+79161230002")
    use_limits(clock)  # a cold instance with the defaults: 20 at once, then 10 per second
    calls = Calls()  # configure built a new client

    def balance() -> None:
        assert coalition.cafe.get(f"/v1/customers/{cid}/balance").status == 200

    assert calls.during(balance) == ["BatchGetItem"]  # the key, its partner, the program, its bucket, the customer
    writes = [calls.during(balance).count("UpdateItem") for _ in range(19)]
    # the 2nd pays the credit and leases 4 more; then a lease of 5 every 5th request: 20 tokens for 20 requests
    assert writes == [1, 0, 0, 0] + [1, 0, 0, 0, 0] * 3
    refused = calls.during(lambda: assert_limited(coalition.cafe.get(f"/v1/customers/{cid}/balance"), 1))
    assert refused == []  # this instance saw the bucket empty: refused without asking DynamoDB
    clock.advance(timedelta(milliseconds=100))
    assert calls.during(balance) == ["UpdateItem", "GetItem"]  # one token back, leased alone
    lookup = calls.during(lambda: coalition.store.get("/v1/customers/lookup?phone=%2B79161230002"))
    assert lookup.count("UpdateItem") == 0  # a cold key: the request and its look-up on credit, read with it
    lookup = calls.during(lambda: coalition.store.get("/v1/customers/lookup?phone=%2B79161230002"))
    assert lookup.count("UpdateItem") == 1  # both buckets are in the key's item: one write leases both


def test_bucket_items_expire_and_never_show_the_phone_or_ip(api, clock):
    use_limits(clock)
    limits.signin("+79161234567", "203.0.113.9")
    client = db.connection().client
    items = client.scan(TableName=db.models._Item.Meta.table_name)["Items"]
    buckets = [i for i in items if i["pk"]["S"].startswith("RATE#")]
    assert len(buckets) == 3  # the address, the phone with the address, the phone
    text = json.dumps(buckets)
    assert "79161234567" not in text and "203.0.113.9" not in text
    now_s = clock.now().timestamp()
    ttls = sorted(int(item["ttl"]["N"]) - now_s for item in buckets)
    assert ttls == [1200 + 60, 3600 + 60, 3600 + 60]  # once every bucket is full again: IP 20 min, phone 1 h


def test_a_limit_never_answers_500(coalition, clock, monkeypatch):
    use_limits(clock, '{"api_key": {"count": "ten"}, "lookup": 7}')  # malformed: the defaults stay
    assert coalition.cafe.get("/v1/partner").status == 200

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("DynamoDB is having a bad day")

    monkeypatch.setattr(ratelimits, "take", broken)
    assert coalition.cafe.get("/v1/partner").status == 200  # let through, logged

    def throttled(*args: Any, **kw: Any) -> Any:
        raise ratelimits.Hot("ThrottlingException")

    monkeypatch.setattr(ratelimits, "take", throttled)
    assert_limited(coalition.cafe.get("/v1/partner"), 1)


def test_a_limit_that_guards_people_refuses_for_now_when_it_cannot_be_checked(coalition, clock, monkeypatch):
    """Sign-in, typed codes, messages and wrong codes must not fail open while the database misbehaves: 503 with
    Retry-After, nothing sent or judged, and the retry executes (a 503 is never recorded)."""
    from tests.conftest import inbox

    cid = enrol(coalition.cafe, phone="+79161234567", name="Анна")
    real_take, real_read = ratelimits.take, ratelimits.read

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("DynamoDB is having a bad day")

    monkeypatch.setattr(ratelimits, "take", broken)
    key = {"Idempotency-Key": "code-1"}
    refused = coalition.store.post(f"/v1/customers/{cid}/spend-code", headers=key)
    assert (refused.status, refused["code"], refused.headers["Retry-After"]) == (503, "temporarily_unavailable", "1")
    assert inbox("spend_code") == []  # no message went out unchecked
    monkeypatch.setattr(ratelimits, "take", real_take)
    assert coalition.store.post(f"/v1/customers/{cid}/spend-code", headers=key).status == 202  # the retry executes
    accrue(coalition.cafe, cid, "R-1", 100_000)

    monkeypatch.setattr(ratelimits, "read", broken)  # the key's wrong-code allowance cannot be read
    body = {
        "customer_id": cid,
        "order_id": "S-1",
        "order_amount_minor": 10_000,
        "points": 10,
        "customer_code": "000000",
    }
    guessed = coalition.store.post("/v1/redemptions", body)
    assert guessed.status == 503 and guessed["code"] == "temporarily_unavailable"
    monkeypatch.setattr(ratelimits, "read", real_read)
    assert coalition.store.post("/v1/redemptions", body)["code"] == "customer_code_invalid"  # judged only now


def _made_up_key(partner_id: str, n: int) -> str:
    """A key that names a real partner and a key id of its own making: believed only once its item is read."""
    return f"lk_{partner_id}.key_madeup{n:06d}.notasecret"


def test_made_up_keys_leave_nothing_behind_in_the_instance(coalition, clock):
    """A request with a made-up key is refused (401), and the instance keeps no rate record nor lease for it:
    otherwise anyone could grow an instance's memory, or push out real keys' leased tokens, with 401s."""
    from chalicelib.machinery import key_rate

    use_limits(clock)
    assert coalition.cafe.get("/v1/partner").status == 200
    records, leases = set(key_rate._held), set(limits._leases)
    for n in range(30):
        assert coalition.cafe.as_key(_made_up_key(coalition.ids["cafe"], n)).get("/v1/partner").status == 401
    assert set(key_rate._held) == records and set(limits._leases) == leases


def test_401_traffic_never_drops_a_real_keys_leased_tokens(coalition, clock, monkeypatch):
    from chalicelib.machinery import key_rate

    use_limits(clock)
    monkeypatch.setattr(key_rate, "_HINTS_MAX", 20)  # the instance's bound, smaller
    assert coalition.cafe.get("/v1/partner").status == 200  # cold: on credit
    assert coalition.cafe.get("/v1/partner").status == 200  # pays the debt and leases more
    leased = {k: lease.left for k, lease in limits._leases.items()}
    assert any(leased.values())
    for n in range(25):
        assert coalition.cafe.as_key(_made_up_key(coalition.ids["cafe"], n)).get("/v1/partner").status == 401
    assert {k: limits._leases[k].left for k in leased if k in limits._leases} == leased


def test_the_instances_rate_records_stay_bounded_with_the_key_limit_off(clock):
    """With ``api_key`` switched off a record holds no lease, so the leases' bound alone would never clear them."""
    from chalicelib.machinery import key_rate

    use_limits(clock, '{"api_key": null}')
    for n in range(limits._HINTS_MAX + 500):
        key_rate.per_request(f"key_{n}", now=clock.now())
    assert len(key_rate._held) <= limits._HINTS_MAX


def test_a_keys_record_spends_the_leases_every_other_request_of_the_key_sees(clock, monkeypatch):
    """A look-up's record (two leases) made just as the bound is passed holds the leases the instance lists, not
    one the bound dropped after it was made (which would let the key spend twice the lease)."""
    from chalicelib.machinery import key_rate

    use_limits(clock)
    monkeypatch.setattr(key_rate, "_HINTS_MAX", 3)
    rt = runtime.get()
    with limits._hints_lock:
        for n in range(3):
            key_rate._held_for(rt, f"key_{n}", False)
        held = key_rate._held_for(rt, "key_x", True)
        listed = [limits._leases.get((held.key[0], name)) for name in held.rates]
    assert list(held.leases) == listed and len(listed) == 2


# --- look-ups ------------------------------------------------------------------------------------------------------


def test_a_key_may_look_up_300_phones_or_cards_an_hour(coalition, clock):
    use_limits(clock, '{"api_key": null}')  # the default look-up limit alone
    known = enrol(coalition.cafe, phone="+79161230003")
    for i in range(300):  # misses count as much as hits: enumeration is mostly misses
        assert coalition.cafe.get(f"/v1/customers/lookup?phone=%2B7926{i:07d}").status == 404
    assert_limited(coalition.cafe.get("/v1/customers/lookup?card=CARD-1"), 12)  # 300 per hour: one per 12 s
    assert coalition.store.get("/v1/customers/lookup?phone=%2B79161230003")["customer_id"] == known
    clock.advance(timedelta(seconds=12))
    assert coalition.cafe.get("/v1/customers/lookup?phone=%2B79161230003").status == 200


def test_enrolling_a_known_phone_or_card_counts_as_a_look_up(coalition, clock):
    use_limits(clock, '{"api_key": null, "lookup": {"count": 3, "per_seconds": 3600}}')
    enrol(coalition.store, phone="+79161230004", card="CARD-0004")
    for i in range(5):  # new customers are no look-up
        assert coalition.cafe.post("/v1/customers", {"phone": f"+7926000000{i}"}).status == 201
    assert coalition.cafe.post("/v1/customers", {"phone": "+79161230004"}).status == 200
    assert coalition.cafe.post("/v1/customers", {"card": "CARD-0004"}).status == 200
    assert coalition.cafe.get("/v1/customers/lookup?phone=%2B79000000000").status == 404
    assert_limited(coalition.cafe.post("/v1/customers", {"phone": "+79161230004"}), 1200)
    assert_limited(coalition.cafe.get("/v1/customers/lookup?phone=%2B79161230004"), 1200)
    assert coalition.cafe.post("/v1/customers", {"phone": "+79260000009"}).status == 201  # still no look-up


# --- open holds ----------------------------------------------------------------------------------------------------


def test_a_partner_may_hold_a_customers_points_five_times_at_once(coalition, clock):
    cid = enrol(coalition.cafe, phone="+79161230005")
    assert accrue(coalition.cafe, cid, "A-1", 1_000_000).status == 201  # 500 points
    for i in range(5):
        clock.advance(timedelta(minutes=1))
        assert redeem(coalition.store, cid, f"H-{i}", 10_000, 1, capture=False).status == 201
    sixth = redeem(coalition.store, cid, "H-5", 10_000, 1, capture=False)
    assert_limited(sixth, 11 * 60)  # the first hold (15 minutes) was placed 4 minutes before the last
    assert redeem(coalition.salon, cid, "S-1", 10_000, 1, capture=False).status == 201  # another partner
    assert redeem(coalition.store, cid, "C-1", 10_000, 1).status == 201  # spending at once is no hold
    void = coalition.store.post(f"/v1/redemptions/{redeem_id(cid, 'H-3')}/void")
    assert void.status == 200
    assert redeem(coalition.store, cid, "H-5", 10_000, 1, capture=False).status == 201  # same order, a place freed
    assert redeem(coalition.store, cid, "H-6", 10_000, 1, capture=False).status == 429
    clock.advance(timedelta(minutes=11))  # the first hold expired
    assert redeem(coalition.store, cid, "H-6", 10_000, 1, capture=False).status == 201
    item = db.get_one(db.CustomerItem, *db.keys.customer(cid))
    assert item is not None and len([k for k in item.holds.as_dict() if k.startswith(coalition.ids["store"])]) <= 5


def redeem_id(cid: str, order_id: str) -> str:
    from chalicelib.services.redemptions import redemption_ref

    return redemption_ref(cid, order_id)


# --- sign-in and code attempts (called by the customer sign-in and spend-code flows) --------------------------------


def refused(action: Any) -> int:
    with pytest.raises(RateLimited) as caught:
        action()
    return int(caught.value.headers["Retry-After"])


def test_sign_in_codes_per_phone_and_per_ip(api, clock):
    use_limits(clock)
    for _ in range(5):
        limits.signin("+79161234567", "203.0.113.1")
    assert refused(lambda: limits.signin("+79161234567", "203.0.113.1")) == 720  # 5 an hour per phone and address
    for i in range(2, 5):  # other addresses have their own five, up to the phone's ceiling of 20 an hour
        for _ in range(5):
            limits.signin("+79161234567", f"203.0.113.{i}")
    assert refused(lambda: limits.signin("+79161234567", "203.0.113.5")) == 180  # the ceiling: one per 3 minutes
    limits.signin("+79161234567", "203.0.113.5", device="known-browser")  # a browser that signed in before
    for i in range(14):  # other phones from the first IP: the IP has 20 at once (6 spent above)
        limits.signin(f"+7916000{i:04d}", "203.0.113.1")
    assert refused(lambda: limits.signin("+79169999999", "203.0.113.1")) == 60  # 60 an hour
    limits.signin("+79169999998", "198.51.100.7")  # another IP
    clock.advance(timedelta(minutes=12))
    limits.signin("+79161234567", None)


def test_code_attempts_per_phone_and_per_ip_and_spend_codes_per_customer(api, clock):
    use_limits(clock)
    for _ in range(10):
        limits.code_attempt("+79161234567", "203.0.113.1")
    assert refused(lambda: limits.code_attempt("+79161234567", "203.0.113.1")) == 360  # 10 an hour per address
    limits.code_attempt("+79161234567", "192.0.2.1")  # another address: its own ten, under a ceiling of 40
    for i in range(19):
        limits.code_attempt(f"+7916000{i:04d}", "203.0.113.1")
    assert refused(lambda: limits.code_attempt("+79160009999", "203.0.113.1")) == 30  # 30 at once, 120 an hour
    for _ in range(5):
        limits.spend_code("cus_a", "ptn_x")
    assert refused(lambda: limits.spend_code("cus_a", "ptn_x")) == 360  # 5 at once, 10 an hour
    limits.spend_code("cus_a", "ptn_y")  # another partner's own allowance
    limits.spend_code("cus_b", "ptn_x")
    limits.check("signin_phone", "someone@example.org")  # the generic form, e.g. for an e-mail address


# --- the SDK -------------------------------------------------------------------------------------------------------


def test_the_sdk_waits_what_retry_after_says_and_gives_up_at_once_when_that_is_too_long(live, clock):
    from partner_sdk import LoyaltyClient, errors

    use_limits(
        clock,
        '{"api_key": {"count": 1, "per_seconds": 2}, "lookup": {"count": 1, "per_seconds": 3600}}',
        endpoint=live.dynamodb_url,
        table=db.models._Item.Meta.table_name,
    )
    key = live.request("POST", "/v1/admin/partners", live.operator_key, {"name": "Till"}).json()["api_key"]
    client = LoyaltyClient(api_key=key, base_url=live.url)  # backoff_max: 8 s
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the server's clock moves as the till waits
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    client._requestor._sleep = sleep
    assert client.partners.me()["name"] == "Till"
    assert client.partners.me()["name"] == "Till"  # 429, Retry-After: 2, then the retry
    assert slept == [2.0]
    with pytest.raises(errors.NotFound):
        client.customers.lookup(phone="+79161234567")
    clock.advance(timedelta(seconds=2))
    slept.clear()
    with pytest.raises(errors.RateLimited) as caught:  # an hour is longer than a till waits: raised at once
        client.customers.lookup(phone="+79161234567")
    assert slept == [] and caught.value.retry_after is not None and 3590 <= caught.value.retry_after <= 3600


# --- the customer flows call them (over HTTP) -----------------------------------------------------------------------


def test_a_phone_gets_five_sign_in_codes_an_hour_then_a_429_page(api, clock):
    from tests.conftest import inbox
    from tests.test_customer_reach import Customer

    cafe = api.as_key(api.post("/v1/admin/partners", {"name": "Уют"})["api_key"])
    enrol(cafe, phone="+79161234567", name="Анна")
    browser = Customer(api.http)
    for _ in range(5):
        form = browser.forms(browser.page("/me/sign-in"))["/me/sign-in"]
        assert browser.submit("/me/sign-in", {**form, "identifier": "+79161234567"}).status_code == 200
    form = browser.forms(browser.page("/me/sign-in"))["/me/sign-in"]
    refused = browser.submit("/me/sign-in", {**form, "identifier": "8 916 123-45-67"})  # the same phone
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "720"
    assert len(inbox("sign_in")) == 5
    stranger = browser.submit("/me/sign-in", {**form, "identifier": "+79990000000"})  # nobody's: same answer
    assert stranger.status_code == 200  # (the IP still has room: 20 at once)
    clock.advance(timedelta(minutes=12))
    form = browser.forms(browser.page("/me/sign-in"))["/me/sign-in"]
    assert browser.submit("/me/sign-in", {**form, "identifier": "+79161234567"}).status_code == 200
    assert len(inbox("sign_in")) == 6


def test_typed_codes_are_limited_per_phone_on_top_of_each_codes_own_tries(api, clock):
    from tests.test_customer_reach import Customer

    cafe = api.as_key(api.post("/v1/admin/partners", {"name": "Уют"})["api_key"])
    enrol(cafe, phone="+79161234567", name="Анна")
    browser = Customer(api.http)
    statuses: list[int] = []
    step: dict[str, str] = {}
    for _ in range(4):  # each sign-in: a new code, then three wrong tries (each code allows five)
        form = browser.forms(browser.page("/me/sign-in"))["/me/sign-in"]
        page = browser.submit("/me/sign-in", {**form, "identifier": "+79161234567"})
        for _ in range(3):  # the code page again after a wrong code (the 429 page has no form: the last one)
            step = browser.forms(page.body.decode()).get("/me/sign-in/code", step)
            page = browser.submit("/me/sign-in/code", {**step, "code": "000000"})
            statuses.append(page.status_code)
    assert statuses == [403] * 10 + [429, 429]  # 10 typed codes an hour per phone, whatever code they were for
    assert page.headers["Retry-After"] == "360"


def test_a_till_may_send_a_customer_five_spend_codes_then_429(coalition, clock):
    cid = enrol(coalition.cafe, phone="+79161234567", name="Анна")
    for _ in range(5):
        assert coalition.store.post(f"/v1/customers/{cid}/spend-code").status == 202
    assert_limited(coalition.store.post(f"/v1/customers/{cid}/spend-code"), 360)
    assert_limited(coalition.store.post(f"/v1/customers/{cid}/portal-link", {}), 360)  # messages from one partner
    other = enrol(coalition.cafe, phone="+79161234568", name="Борис")
    assert coalition.store.post(f"/v1/customers/{other}/spend-code").status == 202


def test_one_partners_links_never_use_up_another_partners_spend_codes(coalition, clock):
    """Five portal links from one partner used to exhaust the customer's messages: the honest till's spend code was
    then 429 for six minutes. Each partner has its own bucket per customer."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567", name="Анна")
    for _ in range(5):
        assert c.salon.post(f"/v1/customers/{cid}/portal-link", {}).status == 202
    assert_limited(c.salon.post(f"/v1/customers/{cid}/portal-link", {}), 360)  # its own bucket is empty
    assert_limited(c.salon.post(f"/v1/customers/{cid}/spend-code"), 360)
    assert c.store.post(f"/v1/customers/{cid}/spend-code").status == 202  # the honest till is not locked out
    assert c.cafe.post(f"/v1/customers/{cid}/portal-link", {}).status == 202


def test_many_partners_together_stay_under_the_customers_ceiling(api, clock):
    """Per partner 5 at once; per customer, from all partners together, 15 at once (then 30 an hour)."""
    cafe = api.as_key(api.post("/v1/admin/partners", {"name": "Уют"})["api_key"])
    cid = enrol(cafe, phone="+79161234567", name="Анна")
    partners = [api.as_key(api.post("/v1/admin/partners", {"name": f"P{i}"})["api_key"]) for i in range(4)]
    answers = [p.post(f"/v1/customers/{cid}/portal-link", {}).status for p in partners for _ in range(4)]
    assert answers == [202] * 15 + [429]
    assert_limited(partners[3].post(f"/v1/customers/{cid}/spend-code"), 120)  # the ceiling: one per 2 minutes
    assert_limited(cafe.post(f"/v1/customers/{cid}/spend-code"), 120)  # a fresh partner too
    clock.advance(timedelta(minutes=2))
    assert cafe.post(f"/v1/customers/{cid}/spend-code").status == 202


def test_a_cold_instance_gives_no_credit_on_an_empty_bucket(coalition, clock):
    """Credit is for a bucket that has a token: a new instance cannot be used to get past a spent burst."""
    use_limits(clock)
    for _ in range(20):
        assert coalition.cafe.get("/v1/partner").status == 200
    use_limits(clock)  # another instance: empty caches and leases, the same table
    assert_limited(coalition.cafe.get("/v1/partner"), 1)
    use_limits(clock)
    cid = enrol(coalition.store, phone="+79161230099")
    use_limits(clock)
    assert_limited(coalition.cafe.get(f"/v1/customers/{cid}/balance"), 1)
