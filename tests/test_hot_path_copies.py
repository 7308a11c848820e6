"""Per-request copies made without ``dataclasses.replace`` and per-request answers remembered are the same values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.periods import period_of
from chalicelib.domain.schedule import Change, Schedule
from chalicelib.machinery.program import Program


def test_the_program_at_an_instant_is_replace_of_its_money_settings() -> None:
    switch = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    program = Program(
        point_value_minor=100,
        schedule=Schedule(
            {"point_value_minor": 100, "operator_fee_bps": 0},
            (Change("2026-03-01", switch, {"point_value_minor": 50, "operator_fee_bps": 200}),),
        ),
    )
    for moment in (switch - timedelta(microseconds=1), switch, switch + timedelta(days=40)):
        values = program.schedule.at(moment)
        expected = dataclasses.replace(
            program,
            as_of=moment,
            point_value_minor=values["point_value_minor"],
            operator_fee_bps=values["operator_fee_bps"],
        )
        at = program.at(moment)
        assert at == expected and type(at) is Program and at.__dict__ == expected.__dict__
    assert program.at(switch).point_value_minor == 50
    assert program.at(switch - timedelta(seconds=1)).operator_fee_bps == 0


def test_the_period_of_an_instant_is_its_month_in_the_zone_asked_for() -> None:
    """The one-entry memo answers only for the same instant object and zone: a month's edge in Moscow is not UTC's."""
    edge = datetime(2026, 1, 31, 21, 0, tzinfo=UTC)  # 2026-02-01 00:00 in Moscow
    assert period_of(edge, "Europe/Moscow") == "2026-02"
    assert period_of(edge, "UTC") == "2026-01"
    assert period_of(edge, "Europe/Moscow") == "2026-02"
    before = edge - timedelta(microseconds=1)
    assert period_of(before, "Europe/Moscow") == "2026-01"
    assert period_of(datetime(2026, 1, 31, 21, 0, tzinfo=UTC), "Europe/Moscow") == "2026-02"


def test_the_balance_answer_is_the_validated_models_json() -> None:
    """``machinery.wallets.balance`` builds its answer without validation: the JSON bytes are those of the same
    values validated, for a wallet with expiring lots, a hold, pending points, a tier and one without anything."""
    from chalicelib.domain.wallet import Hold, Wallet
    from chalicelib.machinery.wallets import balance
    from chalicelib.schemas import Balance

    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    rich = Wallet(
        available=150,
        pending=20,
        held=30,
        lots={"2026-12|ptn_a": 100, "2027-01|ptn_b": 50, "2027-01|ptn_a": 30, "2026-06|ptn_b": 0},
        spend={"2026-04": 1_500_000, "2026-05": 20_000},
        holds={"ptn_a|H-1": Hold(30, "2026-05-11T00:00:00+00:00", {"2027-01|ptn_a": 30}, "ptn_a", "H-1")},
        pending_lots={"2026-05-20T00:00:00+00:00|2027-05|ptn_a": 20},
    )
    for wallet in (rich, Wallet()):
        answer = balance("c_1", wallet, Program().at(now), now)
        validated = Balance.model_validate(answer.model_dump())
        assert answer.model_dump_json() == validated.model_dump_json()
        assert answer == validated
    assert answer.model_dump()["expiring"] == [] and balance("c", rich, Program().at(now), now).expiring


def test_the_balance_json_written_directly_is_the_validated_models_json() -> None:
    """``services.balances.json_of`` writes the balance route's body without pydantic: byte for byte the JSON
    of the same values validated, over wallets with tiers (top, middle, none above), holds, expiring lots of several
    months and partners, pending points, zero and empty balances, and names with quotes, control characters and
    non-ASCII letters (pydantic keeps UTF-8 and escapes only what JSON must)."""
    import dataclasses

    from chalicelib.domain.tiers import Tier
    from chalicelib.domain.wallet import Hold, Wallet
    from chalicelib.machinery.wallets import balance
    from chalicelib.schemas import Balance
    from chalicelib.services.balances import json_of

    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    hold = Hold(30, "2026-05-11T00:00:00+00:00", {"2027-01|ptn_a": 30}, "ptn_a", "H-1")
    expired_hold = Hold(5, "2026-05-01T00:00:00+00:00", {"2026-12|ptn_b": 5}, "ptn_b", "H-2")
    wallets = [
        Wallet(),
        Wallet(available=0, pending=0, held=0, lots={"2026-06|ptn_b": 0}),
        Wallet(
            available=150,
            pending=20,
            held=30,
            lots={"2026-12|ptn_a": 100, "2027-01|ptn_b": 50, "2027-01|ptn_a": 30, "2026-06|ptn_b": 0},
            spend={"2026-04": 1_500_000, "2026-05": 20_000},
            holds={"ptn_a|H-1": hold},
            pending_lots={"2026-05-20T00:00:00+00:00|2027-05|ptn_a": 20},
        ),
        Wallet(  # an ended month expires, an expired hold is released, a due bucket matures: as of ``now``
            available=70,
            pending=10,
            held=5,
            lots={"2026-04|ptn_a": 40, "2026-05|ptn_b": 25, "2027-02|ptn_c": 5},
            spend={"2025-07": 9_000_000, "2026-01": 2_000_000},
            holds={"ptn_b|H-2": expired_hold},
            pending_lots={"2026-05-01T00:00:00+00:00|2027-04|ptn_a": 10},
        ),
        Wallet(available=10**15, lots={"2099-12|ptn_a": 10**15}, spend={"2026-05": 10**12}),
        Wallet(spend={"2026-05": -500}),  # refunds above purchases: spend floors at zero
    ]
    odd = (
        Tier("бронза \u00ab\u00bb", 0, 10_000),
        Tier('se"ver\\ \n\t\x01\x7f', 1_000_000, 12_500),
        Tier("金 🥇 \u2028", 5_000_000, 15_000),
    )
    programs = [
        Program().at(now),
        dataclasses.replace(Program(), currency="€UR", point_value_minor=1, tiers=odd).at(now),
        dataclasses.replace(Program(), currency="USD", tiers=(Tier("one", 0, 10_000),)).at(now),
        dataclasses.replace(Program(), timezone="UTC", tiers=odd[::-1]).at(now),
    ]
    seen = set()
    for customer_id in ("c_1", "cus_01HZY", 'c"\\é\n'):
        for wallet in wallets:
            for program in programs:
                written = json_of(customer_id, wallet, program, now)
                validated = Balance.model_validate(balance(customer_id, wallet, program, now).model_dump())
                assert written == validated.model_dump_json(), (customer_id, wallet, program.tiers)
                assert Balance.model_validate_json(written) == validated
                seen.add((bool(validated.expiring), validated.tier.next_tier is None, validated.held > 0))
    assert len(seen) >= 5  # the cases above reach answers with and without expiring points, a next tier, holds


def test_the_balance_route_answers_the_validated_models_json(coalition: Any) -> None:
    """Over HTTP the balance's body (written directly) is byte for byte the validated model's JSON, a 200 whose
    headers are a JSON answer's."""
    from chalicelib.schemas import Balance

    c = coalition
    customer = c.cafe.post("/v1/customers", {"phone": "+79160000778"})["customer_id"]
    c.cafe.post("/v1/accruals", {"customer_id": customer, "order_id": "BAL-1", "amount_minor": 100_000})
    answer = c.cafe.get(f"/v1/customers/{customer}/balance")
    assert answer.status == 200, answer.raw
    body = answer.raw.decode()
    assert Balance.model_validate_json(body).model_dump_json() == body
    assert answer["available"] > 0 and answer["customer_id"] == customer
    assert answer.headers["Content-Type"] == "application/json" and answer.headers["Cache-Control"] == "no-store"


