"""The SDK against the real app over HTTP (moto behind it), used as a partner's developer would."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from partner_sdk import LoyaltyClient, __version__, errors
from tests.conftest import TRUSTED, inbox, last_code, last_link


class LoseResponses(httpx.BaseTransport):
    """Forwards each request to the server, then pretends the response never arrived (``lose`` times)."""

    def __init__(self, lose: int, status: int | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose = lose
        self.status = status
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = self.inner.handle_request(request)
        if self.lose > 0:
            self.lose -= 1
            response.read()
            if self.status is not None:
                return httpx.Response(
                    self.status, headers={"Retry-After": "0"}, json={"code": "temporarily_unavailable"}
                )
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


@pytest.fixture
def partners(live):
    """Уют has card scanners the operator trusts (spends without a code); Стиль spends only with the customer's code,
    the default."""
    op = LoyaltyClient(api_key=live.operator_key, base_url=live.url)
    created = {}
    for name, policy in (("Уют", TRUSTED), ("Стиль", {})):
        created[name] = op._requestor.request("POST", "/v1/admin/partners", json={"name": name, **policy})
    return {
        name: LoyaltyClient(api_key=p["api_key"], base_url=live.url, backoff_base=0.001) for name, p in created.items()
    }


def test_every_method_of_the_contract(partners, live, clock):
    cafe, store = partners["Уют"], partners["Стиль"]
    c = cafe.customers.enroll(phone="+7 916 123-45-67", name="Анна")
    assert c.created is True
    assert cafe.customers.lookup(phone="+79161234567").customer_id == c.customer_id
    accrual = cafe.accruals.create(customer_id=c.customer_id, order_id="R-1", amount_minor=150_000)
    assert (accrual.points, accrual.status, accrual.balance.available) == (75, "available", 75)
    bonus = cafe.bonuses.create(customer_id=c.customer_id, bonus_id="rev-9", reason="review", points=50)
    assert bonus.balance.available == 125
    balance = store.customers.balance(c.customer_id)
    assert (balance.available, balance.tier.name) == (125, "bronze")
    quote = store.redemptions.quote(customer_id=c.customer_id, order_amount_minor=10_000)  # free: no code
    assert quote.max_points == 50
    sent = store.customers.spend_code(c.customer_id)  # the customer reads it out at the till
    assert (sent.channel, sent.destination) == ("sms", "+7 916 ***-**-67") and sent.expires_at
    held = store.redemptions.create(
        customer_id=c.customer_id,
        order_id="S-1",
        order_amount_minor=10_000,
        points=40,
        capture=False,
        customer_code=last_code("spend_code"),
    )
    assert held.status == "held"
    assert store.redemptions.capture(held.redemption_id, points=30).points == 30  # the hold was confirmed
    store.customers.spend_code(c.customer_id)
    other = store.redemptions.create(
        customer_id=c.customer_id,
        order_id="S-2",
        order_amount_minor=10_000,
        points=5,
        capture=False,
        customer_code=last_code("spend_code"),
    )
    assert store.redemptions.void(other.redemption_id).status == "voided"
    refund = cafe.refunds.create(order_id="R-1", refund_id="RF-1", amount_minor=150_000)
    assert (refund.points_reversed, refund.points_shortfall) == (75, 0)
    for i in range(5):
        cafe.accruals.create(customer_id=c.customer_id, order_id=f"P-{i}", amount_minor=10_000)
    history = list(cafe.customers.transactions(c.customer_id, page_size=2))
    assert [e.order_id for e in history[:5]] == ["P-4", "P-3", "P-2", "P-1", "P-0"]
    assert len(history) == 8  # 5 purchases, the bonus, the refund, R-1
    link = cafe.customers.portal_link(c.customer_id, ttl_minutes=30)
    assert (link.channel, link.destination) == ("sms", "+7 916 ***-**-67")  # the link went to the customer
    assert "/me?token=" in last_link("+79161234567") and "url" not in link.model_dump()
    pending = store.customers.enroll(phone="+79161234567", card="STIL-0001")
    assert pending.confirmation is not None and pending.confirmation.identifiers == ["card"]
    bound = store.customers.confirm_identifiers(c.customer_id, last_code("bind_code"))
    assert bound.attached == ["card"] and store.customers.lookup(card="STIL-0001").customer_id == c.customer_id

    camp = cafe.campaigns.create(
        name="Из Стиля в Уют",
        earn_at=[cafe.partners.me()["partner_id"]],
        audience={"purchased_at": store.partners.me()["partner_id"], "within_days": 30},
        reward={"type": "fixed", "points": 100},
        budget_points=1000,
    )
    assert camp.status == "pending_acceptance"
    with pytest.raises(errors.CampaignNotAccepted) as blocked:
        cafe.campaigns.activate(camp.campaign_id)
    assert blocked.value.status == 409 and blocked.value.code == "campaign_not_accepted"
    assert store.campaigns.accept(camp.campaign_id).awaiting_acceptance == []
    assert cafe.campaigns.activate(camp.campaign_id).status == "active"
    assert [x.campaign_id for x in store.campaigns.list()] == [camp.campaign_id]
    assert cafe.campaigns.get(camp.campaign_id).name == "Из Стиля в Уют"
    store.accruals.create(customer_id=c.customer_id, order_id="S-9", amount_minor=10_000)  # a store customer now
    assert cafe.accruals.create(customer_id=c.customer_id, order_id="C-9", amount_minor=10_000).bonus_points == 100
    assert cafe.campaigns.report(camp.campaign_id).points_awarded == 100
    assert cafe.campaigns.pause(camp.campaign_id).status == "paused"
    assert cafe.campaigns.end(camp.campaign_id).status == "ended"
    period = clock.now().strftime("%Y-%m")
    statement = cafe.settlements.get(period)
    assert statement.promo_points_funded == 100 and statement.period == period
    text = cafe.settlements.csv(period)
    assert text.startswith("\ufeff") and "Уют" in text
    flows = cafe.settlements.csv(period, table="flows", headers="fields")
    assert flows.splitlines()[0].lstrip("\ufeff") != text.splitlines()[0].lstrip("\ufeff")
    russian = cafe.settlements.csv(period, language="ru")
    assert "Партнёр" in russian.splitlines()[0] and "Partner" in text.splitlines()[0] and "Уют" in russian
    assert {p.name for p in cafe.partners.directory()} == {"Уют", "Стиль"}
    assert (statement.paid_minor, statement.open_minor) == (0, statement.net_amount_minor)
    op = LoyaltyClient(api_key=live.operator_key, base_url=live.url)
    paid = {"partner_id": statement.partner_id, "amount_minor": -500, "paid_on": f"{period}-01", "reference": "PP-1"}
    op._requestor.request("POST", f"/v1/admin/settlements/{period}/payments", json=paid)
    again = cafe.settlements.get(period)
    assert (again.paid_minor, again.open_minor) == (-500, again.net_amount_minor + 500)
    assert [p.reference for p in cafe.settlements.payments(period)] == ["PP-1"]
    log = list(cafe.audit.list(page_size=2))
    assert [e.action for e in log][:3] == ["payment.recorded", "campaign.ended", "campaign.paused"]
    assert all(e.partner_id == statement.partner_id for e in log)
    assert [e.action for e in cafe.audit.list(action="campaign.created")] == ["campaign.created"]


def test_the_cashier_example_spends_and_earns_on_one_receipt(partners, live):
    """docs/sdk.md's cashier: quote, hold with the customer's code, capture, then the accrual on the same order with
    the receipt total earns on the part paid in money; a refund of half the receipt takes back half of each."""
    cafe, store = partners["Уют"], partners["Стиль"]
    c = cafe.customers.enroll(phone="+7 916 123-45-67")
    cafe.accruals.create(customer_id=c.customer_id, order_id="U-1", amount_minor=400_000)  # 200 points
    q = store.redemptions.quote(customer_id=c.customer_id, order_amount_minor=250_000)
    assert (q.max_points, q.max_discount_minor) == (200, 20_000)
    store.customers.spend_code(c.customer_id)
    hold = store.redemptions.create(
        customer_id=c.customer_id,
        order_id="TILL7-000123",
        order_amount_minor=250_000,
        points=q.max_points,
        capture=False,
        hold_minutes=15,
        customer_code=last_code("spend_code"),
    )
    store.redemptions.capture(hold.redemption_id)
    with pytest.raises(errors.Conflict) as refused:  # the old example: the receipt less the discount
        store.accruals.create(customer_id=c.customer_id, order_id="TILL7-000123", amount_minor=250_000 - 20_000)
    assert refused.value.code == "order_conflict"
    a = store.accruals.create(customer_id=c.customer_id, order_id="TILL7-000123", amount_minor=250_000)
    assert (a.points, a.amount_minor, a.balance.available) == (115, 250_000, 115)  # 5 % of 2 300 roubles
    r = store.refunds.create(order_id="TILL7-000123", refund_id="TILL7-000123-R1", amount_minor=125_000)
    assert (r.points_reversed, r.points_returned) == (57, 100)
    r = store.refunds.create(order_id="TILL7-000123", refund_id="TILL7-000123-R2", amount_minor=125_000)
    assert (r.points_reversed, r.points_returned) == (58, 100)
    assert store.customers.balance(c.customer_id).available == 200


def test_errors_arrive_as_the_right_classes(partners, live):
    cafe = partners["Уют"]
    c = cafe.customers.enroll(phone="+79161234567")
    cafe.accruals.create(customer_id=c.customer_id, order_id="R-1", amount_minor=20_000)
    with pytest.raises(errors.InsufficientPoints) as e:
        cafe.redemptions.create(customer_id=c.customer_id, order_id="X", order_amount_minor=1_000_000, points=11)
    assert (e.value.status, e.value.code) == (422, "insufficient_points") and e.value.request_id
    with pytest.raises(errors.RedemptionCapExceeded) as cap:
        cafe.redemptions.create(customer_id=c.customer_id, order_id="Y", order_amount_minor=1_000, points=10)
    assert cap.value.max_points == 5
    with pytest.raises(errors.NotFound):
        cafe.customers.lookup(phone="+79990000000")
    with pytest.raises(errors.OrderNotFound):
        cafe.refunds.create(order_id="nope", refund_id="r", amount_minor=1)
    with pytest.raises(errors.DuplicateId):
        cafe.accruals.create(customer_id=c.customer_id, order_id="R-1", amount_minor=1)
    with pytest.raises(errors.IdempotencyKeyReused):
        cafe.accruals.create(customer_id=c.customer_id, order_id="R-2", amount_minor=1, idempotency_key="k")
        cafe.accruals.create(customer_id=c.customer_id, order_id="R-3", amount_minor=1, idempotency_key="k")
    with pytest.raises(errors.ValidationError) as invalid:
        cafe.accruals.create(customer_id=c.customer_id, order_id="R-4", amount_minor=-1)
    assert invalid.value.errors[0]["loc"] == ["body", "amount_minor"]
    with pytest.raises(errors.AuthenticationError):
        LoyaltyClient(api_key="lk_wrong", base_url=live.url).customers.balance(c.customer_id)
    with pytest.raises(errors.LoyaltyError):  # every error shares the base class
        cafe.settlements.get("2026-13")


def test_the_customers_code_errors_arrive_as_the_right_classes(partners, live):
    cafe, store = partners["Уют"], partners["Стиль"]
    c = cafe.customers.enroll(phone="+79161234567")
    cafe.accruals.create(customer_id=c.customer_id, order_id="R-1", amount_minor=200_000)
    spend = {"customer_id": c.customer_id, "order_id": "S-1", "order_amount_minor": 100_000, "points": 10}
    with pytest.raises(errors.CustomerConfirmationRequired) as required:
        store.redemptions.create(**spend)
    assert (required.value.status, required.value.code) == (403, "customer_confirmation_required")
    sent = store.customers.spend_code(c.customer_id, points=5)
    assert sent.points == 5 and "5 баллов" in inbox("spend_code")[0].text
    with pytest.raises(errors.CustomerCodeInvalid) as too_much:
        store.redemptions.create(**spend, customer_code=last_code("spend_code"))  # 10 points > 5
    assert too_much.value.confirmed_points == 5
    assert store.customers.spend_code(c.customer_id).points == 100  # without points: what she has
    wrong = "000000" if last_code("spend_code") != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(errors.CustomerCodeInvalid) as invalid:
            store.redemptions.create(**spend, customer_code=wrong)
        assert invalid.value.confirmed_points is None
    sleeps: list[float] = []
    store._requestor._sleep = sleeps.append
    with pytest.raises(errors.CustomerCodeLocked) as locked:  # the fifth wrong code locks
        store.redemptions.create(**spend, customer_code=wrong)
    with pytest.raises(errors.CustomerCodeLocked) as locked:
        store.redemptions.create(**spend, customer_code=last_code("spend_code"))
    assert locked.value.status == 429 and sleeps == []  # not retried: waiting cannot help
    card_only = cafe.customers.enroll(card="CARD-ONLY-1")
    with pytest.raises(errors.CustomerUnreachable):
        store.customers.spend_code(card_only.customer_id)


def test_a_lost_response_is_retried_to_exactly_one_accrual_and_one_redemption(partners, live):
    cafe = partners["Уют"]
    c = cafe.customers.enroll(phone="+79161234567")
    key = cafe._requestor._http.headers["Authorization"].split()[1]
    lossy = LoseResponses(lose=2)
    flaky = LoyaltyClient(api_key=key, base_url=live.url, transport=lossy, backoff_base=0.001)
    accrual = flaky.accruals.create(customer_id=c.customer_id, order_id="R-1", amount_minor=200_000)
    assert accrual.points == 100 and len(lossy.sent) == 3
    assert len({r.headers["Idempotency-Key"] for r in lossy.sent}) == 1  # one key for all attempts
    lossy.lose, lossy.sent = 2, []
    spent = flaky.redemptions.create(customer_id=c.customer_id, order_id="S-1", order_amount_minor=100_000, points=30)
    assert spent.points == 30 and len(lossy.sent) == 3
    kinds = [e.type for e in cafe.customers.transactions(c.customer_id)]
    assert sorted(kinds) == ["accrual", "redemption"]
    assert cafe.customers.balance(c.customer_id).available == 70


def test_503_with_retry_after_is_retried_and_gives_up_after_max_retries(partners, live):
    cafe = partners["Уют"]
    key = cafe._requestor._http.headers["Authorization"].split()[1]
    busy = LoseResponses(lose=2, status=503)
    sleeps: list[float] = []
    client = LoyaltyClient(api_key=key, base_url=live.url, transport=busy)
    client._requestor._sleep = sleeps.append
    assert client.customers.enroll(phone="+79161234567").created is True
    assert sleeps == [0.0, 0.0]  # honoured Retry-After: 0
    always = LoseResponses(lose=99, status=503)
    stubborn = LoyaltyClient(api_key=key, base_url=live.url, transport=always, max_retries=2, backoff_base=0.001)
    with pytest.raises(errors.ServerError) as gave_up:
        stubborn.customers.enroll(phone="+79161234568")
    assert gave_up.value.status == 503 and len(always.sent) == 3


def test_timeouts_and_unreachable_servers_are_connection_errors():
    client = LoyaltyClient(api_key="k", base_url="http://127.0.0.1:9", max_retries=1, backoff_base=0.001)
    with pytest.raises(errors.APIConnectionError):
        client.customers.balance("cus_x")


def test_user_agent_names_the_sdk(partners):
    assert partners["Уют"]._requestor._http.headers["User-Agent"].startswith(f"coalition-loyalty-python/{__version__}")


def test_the_sdk_installs_on_its_own_and_imports_nothing_from_the_server(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(Path(__file__).parent.parent / "partner_sdk"),
        ],
        check=True,
    )
    probe = (
        "import sys; sys.path = [p for p in sys.path if p not in ('', '.')]; import partner_sdk, "
        "partner_sdk.errors; print(partner_sdk.__file__); print(sorted(m for m in sys.modules if "
        "m.startswith(('chalicelib', 'chalice', 'pynamodb', 'boto'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert out[0].startswith(str(target)) and out[1] == "[]"
