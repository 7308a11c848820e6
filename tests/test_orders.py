"""The order as one record (one customer, one amount, a state), refunds that meet holds, money that
follows the points on a refund, and holds whose expiry is a fact of their deadline. Over HTTP."""

from datetime import timedelta

import pytest

from chalicelib.domain.orders import Grant, Order, Spent, refund_shares
from tests.test_api_ledger import accrue, enrol, redeem, refund


def balance(client, cid):
    return client.get(f"/v1/customers/{cid}/balance").json


def identity_holds(c, period="2026-03"):
    report = c.operator.get(f"/v1/admin/settlements/{period}")
    assert report.status == 200, report.json
    assert report["identity"]["result"] == 0, report["identity"]
    recon = c.operator.get(f"/v1/admin/settlements/{period}/reconciliation")
    assert recon.status == 200 and recon["matches"], recon.json
    return {p["partner_id"]: p for p in report["partners"]}


class TestRefundMeetsHold:
    def test_full_refund_of_a_held_order_releases_the_hold_and_a_later_capture_takes_nothing(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
        held = redeem(c.store, cid, "S-1", 100_000, 40, capture=False)
        assert held.status == 201 and held["status"] == "held"
        r = refund(c.store, "S-1", "SR-1", 100_000)
        assert r.status == 201 and r["points_returned"] == 40
        assert (r["balance"]["available"], r["balance"]["held"]) == (100, 0)
        late = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture", {})
        assert late.status == 409 and late["code"] == "hold_already_resolved"
        assert (balance(c.cafe, cid)["available"], balance(c.cafe, cid)["held"]) == (100, 0)
        store = identity_holds(c)[c.ids["store"]]
        assert store["accepted_points"] - store["accepted_refunded_points"] == 0

    def test_partial_refund_shrinks_the_hold_and_the_capture_keeps_the_rest(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
        held = redeem(c.store, cid, "S-1", 100_000, 40, capture=False)
        r = refund(c.store, "S-1", "SR-1", 25_000)  # a quarter of the order: a quarter of the 40 points
        assert r["points_returned"] == 10 and (r["balance"]["available"], r["balance"]["held"]) == (70, 30)
        captured = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture", {})
        assert captured.status == 200 and captured["points"] == 30
        assert (captured["balance"]["available"], captured["balance"]["held"]) == (70, 0)
        assert refund(c.store, "S-1", "SR-2", 75_000)["points_returned"] == 30  # the rest of the order
        assert balance(c.cafe, cid)["available"] == 100
        store = identity_holds(c)[c.ids["store"]]
        assert (store["accepted_points"], store["accepted_refunded_points"]) == (30, 30)

    def test_capture_of_less_than_the_rest_then_full_refund_returns_exactly_what_was_kept(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)
        held = redeem(c.store, cid, "S-1", 100_000, 40, capture=False)
        refund(c.store, "S-1", "SR-1", 50_000)  # 20 back, 20 still held
        captured = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture", {"points": 5})
        assert captured.status == 200 and captured["balance"]["available"] == 95
        r = refund(c.store, "S-1", "SR-2", 50_000)
        assert r["points_returned"] == 5 and r["balance"]["available"] == 100
        identity_holds(c)

    def test_void_after_a_partial_refund_releases_what_is_left(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)
        held = redeem(c.store, cid, "S-1", 100_000, 40, capture=False)
        refund(c.store, "S-1", "SR-1", 50_000)
        voided = c.store.post(f"/v1/redemptions/{held['redemption_id']}/void")
        assert voided.status == 200 and voided["balance"]["available"] == 100
        assert refund(c.store, "S-1", "SR-2", 50_000)["points_returned"] == 0
        assert balance(c.cafe, cid)["available"] == 100
        identity_holds(c)

    def test_a_refund_after_the_hold_expired_returns_nothing_twice(self, coalition, clock):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)
        redeem(c.store, cid, "S-1", 100_000, 40, capture=False, hold_minutes=5)
        clock.advance(timedelta(minutes=6))
        r = refund(c.store, "S-1", "SR-1", 100_000)
        assert r.status == 201 and r["points_returned"] == 0 and r["balance"]["available"] == 100
        identity_holds(c)


def salon_pays_at_the_cafe(c):
    created = c.salon.post(
        "/v1/campaigns",
        {"name": "Salon pays", "earn_at": [c.ids["cafe"]], "reward": {"type": "fixed", "points": 100}},
    )
    assert created.status == 201, created.json
    sid = created["campaign_id"]
    assert c.cafe.post(f"/v1/campaigns/{sid}/accept").status == 200
    assert c.salon.post(f"/v1/campaigns/{sid}/activate").status == 200
    return sid


class TestMoneyFollowsThePoints:
    def test_spent_campaign_award_on_refund_relieves_the_sponsor_and_charges_the_till(self, coalition, clock):
        """The café's purchase earned 50 base points (café funds) and a 100-point award (salon sponsors); the
        customer spent all 150 at the store; the café refunds the purchase and withholds 150 points of cash."""
        c = coalition
        sid = salon_pays_at_the_cafe(c)
        cid = enrol(c.cafe, phone="+79161234567")
        got = accrue(c.cafe, cid, "C-1", 100_000)
        assert (got["points"], got["bonus_points"]) == (50, 100)
        spent = redeem(c.store, cid, "S-1", 400_000, 150)
        assert spent.status == 201, spent.json
        r = refund(c.cafe, "C-1", "CR-1", 100_000)
        assert (r["points_reversed"], r["points_shortfall"], r["shortfall_minor"]) == (150, 150, 15_000)
        partners = identity_holds(c)
        cafe, salon, store = (partners[c.ids[n]] for n in ("cafe", "salon", "store"))
        assert salon["promo_points_funded"] == 0  # the sponsor pays nothing for an award on a refunded order
        assert cafe["issued_points"] - cafe["issued_reversed_points"] == 150  # the café funds what it withheld
        assert store["accepted_points"] == 150  # the store keeps its reimbursement
        # Each party's money equals the value of the points it funded or accepted; nobody is paid twice.
        assert cafe["net_points"] == -150 and salon["net_points"] == 0 and store["net_points"] == 150
        report = c.cafe.get(f"/v1/campaigns/{sid}/report")
        assert report["points_reversed"] == 100 and report["cost_minor"] == 0

    def test_partly_spent_award_splits_between_sponsor_relief_and_till(self, coalition):
        c = coalition
        salon_pays_at_the_cafe(c)
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "C-1", 100_000)  # 50 + 100
        assert redeem(c.store, cid, "S-1", 400_000, 120).status == 201
        r = refund(c.cafe, "C-1", "CR-1", 100_000)
        assert r["points_reversed"] == 150 and r["points_shortfall"] == 120
        partners = identity_holds(c)
        salon, cafe = partners[c.ids["salon"]], partners[c.ids["cafe"]]
        assert salon["promo_points_funded"] == 0
        # the café withheld 120 points of cash: it funds them; the 30 still in the wallet were taken back
        assert cafe["issued_points"] - cafe["issued_reversed_points"] == 120


