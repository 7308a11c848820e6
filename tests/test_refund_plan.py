"""The refund's reversal plan and the end of a hold, pure: what a refund takes back from the wallet and gives back
to it, and what the order still spends (chalicelib/domain/orders.py, chalicelib/domain/wallet.py)."""

from chalicelib.domain.orders import Grant, Order, Reversal, Spent, plan_refund, refund_shares
from chalicelib.domain.wallet import Change, Hold, Wallet, resolve_hold

EARLY, LATE = "2027-01|p", "2027-06|p"
SPONSOR_LOT = "2027-06|s"
HOLD = "p|o1"
BUCKET = f"2026-03-20T09:00:00+00:00|{LATE}"


def _plan(order, amount, wallet):
    return plan_refund(order, refund_shares(order, amount), wallet, HOLD, "2026-03")


def test_earned_points_come_back_out_of_their_lots_and_the_spend_off_the_month():
    grants = (Grant("base", "p", "p", 100, LATE), Grant("award", "cmp_a", "s", 40, SPONSOR_LOT))
    order = Order("c", 10_000, grants=grants, accrued=True)
    wallet = Wallet(available=140, lots={LATE: 100, SPONSOR_LOT: 40})
    plan = _plan(order, 5_000, wallet)
    assert plan.change.spend == {"2026-03": -5_000}
    assert plan.change.available == -70 and plan.change.lots == {LATE: -50, SPONSOR_LOT: -20}
    assert plan.reversals == (
        Reversal("base", "p", "p", LATE, 50, 50),
        Reversal("award", "cmp_a", "s", SPONSOR_LOT, 20, 20),
    )
    assert (plan.points_reversed, plan.points_taken, plan.points_shortfall) == (70, 70, 0)
    assert plan.given == {} and plan.spent is None and not plan.from_hold


def test_what_the_customer_no_longer_has_is_the_shortfall():
    order = Order("c", 10_000, grants=(Grant("base", "p", "p", 100, LATE),), accrued=True)
    wallet = Wallet(available=30, lots={LATE: 30})  # 70 of the 100 were spent elsewhere
    plan = _plan(order, 10_000, wallet)
    assert plan.change.lots == {LATE: -30} and plan.change.available == -30
    assert (plan.points_reversed, plan.points_taken, plan.points_shortfall) == (100, 30, 70)
    assert plan.reversals[0].to_dict() == {
        "kind": "base",
        "ref": "p",
        "funder": "p",
        "lot": LATE,
        "share": 100,
        "taken": 30,
    }


def test_pending_points_come_out_of_their_bucket_which_goes_once_empty():
    order = Order("c", 10_000, grants=(Grant("base", "p", "p", 100, LATE, BUCKET),), accrued=True)
    wallet = Wallet(pending=100, pending_lots={BUCKET: 100})
    half = _plan(order, 5_000, wallet)
    assert half.change.pending == -50 and half.change.pending_lots == {BUCKET: -50} and not half.change.remove_pending
    whole = _plan(order, 10_000, wallet)
    assert whole.change.pending == -100 and whole.change.remove_pending == {BUCKET: 100}
    assert whole.change.pending_lots == {}


def test_spent_points_come_back_to_the_captured_lots_earliest_first_and_a_reversal_may_take_them():
    spent = Spent("captured", 30, {EARLY: 20, LATE: 10})
    order = Order("c", 10_000, grants=(Grant("base", "p", "p", 10, LATE),), accrued=True, spent=spent)
    wallet = Wallet(available=0, lots={})  # everything spent: only what the refund gives back is there
    plan = _plan(order, 5_000, wallet)
    assert plan.given == {EARLY: 15} and not plan.from_hold
    assert plan.reversals == (Reversal("base", "p", "p", LATE, 5, 0),)  # nothing left in LATE
    assert plan.spent == Spent("captured", 30, {EARLY: 5, LATE: 10}, returned=15)
    whole = _plan(order, 10_000, wallet)
    assert whole.given == {EARLY: 20, LATE: 10}
    assert whole.reversals == (Reversal("base", "p", "p", LATE, 10, 10),)  # taken from what came back to LATE
    assert {k: v for k, v in whole.change.lots.items() if v} == {EARLY: 20} and whole.change.available == 20


def test_an_open_hold_gives_back_its_latest_expiring_points_first():
    hold = Hold(30, "2026-03-10T09:15:00+00:00", {EARLY: 20, LATE: 10}, "p", "o1")
    spent = Spent("held", 30, {EARLY: 20, LATE: 10}, expires_at=hold.expires_at)
    order = Order("c", 10_000, spent=spent)
    wallet = Wallet(held=30, holds={HOLD: hold})
    plan = _plan(order, 5_000, wallet)
    assert plan.from_hold and plan.given == {LATE: 10, EARLY: 5}
    assert plan.change.held == -15 and plan.change.available == 15
    assert plan.change.replace_holds == {HOLD: Hold(15, hold.expires_at, {EARLY: 15}, "p", "o1")}
    assert plan.spent == Spent("held", 30, {EARLY: 15}, returned=15, expires_at=hold.expires_at)


def test_a_hold_refunded_whole_is_removed_and_the_order_no_longer_holds():
    hold = Hold(30, "2026-03-10T09:15:00+00:00", {EARLY: 20, LATE: 10}, "p", "o1")
    order = Order("c", 10_000, spent=Spent("held", 30, dict(hold.lots), expires_at=hold.expires_at))
    plan = _plan(order, 10_000, Wallet(held=30, holds={HOLD: hold}))
    assert plan.change.remove_holds == {HOLD} and plan.change.replace_holds == {}
    assert plan.spent == Spent("refunded", 30, {}, returned=30, expires_at="")


def test_a_capture_keeps_the_earliest_lots_and_gives_the_rest_back():
    hold = Hold(30, "2026-03-10T09:15:00+00:00", {EARLY: 20, LATE: 10}, "p", "o1")
    change, kept = resolve_hold(HOLD, hold, 15)
    assert kept == {EARLY: 15}
    assert change == Change(held=-30, available=15, lots={LATE: 10, EARLY: 5}, remove_holds={HOLD})
    voided, nothing = resolve_hold(HOLD, hold, 0)
    assert nothing == {} and voided.available == 30 and voided.lots == {EARLY: 20, LATE: 10}
    whole, everything = resolve_hold(HOLD, hold, 30)
    assert everything == hold.lots and whole.available == 0 and whole.lots == {}