def test_the_balance_route_answers_the_models_json_without_building_it() -> None:
    """The balance route renders its JSON itself (services.balances, no response model built on a cold instance):
    byte for byte what the ``Balance`` model gives for the same wallet, text in any alphabet included."""
    from chalicelib.domain import Tier
    from chalicelib.domain.wallet import Hold, Wallet
    from chalicelib.machinery.wallets import balance
    from chalicelib.schemas import Balance
    from chalicelib.services.balances import json_of

    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    rich = Wallet(
        available=150,
        pending=20,
        held=30,
        lots={"2026-12|ptn_a": 100, "2027-01|ptn_b": 50, "2026-06|ptn_b": 0},
        spend={"2026-04": 1_500_000},
        holds={"ptn_a|H-1": Hold(30, "2026-05-09T00:00:00+00:00", {"2027-01|ptn_a": 30}, "ptn_a", "H-1")},
        pending_lots={"2026-05-01T00:00:00+00:00|2027-05|ptn_a": 20},
    )
    tiers = (Tier('Базовый "1"', 0, 10_000), Tier("Gold\u2028★", 1_000_000, 12_500), Tier("Top", 9_000_000, 15_000))
    for program in (Program(), Program(currency="KZT", point_value_minor=7, tiers=tiers, timezone="Asia/Almaty")):
        for wallet in (rich, Wallet()):
            answer = json_of("cus_ü1", wallet, program.at(now), now)
            model = balance("cus_ü1", wallet, program.at(now), now)
            assert answer == model.model_dump_json() == Balance.model_validate_json(answer).model_dump_json()


