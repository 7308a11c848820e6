"""The accrual's rules take shortcuts on every request (a wallet decoded in one pass, dataclasses filled without
their ``__init__``, answers remembered for the very instant): each gives what the long way gives."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.db import wallet_reads
from chalicelib.db.models import CustomerItem
from chalicelib.db.wallet_keys import Layout
from chalicelib.domain.wallet import Change, Wallet


def _fields_in_order(made: object, expected: object) -> None:
    assert made == expected and type(made) is type(expected)
    assert list(vars(made)) == [f.name for f in dataclasses.fields(expected)]  # type: ignore[arg-type]
    assert vars(made) == vars(expected)


def test_a_wallet_and_its_layout_made_at_once_are_the_ones_their_constructors_make() -> None:
    values: list[Any] = [1, 2, 3, {"2027-01|p": 1}, {"2026-05": 9}, {}, {"x|2027-01|p": 2}, {}, {"p": "t"}, {}]
    layout = Layout.of(("p",), {"2027-01|p": (("27010", 1),)}, frozenset({"q"}))
    _fields_in_order(layout, Layout(("p",), {"2027-01|p": (("27010", 1),)}, frozenset({"q"})))
    with_layout = Wallet.of(*values, layout)
    _fields_in_order(with_layout, Wallet(*values, stored_as=layout))
    assert with_layout.stored_as is layout
    try:
        layout.partners = ()  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a layout made at once is still frozen")


def test_a_changes_copy_is_each_field_copied_into_maps_of_its_own() -> None:
    change = Change(
        available=5,
        pending=-2,
        held=1,
        lots={"a": 1},
        spend={"m": 2},
        remove_holds={"h"},
        drop_spend={"old"},
        drop_bonus_days={"d"},
        last_purchase={"p": "t"},
    )
    copied = change.copy()
    _fields_in_order(copied, change)
    for name, value in vars(copied).items():
        if isinstance(value, dict | set):
            assert value is not getattr(change, name) and type(value) is type(getattr(change, name)), name
    copied.lots["b"] = 1
    copied.drop_spend.add("x")
    assert change.lots == {"a": 1} and change.drop_spend == {"old"}


def _number(draw: random.Random) -> str:
    if draw.random() < 0.97:
        return draw.choice(["0", "7", "-3", "120000", "9" * 30, str(draw.getrandbits(40) - 2**39)])
    return draw.choice(["-0", "05", "1.5", "1e3", "\u0661", " 5", "+5", "", "1_0"])


def _counts(draw: random.Random, keys: list[str]) -> dict[str, Any]:
    chosen = draw.sample(keys, draw.randint(0, min(3, len(keys))))
    typed: dict[str, Any] = {k: {"N": _number(draw)} for k in chosen}
    if draw.random() < 0.03 and typed:
        typed[chosen[0]] = draw.choice([{"S": "5"}, {"NULL": True}, {"N": "5", "S": "5"}])
    return {"M": typed}


def _customer_item(draw: random.Random) -> dict[str, Any]:
    partners = draw.sample(["ptn_a", "ptn_b", "ptn_c"], draw.randint(0, 3))
    raw: dict[str, Any] = {"pk": {"S": "CUST#c_1"}, "sk": {"S": "PROFILE"}, "customer_id": {"S": "c_1"}}
    for name in ("available", "pending", "held"):
        if draw.random() < 0.9:
            raw[name] = {"N": _number(draw)} if draw.random() < 0.95 else draw.choice([{"NULL": True}, {"S": "1"}])
    if draw.random() < 0.8:
        listed: list[Any] = [{"S": p} for p in partners]
        if draw.random() < 0.05:
            listed.append({"N": "1"})
        raw["partners"] = {"L": listed}
    compact = [f"27{m:02d}{i}" for m in (1, 2) for i in range(len(partners))]
    lot_keys = [*compact, "2026-06|ptn_c", "2027-03|ptn_a"]
    for name, keys in (
        ("lots", lot_keys),
        ("spend", ["2026-04", "2026-05", "2026-03"]),
        ("pending_lots", ["2026-05-20T00:00:00+00:00|2027-05|ptn_a"]),
        ("bonus_days", ["2026-05-10|birthday", "2026-05-11|review"]),
        ("campaign_awards", ["cmp_1", "cmp_2", draw.choice(["cmp_3", "null", "attr_name", "default"])]),
    ):
        if draw.random() < 0.9:
            raw[name] = _counts(draw, keys) if draw.random() < 0.97 else {"NULL": True}
    if draw.random() < 0.9:
        keys = [str(i) for i in range(len(partners))] + ["ptn_b"]
        chosen = draw.sample(keys, draw.randint(0, len(keys)))
        raw["last_purchase"] = {"M": {k: {"S": f"2026-05-0{draw.randint(1, 9)}T10:00:00+00:00"} for k in chosen}}
    raw["holds"] = {"M": {}} if draw.random() < 0.95 else {"NULL": True}
    return raw


def test_a_customer_item_decoded_in_one_pass_is_the_wallet_pynamodb_gives() -> None:
    """Thousands of customer items, well-formed or not (numbers in every spelling, NULLs, values of another type,
    keys named like a map attribute's arguments, lots under both spellings): the direct decoding is the wallet that
    pynamodb's item gives, with the same layout and the same key orders, or it leaves the item to the long way."""
    from chalicelib.db import wallets

    draw = random.Random(17)
    direct = 0
    for _ in range(3000):
        raw = _customer_item(draw)
        try:
            expected = wallets.wallet_of(CustomerItem.from_raw_data(raw))
        except (ValueError, TypeError, IndexError, AttributeError):
            continue  # pynamodb or the lot keys refuse this item: not a wallet either way
        fast = wallet_reads._well_formed(raw)
        direct += fast is not None
        for decoded in (fast, wallet_reads.wallet_of_raw(raw)):
            if decoded is None:
                continue
            assert decoded == expected and decoded.stored_as == expected.stored_as, raw
            for name in ("lots", "spend", "pending_lots", "bonus_days", "last_purchase", "campaign_awards"):
                assert list(getattr(decoded, name)) == list(getattr(expected, name)), (name, raw)
    assert direct > 500  # the direct path was exercised, not only the long way


def test_a_ledger_entry_made_at_once_is_the_one_its_constructor_makes(monkeypatch: Any) -> None:
    from chalicelib import db
    from chalicelib.db import entries as entries_db
    from chalicelib.machinery import wallets
    from chalicelib.machinery.program import Program

    made: list[entries_db.NewEntry] = []
    monkeypatch.setattr(entries_db, "put", lambda tx, entry: made.append(entry))
    monkeypatch.setattr(entries_db, "add_figures", lambda tx, period, figures: None)
    now = datetime(2026, 5, 31, 21, 30, tzinfo=UTC)
    change = Change(available=10, lots={"2027-06|p": 10})
    entry_id = wallets.post(db.Transaction(), "c", "p", "accrual", now, Program(), change, amount_minor=5, ref_id="r")
    entry = made[0]
    _fields_in_order(entry, entries_db.NewEntry(**vars(entry)))
    assert entry.entry_id == entry_id and entry.period == "2026-06" and entry.created_at == now.isoformat()
    assert entry.order_id is None and entry.amount_minor == 5 and entry.change is change


def test_entry_figures_made_from_zeros_copied_once_are_fresh_figures() -> None:
    from chalicelib.domain.settlement import Figures, _fresh, entry_deltas

    one, two = _fresh(), _fresh()
    _fields_in_order(one, Figures())
    one.counts["issued_points"] += 1
    assert two.counts["issued_points"] == 0 and Figures().counts["issued_points"] == 0
    values = {"point_value_minor": 100, "operator_fee_bps": 200}
    for entry_type, total, lots, details in (
        ("accrual", 10, {"2027-01|p": 10}, values),
        ("accrual", 0, {}, values),  # all zero: nothing to count
        ("hold", 0, {}, values),
        ("campaign_award", 5, {"2027-01|p": 5}, {**values, "sponsor_partner_id": "s"}),
        ("redemption", -7, {"2027-01|q": -7}, values),
        ("accrual", 10, {"2027-01|p": 10}, {}),
    ):
        deltas = entry_deltas(entry_type, "p", total, lots, details)
        assert all(not f.is_zero() for f in deltas.values())
        assert ("p" in deltas) is bool(total or entry_type == "redemption")


def test_an_entrys_event_data_leaves_out_what_is_none_in_the_order_it_always_had() -> None:
    from chalicelib.machinery import events

    now = datetime(2026, 5, 10, tzinfo=UTC)
    change = Change(available=10, lots={"2027-01|p": 10})
    for entry_type in ("accrual", "redemption", "hold", "refund", "bonus", "capture"):
        for entry in (
            {},
            {"ref_id": "r", "order_id": "o", "amount_minor": 5, "details": {"points_reversed": 2, "captured": 3}},
            {"ref_id": None, "order_id": "o", "amount_minor": None, "details": {"points_returned": 1}},
        ):
            (event,) = events.for_entry(entry_type, "c", "p", change, 40, entry, now)
            ref_name = events._ENTRY_EVENTS[entry_type][1]
            details: dict[str, Any] = entry.get("details") or {}  # type: ignore[assignment]
            points = int(details.get("captured", 0)) if entry_type == "capture" else 0 if entry_type == "hold" else 10
            expected = {
                "customer_id": "c",
                ref_name: entry.get("ref_id"),
                "order_id": entry.get("order_id"),
                "amount_minor": entry.get("amount_minor"),
                "points": points,
                "status": events._STATUS.get(entry_type),
                "balance_available": 40,
            }
            for name in ("points_reversed", "points_returned"):
                if name in details:
                    expected[name] = int(details[name])
            expected = {k: v for k, v in expected.items() if v is not None}
            assert event.data == expected and list(event.data) == list(expected), (entry_type, entry)
            assert event.created_at == now.isoformat() and event.partner_id == "p"


def test_answers_remembered_for_the_very_object_are_never_given_for_another() -> None:
    from chalicelib.domain.periods import iso_instant, period_of
    from chalicelib.domain.tiers import DEFAULT_TIERS, Tier, _by_spend
    from chalicelib.memo import last_answer, last_answer_in

    asked: list[object] = []
    remembered = last_answer(lambda key: asked.append(key) or len(asked))
    first, equal = [1], [1]
    assert remembered(first) == 1 and remembered(first) == 1 and remembered(equal) == 2 and remembered(first) == 3
    in_zone = last_answer_in(lambda key, zone: f"{id(key)}:{zone}")
    assert in_zone(first, "UTC") != in_zone(first, "Europe/Moscow") and in_zone(first, "UTC") == f"{id(first)}:UTC"
    draw = random.Random(3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(2000):
        moment = start + timedelta(microseconds=draw.getrandbits(45))
        zone = draw.choice(["Europe/Moscow", "UTC", "Asia/Vladivostok"])
        for _ in range(2):
            assert iso_instant(moment) == moment.isoformat()
            assert period_of(moment, zone) == moment.astimezone(_zone(zone)).strftime("%Y-%m")
    reversed_tiers = tuple(reversed(DEFAULT_TIERS))
    assert _by_spend(reversed_tiers) == DEFAULT_TIERS and _by_spend(reversed_tiers) == DEFAULT_TIERS
    as_list = [Tier("b", 5, 1), Tier("a", 0, 1)]
    assert _by_spend(as_list) == (as_list[1], as_list[0])
    as_list[0] = Tier("c", -1, 1)  # a list can change between calls: never remembered
    assert _by_spend(as_list) == (as_list[0], as_list[1])


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _lot_parts_the_long_way(stored_lots: dict[str, int], partners: tuple[str, ...]) -> tuple[Any, Any]:
    from chalicelib.db.wallet_keys import _domain_key

    lots: dict[str, int] = {}
    parts: dict[str, list[tuple[str, int]]] = {}
    for stored, points in sorted(stored_lots.items()):
        key = stored if "|" in stored else _domain_key(stored, partners)
        lots[key] = lots.get(key, 0) + points
        parts.setdefault(key, []).append((stored, points))
    return lots, {k: tuple(v) for k, v in parts.items()}


def _purchases_the_long_way(stored: dict[str, str], partners: tuple[str, ...]) -> tuple[Any, Any]:
    out: dict[str, str] = {}
    by_id = set()
    for key, when in sorted(stored.items()):
        partner = partners[int(key)] if key.isdigit() else key
        if not key.isdigit():
            by_id.add(key)
        if partner not in out or datetime.fromisoformat(when) > datetime.fromisoformat(out[partner]):
            out[partner] = when
    return out, frozenset(by_id)


def test_lots_and_last_purchases_are_read_as_sorting_every_key_read_them() -> None:
    """The lots (both spellings, a lot under both summed) and last purchases (by position and by id, the later
    instant) in the order and with the parts that sorting every map gave, one key or many."""
    from chalicelib.db.wallet_keys import decode_purchases, lot_parts

    draw = random.Random(23)
    partners = ("ptn_a", "ptn_b", "ptn_c")
    lot_keys = ["27010", "27011", "27022", "26121", "2027-01|ptn_a", "2027-01|ptn_b", "2026-12|ptn_b", "2099-01|x"]
    buy_keys = ["0", "1", "2", "ptn_a", "ptn_b", "ptn_z"]
    for _ in range(3000):
        stored_lots = {k: draw.randint(-5, 50) for k in draw.sample(lot_keys, draw.randint(0, len(lot_keys)))}
        assert _fields_equal_in_order(lot_parts(stored_lots, partners), _lot_parts_the_long_way(stored_lots, partners))
        bought = {
            k: f"2026-05-0{draw.randint(1, 9)}T1{draw.randint(0, 9)}:00:00+0{draw.randint(0, 3)}:00"
            for k in draw.sample(buy_keys, draw.randint(0, len(buy_keys)))
        }
        fast, slow = decode_purchases(bought, partners), _purchases_the_long_way(bought, partners)
        assert fast == slow and list(fast[0]) == list(slow[0])


def _fields_equal_in_order(made: tuple[Any, Any], expected: tuple[Any, Any]) -> bool:
    return made == expected and all(list(a) == list(b) for a, b in zip(made, expected, strict=True))
