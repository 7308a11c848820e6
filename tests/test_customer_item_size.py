"""The customer item stays bounded: spent and expired lots, resolved holds and counters no window reads leave it
with the writes that make them so, under guards as strict as the ones they replace, a bounded number per write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.customer_item import item_bytes, raw_customer_item, three_years, write_units
from chalicelib.db import keys, wallets
from chalicelib.db.models import CustomerItem, EntryItem
from chalicelib.db.tx import Transaction
from chalicelib.db.wallet_keys import decode
from chalicelib.domain.periods import add_months
from chalicelib.domain.wallet import KEYS_PER_WRITE, TIDY_PER_WRITE, Change, Hold, Wallet, tidy
from chalicelib.services import jobs
from local import embedded_dynamodb
from tests.test_api_ledger import accrue, enrol, redeem

MOSCOW = "Europe/Moscow"


@pytest.fixture
def fast_table() -> Iterator[None]:
    """The embedded DynamoDB whose writes cost the same at any table size: three years of one customer are ~600
    requests."""
    with embedded_dynamodb.installed():
        yield


def stored(cid: str) -> dict[str, Any]:
    return dict(raw_customer_item(cid))


def stored_lots(cid: str) -> dict[str, int]:
    """The ``lots`` map as stored, keys as spelled on the item."""
    return {k: int(v["N"]) for k, v in stored(cid)["lots"]["M"].items()}


def wallet_lots(cid: str) -> dict[str, int]:
    """The lots as the wallet reads them: ``"<expiry>|<issuer>"`` -> points, whatever the spelling on the item."""
    found = wallets.read(cid)
    assert found is not None
    return found.lots


def raw_update(cid: str, *actions: Any) -> None:
    """A write that lands outside the request under test (another till's, or one left by older code)."""
    CustomerItem(*keys.customer(cid)).update(actions=list(actions))


def credit(cid: str, lot: str, points: int) -> None:
    raw_update(
        cid,
        CustomerItem.lots[lot].set((CustomerItem.lots[lot] | 0) + points),
        CustomerItem.available.set(CustomerItem.available + points),
    )


@pytest.fixture
def meanwhile(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``meanwhile(action)``: ``action`` runs once, just before the next transaction is sent (after its request
    read the wallet and decided): a concurrent write that commits first."""
    original = Transaction.commit

    def arm(action: Any) -> None:
        def commit(self: Transaction, *args: Any, **kw: Any) -> None:
            monkeypatch.setattr(Transaction, "commit", original)
            action()
            original(self, *args, **kw)

        monkeypatch.setattr(Transaction, "commit", commit)

    return arm


def test_three_years_of_one_customer_keep_her_item_and_its_write_units_flat(fast_table, api, clock):
    """Monthly purchases at four partners (one with a return window), spends, holds captured, voided and left to
    expire, bonuses, refunds, expiries and tier changes over 36 months: the item at year 3 is the size it was at
    month 3 plus the 9 monthly spend counters a year adds (the tier window), and a write of it costs the same units.
    Before, every spent or expired lot, every month's spend and every day's bonus counter stayed: 963 B (2 WCU) at
    month 3, 2,347 B (6) at year 1, 5,977 B (12) at year 3."""
    cid, samples = three_years(api, clock, raw_customer_item, jobs.expire_points)
    month3, year1, year3 = samples[2], samples[11], samples[-1]
    assert year3.bytes - month3.bytes <= 150, (month3, year3)
    assert abs(year3.bytes - year1.bytes) <= 50, (year1, year3)
    assert max(s.write_units for s in samples) == month3.write_units == year1.write_units == year3.write_units == 2
    # Lots and last purchases under compact keys: at most 738 B measured (860-900 B with the partners' ids in keys).
    assert max(s.bytes for s in samples) <= 800, max(samples, key=lambda s: s.bytes)
    assert (year3.lots, year3.spend_months, year3.holds) == (month3.lots, 12, 0)
    assert year3.bonus_days <= 3
    # The ledger is untouched: the entries still fold to the wallet, lot by lot.
    fold: dict[str, int] = {}
    available = 0
    for entry in EntryItem.query(f"CUST#{cid}", EntryItem.sk.startswith("E#")):
        available += int(entry.available_delta)
        for lot, n in entry.lots.as_dict().items():
            fold[lot] = fold.get(lot, 0) + int(n)
    assert {k: v for k, v in fold.items() if v} == wallet_lots(cid)
    assert available == int(stored(cid)["available"]["N"]) == sum(stored_lots(cid).values())
    assert not [k for k in stored_lots(cid) if "|" in k]  # every lot in the compact spelling


@pytest.fixture
def cafe_customer(coalition: Any) -> tuple[Any, str, str]:
    cid = enrol(coalition.cafe, phone="+79161234567")
    assert accrue(coalition.cafe, cid, "A-1", 200_000)["points"] == 100
    (lot,) = stored_lots(cid)
    return coalition, cid, lot


def test_a_spend_that_empties_a_lot_removes_it(cafe_customer):
    c, cid, _ = cafe_customer
    assert redeem(c.store, cid, "S-1", 1_000_000, 100).status == 201
    assert stored_lots(cid) == {} and int(stored(cid)["available"]["N"]) == 0


def test_points_credited_to_a_lot_while_a_spend_empties_it_are_never_removed_with_it(cafe_customer, meanwhile):
    """Another till's credit to the same lot lands after the spend read the wallet: the lot's removal is guarded by
    it still holding what was read, so the spend is decided again and the 30 points stay spendable."""
    c, cid, lot = cafe_customer
    meanwhile(lambda: credit(cid, lot, 30))
    assert redeem(c.store, cid, "S-1", 1_000_000, 100).status == 201
    assert stored_lots(cid) == {lot: 30}
    again = redeem(c.store, cid, "S-2", 1_000_000, 30)
    assert again.status == 201, again.json
    assert again["balance"]["available"] == 0 and stored_lots(cid) == {}


def test_a_lot_left_at_zero_leaves_with_the_next_write_but_never_takes_a_concurrent_credit(cafe_customer, meanwhile):
    """Items written by older code keep spent lots at 0. The next write removes them, guarded by their still being 0:
    a credit to such a lot that commits first cancels the write, which is decided again and keeps it."""
    c, cid, lot = cafe_customer
    (domain_key,) = wallet_lots(cid)
    old = domain_key.replace(domain_key.split("|")[1], c.ids["store"])  # the spelling older code wrote
    raw_update(cid, CustomerItem.lots[old].set(0))
    meanwhile(lambda: credit(cid, old, 30))
    assert accrue(c.salon, cid, "B-1", 100_000).status == 201
    lots = stored_lots(cid)
    assert lots[old] == 30 and lots[lot] == 100
    everything = sum(lots.values())
    spent = redeem(c.store, cid, "S-1", 10**9, everything)
    assert spent.status == 201, spent.json
    assert stored_lots(cid) == {}


def test_lots_left_at_zero_leave_a_bounded_number_per_write(cafe_customer):
    """25 zero lots left by older code: each write removes TIDY_PER_WRITE of them (its update stays small), the
    rest leave with the following writes."""
    c, cid, _ = cafe_customer
    ((domain_key, _),) = wallet_lots(cid).items()
    expiry = domain_key.split("|")[0]
    zeros = [f"{expiry}|old{i:02d}" for i in range(25)]
    raw_update(cid, *(CustomerItem.lots[k].set(0) for k in zeros))
    left = []
    for i in range(3):
        assert accrue(c.cafe, cid, f"A-{i + 2}", 2_000).status == 201
        left.append(len([k for k in stored_lots(cid) if k in zeros]))
    assert TIDY_PER_WRITE == 10 and left == [15, 5, 0]


def test_a_spend_eleven_months_back_still_counts_for_the_tier_after_later_writes(coalition, clock):
    """Monthly spend leaves the item only once outside the 12-month window that picks the tier."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    accrue(c.cafe, cid, "A-1", 3_000_000)
    clock.set(datetime(2027, 2, 20, 9, tzinfo=UTC))  # March 2026 is the window's first month
    assert accrue(c.cafe, cid, "A-2", 1_000).status == 201
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["tier"]["name"] == "silver"
    assert "2026-03" in stored(cid)["spend"]["M"]
    clock.set(datetime(2027, 3, 20, 9, tzinfo=UTC))
    assert accrue(c.cafe, cid, "A-3", 1_000).status == 201
    assert c.cafe.get(f"/v1/customers/{cid}/balance")["tier"]["name"] == "bronze"
    assert sorted(stored(cid)["spend"]["M"]) == ["2027-02", "2027-03"]


def test_a_bonus_counter_stays_through_the_next_day_and_leaves_after():
    """The daily cap counts today's bonuses; an instance whose clock lags over midnight still adds to yesterday's
    counter, so yesterday's stays and only older days leave."""
    now = datetime(2026, 3, 11, 21, 0, 30, tzinfo=UTC)  # 00:00:30 on 12 March in Moscow
    wallet = Wallet(bonus_days={"2026-03-10|review": 1, "2026-03-11|review": 1, "2026-03-12|survey": 1})
    assert tidy(wallet, Change(), now, MOSCOW).drop_bonus_days == {"2026-03-10|review"}


def test_monthly_spend_leaves_only_before_the_tier_window():
    now = datetime(2027, 3, 5, 9, tzinfo=UTC)
    spend = {f"2026-{m:02d}": 100 for m in range(1, 13)} | {"2027-01": 1, "2027-02": 1, "2027-03": 1}
    assert tidy(Wallet(spend=spend), Change(), now, MOSCOW).drop_spend == {"2026-01", "2026-02", "2026-03"}


def test_a_write_naming_many_keys_removes_fewer_stale_ones():
    """The update expression stays inside DynamoDB's 4 KB: a write that already names KEYS_PER_WRITE - 3 map keys
    removes at most 3 stale ones."""
    now = datetime(2026, 3, 5, 9, tzinfo=UTC)
    busy = Change(lots={f"2026-04|p{i:02d}": 1 for i in range(KEYS_PER_WRITE - 3)})
    wallet = Wallet(lots={f"2026-04|z{i:02d}": 0 for i in range(20)} | {k: 1 for k in busy.lots})
    assert len(tidy(wallet, busy, now, MOSCOW).drop_lots) == 3


def test_a_change_that_credits_or_keeps_a_lot_never_drops_it():
    now = datetime(2026, 3, 5, 9, tzinfo=UTC)
    after = Wallet(lots={"2026-04|a": 5, "2026-04|b": 0, "2026-04|c": 3})
    change = Change(lots={"2026-04|a": -5 + 10, "2026-04|b": -7, "2026-04|c": -2})
    assert tidy(after, change, now, MOSCOW).drop_lots == {"2026-04|b": 7}


def test_write_units_follow_dynamodb_sizes():
    item = {"pk": {"S": "CUST#c"}, "n": {"N": "12345"}, "m": {"M": {"ab": {"N": "0"}}}, "b": {"BOOL": True}}
    # pk 2+6, n 1+(3+1), m 1+(3 + 2+1+(1+1)), b 1+1
    assert item_bytes(item) == 8 + 5 + 9 + 2
    assert (write_units(1024), write_units(1025), write_units(1025, transactional=False)) == (2, 4, 2)


def _old_spelling(c: Any, cid: str, lots: dict[str, int]) -> None:
    """The customer's item as older code left it: lots under ``"<expiry>|<partner id>"``, no partners list."""
    raw_update(
        cid,
        CustomerItem.lots.set(lots),
        CustomerItem.partners.remove(),
        CustomerItem.available.set(sum(lots.values())),
        CustomerItem.last_purchase.set({c.ids["cafe"]: "2026-01-05T09:00:00+00:00"}),
    )


def _expiry(c: Any, cid: str) -> str:
    """The expiry month of points earned now (a first accrual of 100 points at the café shows it)."""
    assert accrue(c.cafe, cid, "A-0", 200_000).status == 201
    ((key, _),) = wallet_lots(cid).items()
    return key.split("|")[0]


def test_an_item_in_the_old_spelling_reads_the_same_and_turns_compact_as_it_is_used(coalition):
    """A deployed table holds items whose lots are keyed ``"<expiry>|<partner id>"``: they read as before (balance,
    expiring points, who funded what), a write moves the lots it touches to the compact spelling and leaves the
    others as they are, and every point stays spendable."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    expiry = _expiry(c, cid)
    later = add_months(expiry, 1)
    cafe, store = f"{expiry}|{c.ids['cafe']}", f"{later}|{c.ids['store']}"
    _old_spelling(c, cid, {cafe: 100, store: 50})
    assert stored_lots(cid) == {cafe: 100, store: 50}
    balance = c.cafe.get(f"/v1/customers/{cid}/balance")
    assert balance["available"] == 150 and [e["points"] for e in balance["expiring"]] == [100, 50]
    assert redeem(c.salon, cid, "S-1", 10**9, 30).status == 201  # earliest first: the café's lot only
    assert wallet_lots(cid) == {cafe: 70, store: 50}
    raw = stored_lots(cid)
    assert raw[store] == 50 and cafe not in raw and sorted(raw.values()) == [50, 70]
    (spend,) = EntryItem.query(f"CUST#{cid}", EntryItem.sk.startswith("E#"), scan_index_forward=False, limit=1)
    assert spend.lots.as_dict() == {cafe: -30}  # the ledger names the funder as ever
    assert redeem(c.salon, cid, "S-2", 10**9, 120).status == 201
    assert stored_lots(cid) == {} and wallet_lots(cid) == {}
    # the last purchase (campaign audiences read it) is keyed by the partner's id until the partner's next one
    assert wallets.read(cid).last_purchase == {c.ids["cafe"]: "2026-01-05T09:00:00+00:00"}
    assert accrue(c.cafe, cid, "A-1", 2_000).status == 201
    (position,) = stored(cid)["last_purchase"]["M"]
    assert wallets.read(cid).last_purchase[c.ids["cafe"]] > "2026-01-05" and position.isdigit()


def test_a_lot_moved_to_the_compact_spelling_never_loses_a_credit_to_its_old_key(coalition, meanwhile):
    """Older code still serving during a deploy may credit a lot under its old key while a write moves that lot:
    the old key leaves only if it still holds what was read, so the write is decided again and the credit stays."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    old = f"{_expiry(c, cid)}|{c.ids['cafe']}"
    _old_spelling(c, cid, {old: 100})
    meanwhile(lambda: credit(cid, old, 30))
    assert redeem(c.store, cid, "S-1", 10**9, 40).status == 201
    assert wallet_lots(cid) == {old: 90}
    assert sum(stored_lots(cid).values()) == 90 == int(stored(cid)["available"]["N"])


def _compact(domain_key: str, position: int) -> str:
    expiry = domain_key.split("|")[0]
    return f"{expiry[2:4]}{expiry[5:]}{position}"


@pytest.mark.parametrize("known", [0, 1], ids=["first partner", "second partner"])
def test_two_partners_new_to_a_customer_at_once_never_share_a_position(coalition, meanwhile, known):
    """A partner new to the customer joins her item's partners list, and its lots are keyed by its position there.
    The store's write lands while the salon's accrual is deciding, both new: the salon's write is cancelled (the list
    is no longer as long as read) and decided again, so each partner keeps its own points."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    expiry = _expiry(c, cid)
    lots = {f"{expiry}|{c.ids['cafe']}": 100}
    if not known:  # the café's points as older code left them: the list is still empty
        _old_spelling(c, cid, lots)
    store_lot = f"{expiry}|{c.ids['store']}"
    meanwhile(
        lambda: raw_update(
            cid,
            CustomerItem.partners.set((CustomerItem.partners | []).append([c.ids["store"]])),
            CustomerItem.lots[_compact(store_lot, known)].set(30),
            CustomerItem.available.set(CustomerItem.available + 30),
        )
    )
    assert accrue(c.salon, cid, "B-1", 100_000)["points"] == 100
    assert wallet_lots(cid) == lots | {store_lot: 30, f"{expiry}|{c.ids['salon']}": 100}


def test_a_lot_key_naming_no_partner_of_the_item_is_an_error_never_a_smaller_balance():
    with pytest.raises(ValueError, match="partner #1 of 1"):
        decode({"27011": 5}, ("ptn_a",))
    assert decode({"27010": 5, "2027-01|ptn_a": 2}, ("ptn_a",))[0] == {"2027-01|ptn_a": 7}


def test_a_hold_stored_in_the_old_shape_reads_the_same_and_is_captured_as_before(coalition):
    """Holds written before named their partner and order inside (the key says both) and their lots by the old
    spelling: such a hold reads as the same hold, and capturing part of it returns the rest to its lot."""
    c = coalition
    cid = enrol(c.cafe, phone="+79161234567")
    old_lot = f"{_expiry(c, cid)}|{c.ids['cafe']}"
    held = redeem(c.store, cid, "H-1", 10**9, 40, capture=False)
    assert held.status == 201, held.json
    hid = f"{c.ids['store']}|H-1"
    expires_at = stored(cid)["holds"]["M"][hid]["M"]["expires_at"]["S"]
    assert set(stored(cid)["holds"]["M"][hid]["M"]) == {"points", "expires_at", "lots"}
    old = {
        "points": 40,
        "expires_at": expires_at,
        "lots": {old_lot: 40},
        "partner_id": c.ids["store"],
        "order_id": "H-1",
    }
    raw_update(cid, CustomerItem.holds[hid].set(old))
    assert wallets.read(cid).holds[hid] == Hold(40, expires_at, {old_lot: 40}, c.ids["store"], "H-1")
    captured = c.store.post(f"/v1/redemptions/{held['redemption_id']}/capture", {"points": 25})
    assert captured.status == 200, captured.json
    assert wallet_lots(cid) == {old_lot: 75} and int(stored(cid)["available"]["N"]) == 75
    assert stored(cid)["holds"]["M"] == {}


def test_a_spend_across_many_old_lots_moves_a_bounded_number_of_them():
    """Each lot moved from the old spelling names two keys and a guard: a write moves at most MOVES_PER_WRITE and
    spends the rest where they are (its update expression stays inside DynamoDB's 4 KB); later writes move them."""
    old = {f"2027-{m:02d}|ptn_{i}": 5 for m in range(1, 13) for i in range(3)}
    lots, layout = decode(old, ())
    change = Change(available=-36, lots={k: -1 for k in lots})
    update = wallets.update_for(change, layout)
    assert wallets.MOVES_PER_WRITE == 20 and len(update.removes) == 20
    assert len(update) == 1 + 36 + 20 + 1  # available, every lot spent, 20 old keys removed, the partners appended