def test_the_accrual_answer_is_the_validated_models_json(coalition: Any) -> None:
    """The accrual's answer (and its balance summary) is built without validation: over HTTP, its body is byte for
    byte the JSON of the same values validated (an int computed as a float would show as ``100.0`` here)."""
    from chalicelib.schemas import AccrualOut

    c = coalition
    customer = c.cafe.post("/v1/customers", {"phone": "+79160000777"})["customer_id"]
    for n, amount in enumerate((100_000, 12_345, 1)):
        answer = c.cafe.post("/v1/accruals", {"customer_id": customer, "order_id": f"HOT-{n}", "amount_minor": amount})
        assert answer.status == 201, answer.raw
        body = answer.raw.decode()
        assert AccrualOut.model_validate_json(body).model_dump_json() == body


def test_ids_spell_numbers_as_one_digit_at_a_time_did() -> None:
    """``ids._base32`` takes two digits per step: the same digits as one per step, numbers wider than the width
    included (only the lowest digits are kept)."""
    import random

    from chalicelib import ids

    def one_at_a_time(number: int, width: int) -> str:
        out = []
        for _ in range(width):
            number, rem = divmod(number, 32)
            out.append(ids._ALPHABET[rem])
        return "".join(reversed(out))

    draw = random.Random(7)
    for width in range(0, 27):
        for number in (0, 1, 31, 32, 1023, 1024, 32**width - 1, 32**width, draw.getrandbits(140)):
            assert ids._base32(number, width) == one_at_a_time(number, width), (number, width)


def test_a_wallet_as_of_now_is_the_settled_wallet_and_a_merge_shares_no_map() -> None:
    """``domain.wallet.as_of`` (the balance's read-only view) is ``settled(...)[0]``: the same wallet when time did
    nothing, the settled one when a hold expired, a bucket matured or a month ended. ``Change.merge`` copies each
    map once: the sum is right and changing it leaves both sides as they were."""
    from chalicelib.domain.wallet import Change, Hold, Wallet, as_of, settled

    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    quiet = Wallet(available=5, lots={"2027-01|ptn_a": 5}, spend={"2026-05": 100})
    busy = Wallet(
        available=70,
        pending=10,
        held=5,
        lots={"2026-04|ptn_a": 40, "2027-02|ptn_c": 30},
        holds={"ptn_b|H-2": Hold(5, "2026-05-01T00:00:00+00:00", {"2026-12|ptn_b": 5}, "ptn_b", "H-2")},
        pending_lots={"2026-05-01T00:00:00+00:00|2027-04|ptn_a": 10},
    )
    for wallet in (Wallet(), quiet, busy):
        assert as_of(wallet, now, "Europe/Moscow") == settled(wallet, now, "Europe/Moscow")[0]
    assert as_of(quiet, now, "UTC") is quiet and as_of(busy, now, "UTC") != busy

    a = Change(available=3, lots={"x": 1}, spend={"2026-05": 10}, remove_holds={"h"}, last_purchase={"p": "t1"})
    b = Change(held=2, lots={"x": 2, "y": 4}, bonus_days={"d": 1}, remove_holds={"g"}, last_purchase={"p": "t2"})
    before = (repr(a), repr(b))
    merged = a.merge(b)
    assert merged.available == 3 and merged.held == 2 and merged.lots == {"x": 3, "y": 4}
    assert merged.spend == {"2026-05": 10} and merged.bonus_days == {"d": 1} and merged.remove_holds == {"h", "g"}
    assert merged.last_purchase == {"p": "t2"}
    merged.add_lot("x", 5)
    merged.spend["2026-06"] = 1
    merged.bonus_days["e"] = 1
    merged.remove_holds.add("z")
    assert (repr(a), repr(b)) == before


