"""Periods and due instants, against SPEC section 2's table."""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.campaigns.calendar import build_deadlines, build_periods, due_day, period_of_day
from app.campaigns.definition import CampaignDefinition, read_definition_file

DEFINITION = Path(__file__).resolve().parents[1] / "app/campaigns/definitions/js-2024.yaml"
CST = timezone(timedelta(hours=8))

SPEC_PERIODS = [
    ("W01", "2024-01-25", "2024-01-26", "2024-01-26T17:30:00+08:00"),
    ("W02", "2024-01-27", "2024-02-02", "2024-02-02T17:30:00+08:00"),
    ("W03", "2024-02-03", "2024-02-09", "2024-02-09T17:30:00+08:00"),
    ("W04", "2024-02-10", "2024-02-16", "2024-02-18T17:30:00+08:00"),
    ("W05", "2024-02-17", "2024-02-23", "2024-02-23T17:30:00+08:00"),
    ("W06", "2024-02-24", "2024-03-01", "2024-03-01T17:30:00+08:00"),
    ("W07", "2024-03-02", "2024-03-08", "2024-03-08T17:30:00+08:00"),
    ("W08", "2024-03-09", "2024-03-15", "2024-03-15T17:30:00+08:00"),
    ("W09", "2024-03-16", "2024-03-22", "2024-03-22T17:30:00+08:00"),
    ("W10", "2024-03-23", "2024-03-29", "2024-03-29T17:30:00+08:00"),
    ("W11", "2024-03-30", "2024-04-05", "2024-04-07T17:30:00+08:00"),
    ("W12", "2024-04-06", "2024-04-08", "2024-04-10T17:30:00+08:00"),
]


@pytest.fixture(scope="module")
def definition() -> CampaignDefinition:
    return read_definition_file(DEFINITION)


def test_periods_equal_the_spec_table_with_holiday_shifts(definition: CampaignDefinition) -> None:
    periods = build_periods(definition)
    assert [
        (p.id, p.start.isoformat(), p.end.isoformat(), p.due.isoformat()) for p in periods
    ] == SPEC_PERIODS
    assert [p.days for p in periods] == [2, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 3]
    shifted = {p.id: p.due_day_shifted_from for p in periods if p.due_day_shifted_from}
    assert shifted == {"W04": date(2024, 2, 16), "W11": date(2024, 4, 5)}


def test_without_holiday_rule_due_days_stay_on_friday(definition: CampaignDefinition) -> None:
    plain = definition.model_copy(update={"holiday_rule": "none"})
    w04 = build_periods(plain)[3]
    assert w04.due == datetime(2024, 2, 16, 17, 30, tzinfo=CST)


def test_next_working_day_skips_a_whole_holiday_block() -> None:
    holidays = {date(2024, 10, d) for d in range(1, 8)}
    assert due_day(date(2024, 10, 1), "next_working_day", lambda d: d not in holidays) == date(
        2024, 10, 8
    )


def test_an_override_moves_one_period_only(definition: CampaignDefinition) -> None:
    new_due = datetime(2024, 2, 19, 12, 0, tzinfo=CST)
    periods = build_periods(definition, overrides={"W04": new_due})
    assert periods[3].due == new_due and periods[3].due_overridden
    assert periods[4].due.isoformat() == "2024-02-23T17:30:00+08:00"
    assert not periods[4].due_overridden


def test_deadlines_cover_every_deliverable_instance(definition: CampaignDefinition) -> None:
    deadlines = build_deadlines(definition, build_periods(definition))
    once = {d.deliverable: d.due.isoformat() for d in deadlines if d.period is None}
    assert once == {
        "contacts": "2024-01-26T17:30:00+08:00",
        "stage_report": "2024-02-29T17:30:00+08:00",
        "final_summary": "2024-04-10T17:30:00+08:00",
    }
    weekly = [d for d in deadlines if d.period is not None]
    assert len(weekly) == 3 * 12
    assert {d.due.isoformat() for d in weekly if d.period == "W11"} == {"2024-04-07T17:30:00+08:00"}


def test_period_of_day(definition: CampaignDefinition) -> None:
    periods = build_periods(definition)
    found = period_of_day(periods, date(2024, 2, 17))
    assert found is not None and found.id == "W05"
    assert period_of_day(periods, date(2024, 4, 9)) is None
