"""The pure core, no I/O: points maths, lots, periods, tiers, phone normalisation."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import (
    DEFAULT_TIERS,
    allocate,
    by_issuer,
    cumulative_share,
    earn_points,
    expiry_period,
    last_day,
    lot_key,
    normalize_card,
    normalize_phone,
    period_of,
    redemption_cap_points,
    refill,
    spend_12m,
    tier_status,
)


class TestEarn:
    def test_contract_example_five_percent_of_1500_rub_is_75_points(self):
        assert earn_points(150_000, 500, 100) == 75

    def test_floors_before_the_multiplier_and_after_it(self):
        # 199.99 RUB at 5 % = 9.9995 points -> 9; silver 1.25x -> 11.25 -> 11
        assert earn_points(19_999, 500, 100) == 9
        assert earn_points(19_999, 500, 100, 12_500) == 11

    def test_point_value_scales_points(self):
        assert earn_points(150_000, 500, 50) == 150

    def test_zero_rate_or_amount_earns_nothing(self):
        assert earn_points(0, 500, 100) == 0
        assert earn_points(10_000, 0, 100) == 0


class TestRedemptionCap:
    def test_half_of_the_order_in_whole_points(self):
        assert redemption_cap_points(100_050, 5000, 100) == 500

    def test_zero_share_allows_nothing(self):
        assert redemption_cap_points(100_000, 0, 100) == 0


class TestProRata:
    @given(
        total=st.integers(0, 10_000),
        whole=st.integers(1, 10**9),
        cuts=st.lists(st.integers(1, 10**9), min_size=1, max_size=8),
    )
    def test_partial_refunds_add_up_exactly_to_the_whole(self, total, whole, cuts):
        refunded, moved = 0, 0
        for cut in cuts:
            step = min(cut, whole - refunded)
            if step <= 0:
                break
            moved += cumulative_share(total, refunded, refunded + step, whole)
            refunded += step
        if refunded < whole:
            moved += cumulative_share(total, refunded, whole, whole)
        assert moved == total

    def test_each_share_is_floored(self):
        assert cumulative_share(75, 0, 50_000, 150_000) == 25
        assert cumulative_share(10, 0, 1, 3) == 3
        assert cumulative_share(10, 1, 2, 3) == 3
        assert cumulative_share(10, 2, 3, 3) == 4


class TestLots:
    def test_allocate_takes_earliest_expiry_first(self):
        lots = {lot_key("2027-05", "b"): 10, lot_key("2027-03", "a"): 5, lot_key("2027-04", "c"): 0}
        assert allocate(lots, 12) == [("2027-03|a", 5), ("2027-05|b", 7)]

    def test_allocate_refuses_more_than_lots_hold(self):
        with pytest.raises(ValueError):
            allocate({"2027-03|a": 5}, 6)

    def test_refill_returns_to_consumed_lots_without_exceeding_what_they_gave(self):
        consumed = [("2027-03|a", 5), ("2027-05|b", 7)]
        assert refill(consumed, {}, 6) == [("2027-03|a", 5), ("2027-05|b", 1)]
        assert refill(consumed, {"2027-03|a": 5, "2027-05|b": 1}, 6) == [("2027-05|b", 6)]
        with pytest.raises(ValueError):
            refill(consumed, {"2027-03|a": 5, "2027-05|b": 7}, 1)

    def test_by_issuer_sums_per_issuing_partner(self):
        assert by_issuer([("2027-03|a", 5), ("2027-05|a", 2), ("2027-05|b", 7)]) == {"a": 7, "b": 7}

    @given(
        st.dictionaries(st.sampled_from(["2027-01|a", "2027-02|b", "2027-03|a"]), st.integers(0, 50)),
        st.integers(0, 150),
    )
    def test_allocate_never_overdraws_a_lot(self, lots, points):
        if points > sum(lots.values()):
            with pytest.raises(ValueError):
                allocate(lots, points)
            return
        taken = allocate(lots, points)
        assert sum(n for _, n in taken) == points
        assert all(0 < n <= lots[k] for k, n in taken)


class TestPeriods:
    def test_month_is_taken_in_the_program_time_zone(self):
        # 22:30 UTC on 31 Jan is already 1 Feb in Moscow (UTC+3)
        moment = datetime(2026, 1, 31, 22, 30, tzinfo=UTC)
        assert period_of(moment, "Europe/Moscow") == "2026-02"
        assert period_of(moment, "UTC") == "2026-01"

    def test_points_expire_at_the_end_of_the_month_n_months_later(self):
        assert expiry_period(datetime(2026, 3, 10, tzinfo=UTC), "Europe/Moscow", 12) == "2027-03"
        assert expiry_period(datetime(2026, 11, 10, tzinfo=UTC), "Europe/Moscow", 3) == "2027-02"
        assert last_day("2028-02") == date(2028, 2, 29)


class TestTiers:
    def test_rolling_twelve_months_only(self):
        spend = {"2025-03": 9_000_000, "2025-04": 1_000_000, "2026-03": 500_000}
        assert spend_12m(spend, "2026-03") == 1_500_000

    def test_tier_and_distance_to_next(self):
        assert tier_status(0, DEFAULT_TIERS).name == "bronze"
        silver = tier_status(3_000_000, DEFAULT_TIERS)
        assert (silver.name, silver.multiplier_bps, silver.next_tier, silver.spend_to_next_minor) == (
            "silver",
            12_500,
            "gold",
            7_000_000,
        )
        gold = tier_status(20_000_000, DEFAULT_TIERS)
        assert (gold.name, gold.next_tier, gold.spend_to_next_minor) == ("gold", None, None)


class TestIdentity:
    @pytest.mark.parametrize(
        "raw", ["+7 916 123-45-67", "89161234567", "8 (916) 123 45 67", "9161234567", "+79161234567", "007 916 1234567"]
    )
    def test_every_common_spelling_is_one_number(self, raw):
        assert normalize_phone(raw) == "+79161234567"

    @pytest.mark.parametrize("raw", ["12", "+0123456789", "phone", "+7916123456789012", ""])
    def test_rejects_what_is_not_a_phone(self, raw):
        with pytest.raises(ValueError):
            normalize_phone(raw)

    def test_card_ignores_spaces_dashes_and_case(self):
        assert normalize_card("demo-0001 ab") == "DEMO0001AB"
        with pytest.raises(ValueError):
            normalize_card("💳💳💳💳")