def test_answer_models_built_without_the_walk_are_model_construct() -> None:
    """``machinery.built.built`` stores the values as ``model_construct`` would (same fields, same fields set, same
    JSON, equal); values that do not name every field in order go through ``model_construct`` itself."""
    from chalicelib.machinery.built import built
    from chalicelib.schemas import AccrualOut, Award, BalanceSummary

    summary = {"available": 150, "pending": 0, "held": 30}
    award = {"campaign_id": "cmp_1", "points": 7}
    for model, values in ((BalanceSummary, summary), (Award, award)):
        fast, slow = built(model, **values), model.model_construct(**values)
        assert fast == slow and fast.__dict__ == slow.__dict__ and list(fast.__dict__) == list(slow.__dict__)
        assert fast.model_fields_set == slow.model_fields_set and fast.model_dump_json() == slow.model_dump_json()
    for awards in ([], [award, {"campaign_id": "cmp_2", "points": 1}]):
        values = {
            "accrual_id": "acc_1",
            "order_id": "O-1",
            "customer_id": "cus_1",
            "amount_minor": 100_000,
            "points": 10,
            "bonus_points": sum(int(a["points"]) for a in awards),
            "awards": [built(Award, **a) for a in awards],
            "status": "pending",
            "available_at": "2026-05-10T12:00:00+00:00",
            "balance": built(BalanceSummary, **summary),
        }
        fast, slow = built(AccrualOut, **values), AccrualOut.model_construct(**values)
        assert fast == slow and fast.model_fields_set == slow.model_fields_set
        assert fast.model_dump_json() == slow.model_dump_json() == AccrualOut.model_validate(values).model_dump_json()
    partial = built(BalanceSummary, held=1, available=2)  # out of order and one missing: model_construct's answer
    assert partial.model_fields_set == {"held", "available"} and list(partial.__dict__) == ["available", "held"]


