"""Per-request copies made without ``dataclasses.replace`` and per-request answers remembered are the same values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from chalicelib.domain.periods import period_of
from chalicelib.domain.schedule import Change, Schedule
from chalicelib.services.program import Program


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
    assert program.at(switch).point_value_minor == 50 and program.at(switch - timedelta(seconds=1)).operator_fee_bps == 0


def test_the_period_of_an_instant_is_its_month_in_the_zone_asked_for() -> None:
    """The one-entry memo answers only for the same instant object and zone: a month's edge in Moscow is not UTC's."""
    edge = datetime(2026, 1, 31, 21, 0, tzinfo=UTC)  # 2026-02-01 00:00 in Moscow
    assert period_of(edge, "Europe/Moscow") == "2026-02"
    assert period_of(edge, "UTC") == "2026-01"
    assert period_of(edge, "Europe/Moscow") == "2026-02"
    before = edge - timedelta(microseconds=1)
    assert period_of(before, "Europe/Moscow") == "2026-01"
    assert period_of(datetime(2026, 1, 31, 21, 0, tzinfo=UTC), "Europe/Moscow") == "2026-02"
