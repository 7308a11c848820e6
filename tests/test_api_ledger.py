"""Customers, accruals, redemptions, refunds: the contract's arithmetic over the API."""

import pytest

from tests.conftest import last_code


def enrol(client, **ident):
    r = client.post("/v1/customers", ident)
    assert r.status in (200, 201), r.json
    return r["customer_id"]


def accrue(client, cid, order_id, amount, headers=None, **extra):
    body = {"customer_id": cid, "order_id": order_id, "amount_minor": amount, **extra}
    return client.post("/v1/accruals", body, headers=headers)


def redeem(client, cid, order_id, order_amount, points, headers=None, **extra):
    body = {"customer_id": cid, "order_id": order_id, "order_amount_minor": order_amount, "points": points, **extra}
    return client.post("/v1/redemptions", body, headers=headers)


def refund(client, order_id, refund_id, amount):
    return client.post("/v1/refunds", {"order_id": order_id, "refund_id": refund_id, "amount_minor": amount})


class TestCustomers:
    def test_phone_spellings_are_one_customer(self, coalition):
        c = coalition
        first = c.cafe.post("/v1/customers", {"phone": "+7 916 123-45-67", "name": "Анна"})
        again = c.store.post("/v1/customers", {"phone": "89161234567"})
        assert (first.status, again.status) == (201, 200)
        assert first["customer_id"] == again["customer_id"] and again["created"] is False
        found = c.salon.get("/v1/customers/lookup?phone=8%20916%20123%2045%2067")
        assert found.status == 200 and found["customer_id"] == first["customer_id"]

    def test_a_card_is_attached_to_a_known_phone(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        # attaching waits for the code sent to the phone the customer already has
        pending = c.store.post("/v1/customers", {"phone": "+79161234567", "card": "CARD-0001"})
        assert (
            pending.status == 202
            and pending["customer_id"] == cid
            and pending["confirmation"]["identifiers"] == ["card"]
        )
        assert c.salon.get("/v1/customers/lookup?card=card0001").status == 404
        code = last_code("bind_code", "+79161234567")
        confirmed = c.store.post(f"/v1/customers/{cid}/identifiers/confirm", {"code": code})
        assert confirmed.status == 200 and confirmed.json == {"customer_id": cid, "attached": ["card"]}
        assert c.salon.get("/v1/customers/lookup?card=card0001")["customer_id"] == cid

    def test_phone_and_card_of_two_customers_conflict(self, coalition):
        c = coalition
        enrol(c.cafe, phone="+79161234567")
        enrol(c.cafe, card="CARD0002")
        r = c.cafe.post("/v1/customers", {"phone": "+79161234567", "card": "CARD0002"})
        assert r.status == 409 and r["code"] == "identity_conflict"

    def test_enrolment_needs_an_identifier_and_a_valid_phone(self, coalition):
        r = coalition.cafe.post("/v1/customers", {"name": "X"})
        assert r.status == 422
        r = coalition.cafe.post("/v1/customers", {"phone": "12"})
        assert r.status == 422 and r["errors"][0]["loc"] == ["body", "phone"]

    def test_unknown_lookup_is_404(self, coalition):
        r = coalition.cafe.get("/v1/customers/lookup?phone=+79990000000")
        assert r.status == 404 and r["code"] == "not_found"
        assert coalition.cafe.get("/v1/customers/cus_0000000000000000/balance").status == 404


class TestAccrualsAndRedemptions:
    def test_earn_at_cafe_spend_at_store(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        r = accrue(c.cafe, cid, "A-1", 150_000)
        assert r.status == 201
        assert (r["points"], r["bonus_points"], r["awards"], r["status"]) == (75, 0, [], "available")
        assert r["balance"] == {"available": 75, "pending": 0, "held": 0}
        q = c.store.post("/v1/redemptions/quote", {"customer_id": cid, "order_amount_minor": 10_000})
        # store caps at 50 % of 100 RUB = 50 points
        assert q.json == {"available": 75, "max_points": 50, "max_discount_minor": 5_000}
        r = redeem(c.store, cid, "S-1", 10_000, 50)
        assert r.status == 201
        assert (r["points"], r["discount_minor"], r["status"]) == (50, 5_000, "captured")
        assert r["balance"]["available"] == 25
        balance = c.salon.get(f"/v1/customers/{cid}/balance")
        assert balance["available"] == 25 and balance["expiring"] == [{"points": 25, "expires_on": "2027-03-31"}]

    def test_cap_is_enforced_with_max_points(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 1_000_000)  # 500 points
        r = redeem(c.store, cid, "S-1", 10_000, 51)
        assert r.status == 422 and r["code"] == "redemption_cap_exceeded" and r["max_points"] == 50
        assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 500

    def test_no_overdraft(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 20_000)  # 10 points
        r = redeem(c.store, cid, "S-1", 100_000, 11)
        assert r.status == 422 and r["code"] == "insufficient_points"
        assert redeem(c.store, cid, "S-2", 100_000, 10).status == 201
        assert c.store.get(f"/v1/customers/{cid}/balance")["available"] == 0

    def test_unknown_customer(self, coalition):
        r = accrue(coalition.cafe, "cus_0000000000000000", "A-1", 100)
        assert r.status == 404 and r["code"] == "not_found"

    def test_spending_takes_earliest_expiring_points_first(self, coalition, clock):
        from datetime import timedelta

        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 20_000)  # 10 points, expire 2027-03
        clock.advance(timedelta(days=40))
        accrue(c.salon, cid, "B-1", 10_000)  # 10 points, expire 2027-04
        redeem(c.store, cid, "S-1", 100_000, 15)
        expiring = c.store.get(f"/v1/customers/{cid}/balance")["expiring"]
        assert expiring == [{"points": 5, "expires_on": "2027-04-30"}]

    def test_redemption_records_the_issuers_it_used(self, coalition, clock):
        from datetime import timedelta

        from chalicelib import db

        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 20_000)
        clock.advance(timedelta(days=31))
        accrue(c.salon, cid, "B-1", 10_000)
        redeem(c.store, cid, "S-1", 100_000, 15)
        entry = next(e for e in db.EntryItem.scan() if e.type == "redemption")
        lots = {k.split("|")[1]: -int(v) for k, v in entry.lots.as_dict().items()}
        assert lots == {c.ids["cafe"]: 10, c.ids["salon"]: 5}