def test_the_write_path_shortcuts_give_what_the_long_way_gives() -> None:
    """The shortcuts a write takes are the long way's answers: the tier window's sum, the tier by name and multiplier,
    an instant written out, a change copied (sharing no map), tidy's change when nothing leaves the item, and the
    settlement of a wallet time did nothing to (the wallet itself, an empty change)."""
    import random

    from chalicelib.db import Transaction
    from chalicelib.domain import DEFAULT_TIERS, Tier, tier_status, trailing_periods
    from chalicelib.domain.periods import iso_instant
    from chalicelib.domain.tiers import spend_12m, tier_for
    from chalicelib.domain.wallet import Change, Wallet, tidy
    from chalicelib.machinery.wallets import settle_into

    draw = random.Random(11)
    months = [f"{y}-{m:02d}" for y in (2025, 2026, 2027) for m in range(1, 13)]
    tiers_ = (*DEFAULT_TIERS, Tier("steel", 3_000_000, 11_000))
    for _ in range(300):
        spend = {m: draw.randint(-2_000_000, 4_000_000) for m in draw.sample(months, draw.randint(0, 20))}
        current = draw.choice(months)
        slow = max(sum(spend.get(p, 0) for p in trailing_periods(current, 12)), 0)
        assert spend_12m(spend, current) == slow
        for tiers in (tiers_, list(reversed(tiers_)), DEFAULT_TIERS):
            status, tier = tier_status(slow, tiers), tier_for(slow, tiers)
            assert (tier.name, tier.multiplier_bps) == (status.name, status.multiplier_bps)

    now = datetime(2026, 5, 10, 12, 0, 0, 123, tzinfo=UTC)
    assert (
        iso_instant(now) == now.isoformat()
        and iso_instant(now + timedelta(hours=1)) == (now + timedelta(hours=1)).isoformat()
    )

    change = Change(available=3, lots={"2027-05|ptn_a": 3}, spend={"2026-05": 10}, remove_holds={"h"})
    copy = change.copy()
    assert (
        copy == change.merge(Change()) and copy.lots is not change.lots and copy.remove_holds is not change.remove_holds
    )

    after = change.applied_to(Wallet(lots={"2027-04|ptn_a": 5}, spend={"2026-04": 7}))
    assert tidy(after, change, now, "Europe/Moscow") is change  # nothing leaves: the change as it is, unchanged
    stale = change.applied_to(Wallet(lots={"2027-04|ptn_a": 0}, spend={"2024-01": 7}))
    tidied = tidy(stale, change, now, "Europe/Moscow")
    assert tidied.drop_lots == {"2027-04|ptn_a": 0} and tidied.drop_spend == {"2024-01"}
    assert change.drop_lots == {} and change.drop_spend == set()

    from chalicelib.machinery.program import Program

    quiet = Wallet(available=5, lots={"2027-01|ptn_a": 5}, spend={"2026-05": 100})
    tx = Transaction()
    settled, total = settle_into(tx, "cus_1", quiet, now, Program())
    assert settled is quiet and total == Change() and len(tx) == 0


def test_an_order_accrued_with_its_grants_is_replace_of_them() -> None:
    """``Order.accrued_with`` copies the order's fields without ``dataclasses.replace``: the same order, new or one a
    hold already made; ``Order.opened`` is the order its ``__init__`` makes."""
    from chalicelib.domain.orders import Grant, Order, Spent

    base, award = Grant("base", "ptn_a", "ptn_a", 10, "2027-05|ptn_a"), Grant("award", "cmp_1", "ptn_b", 3, "2027-05|b")
    grants = (base, award)
    held = Spent("held", 40, {"2027-01|ptn_a": 40}, expires_at="2026-05-10T12:30:00+00:00")
    for order in (
        Order("cus_1", 100_000, values=(("operator_fee_bps", 0), ("point_value_minor", 100))),
        Order("cus_1", 100_000, 0, (), False, held, (("point_value_minor", 50),), 3),
    ):
        accrued = order.accrued_with(grants)
        expected = dataclasses.replace(order, grants=grants, accrued=True)
        assert accrued == expected and type(accrued) is Order and accrued.__dict__ == expected.__dict__
        assert order.grants == () and not order.accrued
    values = (("operator_fee_bps", 0), ("point_value_minor", 100))
    opened = Order.opened("cus_1", 100_000, values)
    assert (
        opened == Order("cus_1", 100_000, values=values)
        and opened.__dict__ == Order("cus_1", 100_000, values=values).__dict__
    )
    assert Order.opened("cus_2", 5, ()) == Order("cus_2", 5) and opened.customer_id == "cus_1"