class TestOrderValues:
    def test_a_refund_repays_at_the_value_the_order_was_made_at(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "X", 100_000)  # 50 points worth 100 kopecks each
        moved = c.operator.call("PUT", "/v1/admin/program", {"point_value_minor": 200, "effective_from": "2026-03-10"})
        assert moved.status == 200, moved.json
        r = refund(c.cafe, "X", "R-1", 100_000)
        assert r["points_reversed"] == 50 and r["shortfall_minor"] == 0
        cafe = identity_holds(c)[c.ids["cafe"]]
        assert (cafe["net_points"], cafe["net_amount_minor"]) == (0, 0)  # charged 5 000 and repaid 5 000


class TestOneOrder:
    def test_the_amount_is_fixed_by_the_first_operation(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "X", 100_000)  # 50 points
        other = redeem(c.cafe, cid, "X", 200_000, 10)
        assert other.status == 409 and other["code"] == "order_conflict"
        first = refund(c.cafe, "X", "R-1", 50_000)
        assert first.status == 201 and first["points_reversed"] == 25
        over = refund(c.cafe, "X", "R-2", 150_000)
        assert over.status == 422 and over["code"] == "refund_exceeds_order"
        last = refund(c.cafe, "X", "R-3", 50_000)
        assert last.status == 201 and first["points_reversed"] + last["points_reversed"] == 50
        assert balance(c.cafe, cid)["available"] == 0
        identity_holds(c)

    def test_the_same_amount_in_another_operation_joins_the_order(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-0", 200_000)
        assert redeem(c.cafe, cid, "X", 100_000, 20).status == 201
        earned = accrue(c.cafe, cid, "X", 100_000)  # the receipt total; 200 roubles of it were paid in points
        assert earned.status == 201 and earned["points"] == 49  # 5 % of the 980 paid in money
        r = refund(c.cafe, "X", "R-1", 100_000)
        assert (r["points_returned"], r["points_reversed"]) == (20, 49)

    def test_one_order_belongs_to_one_customer(self, coalition):
        c = coalition
        x = enrol(c.cafe, phone="+79161234567")
        y = enrol(c.cafe, phone="+79161234568")
        accrue(c.cafe, y, "A-0", 200_000)
        accrue(c.cafe, x, "X", 100_000)
        other = redeem(c.cafe, y, "X", 100_000, 10)
        assert other.status == 409 and other["code"] == "order_conflict"
        r = refund(c.cafe, "X", "R-1", 100_000)  # the order never became unrefundable
        assert r.status == 201 and r["customer_id"] == x and r["points_reversed"] == 50
        assert balance(c.cafe, y)["available"] == 100

    def test_no_new_operation_on_a_refunded_order(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-0", 200_000)
        redeem(c.cafe, cid, "X", 100_000, 10)
        refund(c.cafe, "X", "R-1", 50_000)
        late = accrue(c.cafe, cid, "X", 100_000)
        assert late.status == 409 and late["code"] == "order_conflict"

    def test_a_repeat_with_another_body_stays_duplicate_order(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "X", 100_000)
        again = accrue(c.cafe, cid, "X", 100_000, channel="online")
        assert again.status == 409 and again["code"] == "duplicate_order"


class TestAReceiptPaidPartlyInPoints:
    """The till names the receipt total in the redemption and in the accrual; the accrual earns on the part paid in
    money: the total less the points the order spends at that moment (held or captured), valued as its redemption
    valued them. The cafe earns 5 %; the receipt is 1 000 roubles and 40 points (40 roubles) are held on it."""

    def _hold(self, c, cid):
        accrue(c.cafe, cid, "A-0", 200_000)  # 100 points
        held = redeem(c.cafe, cid, "X", 100_000, 40, capture=False, hold_minutes=15)
        assert held.status == 201 and held["discount_minor"] == 4_000, held.json
        return held["redemption_id"]

    @pytest.mark.parametrize(
        ("then", "earned"),
        [
            ("nothing", 48),  # the hold is still open: 960 roubles are paid in money
            ("capture", 48),
            ("capture 10", 49),  # 10 points kept: 990 roubles paid in money
            ("void", 50),  # nothing was paid in points
            ("expire", 50),
        ],
    )
    def test_the_accrual_earns_on_what_the_order_spends_at_that_moment(self, coalition, clock, then, earned):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        rid = self._hold(c, cid)
        if then.startswith("capture"):
            kept = {"points": 10} if then == "capture 10" else {}
            assert c.cafe.post(f"/v1/redemptions/{rid}/capture", kept).status == 200
        elif then == "void":
            assert c.cafe.post(f"/v1/redemptions/{rid}/void").status == 200
        elif then == "expire":
            clock.advance(timedelta(minutes=15))  # over at its deadline, before any write released it
        r = accrue(c.cafe, cid, "X", 100_000)
        assert r.status == 201 and (r["points"], r["amount_minor"]) == (earned, 100_000), r.json

    def test_points_spent_are_valued_as_the_redemption_valued_them(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        self._hold(c, cid)
        moved = c.operator.call("PUT", "/v1/admin/program", {"point_value_minor": 200, "effective_from": "2026-03-10"})
        assert moved.status == 200, moved.json
        r = accrue(c.cafe, cid, "X", 100_000)  # 960 roubles paid in money, earning at the new value
        assert r["points"] == 24, r.json  # not 23 (as if the held points had been worth 80 roubles)

    def test_refunds_of_the_receipt_take_back_exactly_what_it_earned_and_give_back_what_it_spent(self, coalition):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        rid = self._hold(c, cid)
        c.cafe.post(f"/v1/redemptions/{rid}/capture", {"points": 10})
        assert accrue(c.cafe, cid, "X", 100_000)["points"] == 49
        first = refund(c.cafe, "X", "R-1", 30_000)  # refunds pro-rate over the receipt total
        assert (first["points_reversed"], first["points_returned"]) == (14, 3), first.json
        last = refund(c.cafe, "X", "R-2", 70_000)
        assert (last["points_reversed"], last["points_returned"]) == (35, 7), last.json
        assert balance(c.cafe, cid)["available"] == 100
        identity_holds(c)


class TestExpiredHolds:
    def test_more_than_ten_expired_holds_all_refuse_capture_and_the_quote_agrees(self, coalition, clock):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)  # 100 points
        partners = (c.store, c.salon, c.cafe)
        holds = []
        for i in range(15):
            r = redeem(partners[i % 3], cid, f"H-{i}", 100_000, 2, capture=False, hold_minutes=1)
            assert r.status == 201, r.json
            holds.append((partners[i % 3], r["redemption_id"]))
        assert balance(c.cafe, cid)["held"] == 30
        clock.advance(timedelta(minutes=2))
        quote = c.store.post("/v1/redemptions/quote", {"customer_id": cid, "order_amount_minor": 1_000_000})
        assert quote["available"] == 100 and quote["max_points"] == 100
        spent = redeem(c.store, cid, "S-1", 1_000_000, quote["max_points"])
        assert spent.status == 201 and spent["balance"] == {"available": 0, "pending": 0, "held": 0}
        for client, rid in holds:
            late = client.post(f"/v1/redemptions/{rid}/capture", {})
            assert late.status == 409 and late["code"] == "hold_expired", late.json
        identity_holds(c)

    def test_a_hold_is_over_at_its_deadline_as_an_instant(self, coalition, clock):
        c = coalition
        cid = enrol(c.cafe, phone="+79161234567")
        accrue(c.cafe, cid, "A-1", 200_000)
        held = redeem(c.store, cid, "S-1", 100_000, 10, capture=False, hold_minutes=3)
        clock.advance(timedelta(minutes=3))
        late = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture", {})
        assert late.status == 409 and late["code"] == "hold_expired"


class TestRefundShares:
    """The pure plan: reversals over all refunds add up exactly, whatever happens to the hold in between."""

    def test_partial_refunds_add_up_to_what_was_earned_and_spent(self):
        grants = (Grant("base", "p", "p", 37, "2027-03|p"), Grant("award", "cmp", "s", 101, "2027-03|s"))
        order = Order("c", 99_999, grants=grants, accrued=True, spent=Spent("captured", 23, {"2027-03|p": 23}))
        reversed_, given = [0, 0], 0
        for amount in (1, 33_333, 7, 66_658):
            shares = refund_shares(order, amount)
            reversed_ = [a + s for a, (_, s) in zip(reversed_, shares.reversals, strict=True)]
            given += shares.give_back
            spent = order.spent
            assert spent is not None
            lots = {"2027-03|p": spent.lots["2027-03|p"] - shares.give_back}
            order = Order(
                "c",
                99_999,
                shares.after_minor,
                grants,
                True,
                Spent("captured", 23, lots, spent.returned + shares.give_back),
            )
        assert reversed_ == [37, 101] and given == 23