class TestRefunds:
    def test_partial_refunds_reverse_pro_rata_and_add_up(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 150_000)  # 75 points
        results = [refund(c.cafe, "A-1", f"R-{i}", 50_000) for i in range(3)]
        assert [r["points_reversed"] for r in results] == [25, 25, 25]
        assert sum(r["points_reversed"] for r in results) == 75
        assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 0
        over = refund(c.cafe, "A-1", "R-9", 1)
        assert over.status == 422 and over["code"] == "refund_exceeds_order"

    def test_uneven_thirds_still_reverse_exactly_what_was_earned(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 20_000)  # 10 points
        reversed_ = [refund(c.cafe, "A-1", f"R-{i}", a)["points_reversed"] for i, a in enumerate((6_667, 6_667, 6_666))]
        assert reversed_ == [3, 3, 4]

    def test_spent_points_become_a_shortfall_for_the_till(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 150_000)  # 75
        redeem(c.store, cid, "S-1", 200_000, 60)
        r = refund(c.cafe, "A-1", "R-1", 150_000)
        assert (r["points_reversed"], r["points_shortfall"], r["shortfall_minor"]) == (75, 60, 6_000)
        assert r["balance"]["available"] == 0

    def test_refund_returns_spent_points_to_their_lots(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
        redeem(c.store, cid, "S-1", 100_000, 40)
        # An order has one amount: the accrual names the receipt's 1000 RUB too, and earns 3 % of the 960 RUB paid
        # in money: 28 points
        assert accrue(c.store, cid, "S-1", 100_000)["points"] == 28
        r = refund(c.store, "S-1", "SR-1", 50_000)  # half of the 1000 RUB order
        assert (r["points_returned"], r["points_reversed"], r["points_shortfall"]) == (20, 14, 0)
        r = refund(c.store, "S-1", "SR-2", 50_000)
        assert (r["points_returned"], r["points_reversed"]) == (20, 14)
        assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 100

    def test_unknown_order_and_other_partners_orders(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 150_000)
        r = refund(c.cafe, "NOPE", "R-1", 100)
        assert r.status == 404 and r["code"] == "order_not_found"
        r = refund(c.store, "A-1", "R-1", 100)  # the café's order, seen from the store
        assert r.status == 404 and r["code"] == "order_not_found"


class TestReplays:
    def test_same_order_id_same_body_replays_identically(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        first = accrue(c.cafe, cid, "A-1", 150_000)
        second = accrue(c.cafe, cid, "A-1", 150_000)
        assert (first.status, second.status) == (201, 201) and first.raw == second.raw
        assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 75

    def test_same_order_id_different_body_is_duplicate_order(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 150_000)
        r = accrue(c.cafe, cid, "A-1", 150_001)
        assert r.status == 409 and r["code"] == "duplicate_order"

    def test_same_order_id_at_another_partner_is_another_order(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 150_000)
        assert accrue(c.store, cid, "A-1", 150_000)["points"] == 45

    def test_idempotency_key_replays_forever_and_rejects_other_bodies(self, coalition, clock):
        from datetime import timedelta

        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)
        h = {"Idempotency-Key": "till-7-receipt-991"}
        first = redeem(c.cafe, cid, "R-1", 100_000, 30, headers=h)
        clock.advance(timedelta(days=200))  # far beyond DynamoDB's 10-minute token window, points not yet expired
        second = redeem(c.cafe, cid, "R-1", 100_000, 30, headers=h)
        assert second.status == 201 and second.raw == first.raw
        other = redeem(c.cafe, cid, "R-2", 100_000, 30, headers=h)
        assert other.status == 409 and other["code"] == "idempotency_key_reused"
        assert c.cafe.get(f"/v1/customers/{cid}/balance")["available"] == 70

    def test_replay_wins_even_when_the_balance_no_longer_allows_it(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 20_000)  # 10
        first = redeem(c.store, cid, "S-1", 100_000, 10)
        again = redeem(c.store, cid, "S-1", 100_000, 10)
        assert again.status == 201 and again.raw == first.raw

    def test_refund_id_is_unique_within_the_partner(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 100_000)
        accrue(c.cafe, cid, "A-2", 100_000)
        first = refund(c.cafe, "A-1", "R-1", 10_000)
        assert refund(c.cafe, "A-1", "R-1", 10_000).raw == first.raw
        r = refund(c.cafe, "A-2", "R-1", 10_000)
        assert r.status == 409 and r["code"] == "duplicate_refund"

    def test_idempotency_keys_are_scoped_to_the_api_key(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        h = {"Idempotency-Key": "k-1"}
        assert accrue(c.cafe, cid, "A-1", 10_000, headers=h).status == 201
        r = accrue(c.store, cid, "B-1", 10_000, headers=h)
        assert r.status == 201 and r["order_id"] == "B-1"


class TestTransactions:
    def test_partner_sees_only_its_own_entries_newest_first_with_pages(self, coalition, clock):
        from datetime import timedelta

        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        for i in range(5):
            accrue(c.cafe, cid, f"A-{i}", 10_000 * (i + 1))
            clock.advance(timedelta(minutes=1))
        accrue(c.store, cid, "S-1", 100_000)
        seen, cursor = [], None
        while True:
            page = c.cafe.get(f"/v1/customers/{cid}/transactions?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            assert page.status == 200
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [e["order_id"] for e in seen] == ["A-4", "A-3", "A-2", "A-1", "A-0"]
        assert {e["partner_id"] for e in seen} == {c.ids["cafe"]}
        store_view = c.store.get(f"/v1/customers/{cid}/transactions")["items"]
        assert [e["order_id"] for e in store_view] == ["S-1"]

    @pytest.mark.parametrize("cursor", ["garbage", "RSNF", "!!"])
    def test_forged_cursor_is_a_validation_error(self, coalition, cursor):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        r = c.cafe.get(f"/v1/customers/{cid}/transactions?cursor={cursor}")
        assert r.status == 422