def test_a_partners_campaign_reads_are_those_of_the_partner_in_force(monkeypatch: Any) -> None:
    """``campaigns_known`` / ``campaigns_loaded`` hand out the partner as cached, its rates not resolved (no clock
    read, no copy): what a write reads of its campaigns is what the partner in force at any instant reads."""
    from datetime import date

    from chalicelib import cache
    from chalicelib.machinery import partner_cache
    from chalicelib.machinery.campaign_reads import till_reads
    from tests.test_campaign_lifecycle import NOW, _partner, _rules

    monkeypatch.setenv("LOYALTY_CACHE_SECONDS", "30")
    base = {"earn_rate_bps": 500, "max_redeem_share_bps": 3000}
    schedule = Schedule(base).with_change({"earn_rate_bps": 700}, date(2026, 4, 1), NOW, "UTC")
    campaigns = {"cmp_b": _rules(campaign_id="cmp_b"), "cmp_a": _rules(campaign_id="cmp_a")}
    for partner in (_partner(schedule=schedule, campaigns=campaigns), _partner(campaigns=campaigns), _partner()):
        cache.clear()
        assert partner_cache.campaigns_known(partner.partner_id) is None
        cache.put(f"partner:{partner.partner_id}", partner)
        known, loaded = partner_cache.campaigns_known("cafe"), partner_cache.campaigns_loaded("cafe")
        assert known is partner and loaded is partner
        for at in (NOW, datetime(2026, 4, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
            in_force = partner_cache.load_partner("cafe", at)
            assert _shards_aside(till_reads(known)) == _shards_aside(till_reads(in_force))
            assert known.campaign_rules() == in_force.campaign_rules()
    cache.clear()


def _shards_aside(reads: list[Any]) -> list[Any]:
    """The read keys without the budget shard's number (drawn at random per read)."""
    return [(m, pk.rpartition("#")[0] if "SHARD" in sk else pk, sk) for m, pk, sk in reads]


def test_events_and_grants_built_without_the_frozen_init_are_the_dataclass_itself() -> None:
    """``Event.of`` and ``Grant.of`` store the fields as the frozen ``__init__`` does: equal, same ``__dict__``,
    same hash, still frozen."""
    from chalicelib.domain.events import Event
    from chalicelib.domain.orders import Grant

    for args in (
        ("evt_1", "accrual.created", "ptn_a", "2026-03-01T00:00:00+00:00", {"points": 5}),
        ("evt_2", "tier.changed", "*", "2026-03-02T10:00:00.000001+00:00", {}),
    ):
        fast, slow = Event.of(*args), Event(*args)
        assert fast == slow and type(fast) is Event and fast.__dict__ == slow.__dict__
        assert list(fast.__dict__) == list(slow.__dict__) and fast.payload() == slow.payload()
    grant_args = (("base", "ptn_a", "ptn_a", 10, "2027-05|ptn_a", ""), ("award", "cmp_1", "ptn_b", 3, "2027-05|b", "p"))
    for g in grant_args:
        fast_g, slow_g = Grant.of(*g), Grant(*g)  # type: ignore[arg-type]
        assert fast_g == slow_g and hash(fast_g) == hash(slow_g) and fast_g.__dict__ == slow_g.__dict__
        assert list(fast_g.__dict__) == list(slow_g.__dict__) and fast_g.to_dict() == slow_g.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        Grant.of(*grant_args[0]).points = 11  # type: ignore[arg-type, misc]


def test_an_answer_models_json_is_its_model_dump_json() -> None:
    """``built.json_of`` is ``model_dump_json()`` (the serializer with the same default options), built or
    validated, nested, with non-ASCII text, for the answers the write path and the routes render."""
    from chalicelib.machinery.built import built, json_of
    from chalicelib.schemas import AccrualOut, Award, BalanceSummary, QuoteOut

    awards = [built(Award, campaign_id="cmp_é", points=7)]
    values = {
        "accrual_id": "acc_1",
        "order_id": "O-\u2028\"'<>&",
        "customer_id": "cus_1",
        "amount_minor": 10**15,
        "points": -3,
        "bonus_points": 7,
        "awards": awards,
        "status": "available",
        "available_at": "2026-05-10T12:00:00+00:00",
        "balance": built(BalanceSummary, available=1, pending=0, held=2),
    }
    models = [
        built(AccrualOut, **values),
        AccrualOut.model_construct(**values),
        AccrualOut.model_validate({**values, "awards": [a.model_dump() for a in awards], "balance": values["balance"]}),
        QuoteOut(available=1, max_points=2, max_discount_minor=3),
        BalanceSummary(available=0, pending=0, held=0),
    ]
    for model in models:
        assert json_of(model) == model.model_dump_json()
