"""Hand-worked cases for the pure calculations behind the computed views."""

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from app.campaigns.calendar import build_deadlines, build_periods
from app.campaigns.definition import CountyEventsGoal, read_definition_file
from app.computed.compliance import judge, judge_all, nth_receipt, summarize
from app.computed.deltas import compute_deltas
from app.computed.goals import (
    county_weeks,
    coverage_of,
    judged,
    postings_progress,
    required_events,
    share_met,
    shortfall,
    shortfalls,
)
from app.computed.series import Report, build_series
from app.computed.totals import IndicatorPoint, compute_totals, province_series

DEFINITION = read_definition_file(
    Path(__file__).resolve().parents[1] / "app/campaigns/definitions/js-2024.yaml"
)
PERIODS = build_periods(DEFINITION)
ORDER = {p.id: p.index for p in PERIODS}
CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 1, 26, 9, 0, tzinfo=CST)


def report(city: str, period: str, revision: int = 1, **values: int) -> Report:
    return Report(city, "t1", period, {k: str(v) for k, v in values.items()}, revision, T0)


SEASON = [
    report("A", "W01", fairs_total=5),
    report("A", "W02", fairs_total=12),
    report("A", "W04", fairs_total=20, revision=3),
    report("A", "W05", fairs_total=18),
    report("B", "W03", fairs_total=9, postings_total=100),
]


def test_deltas_with_gaps_decreases_and_late_starters() -> None:
    deltas = compute_deltas(build_series(SEASON, ORDER), ORDER)
    fairs_a = [
        (d.period, int(d.cumulative), int(d.delta), d.previous_period, d.gap, d.negative)
        for d in deltas
        if d.city == "A"
    ]
    assert fairs_a == [
        ("W01", 5, 5, None, False, False),
        ("W02", 12, 7, "W01", False, False),
        ("W04", 20, 8, "W02", True, False),
        ("W05", 18, -2, "W04", False, True),
    ]
    first_b = next(d for d in deltas if d.city == "B" and d.indicator == "fairs_total")
    assert (int(first_b.delta), first_b.previous_period, first_b.gap) == (9, None, True)
    assert next(d for d in deltas if d.period == "W04").revision == 3


def test_a_missing_key_is_not_a_zero() -> None:
    reports = [
        report("A", "W01", fairs_total=5),
        report("A", "W02", postings_total=3),
        report("A", "W03", fairs_total=8),
    ]
    deltas = compute_deltas(build_series(reports, ORDER), ORDER)
    fairs = [
        (d.period, int(d.delta), d.previous_period, d.gap)
        for d in deltas
        if d.indicator == "fairs_total"
    ]
    assert fairs == [("W01", 5, None, False), ("W03", 3, "W01", True)]


def test_totals_carry_values_forward_like_a_stock() -> None:
    [fairs] = compute_totals(SEASON, "t1", ["fairs_total"], ["A", "B", "C"], "W04", ORDER)
    assert fairs.total == 29
    assert [(c.city, int(c.value), c.period, c.stale) for c in fairs.cities] == [
        ("A", 20, "W04", False),
        ("B", 9, "W03", True),
    ]
    assert fairs.stale == ["B"] and fairs.missing == ["C"]
    [early] = compute_totals(SEASON, "t1", ["fairs_total"], ["A", "B", "C"], "W02", ORDER)
    assert early.total == 12 and early.missing == ["B", "C"]
    [never] = compute_totals(SEASON, "t1", ["workers_delivered"], ["A"], "W05", ORDER)
    assert never.total is None and never.missing == ["A"]
    points = [
        IndicatorPoint(r.city, r.period, Decimal(r.values["fairs_total"]))
        for r in SEASON
        if "fairs_total" in r.values
    ]
    totals = province_series(points, ["A", "B"], ORDER)
    assert [totals[p] for p in ("W01", "W02", "W03", "W04", "W05", "W12")] == [
        5,
        12,
        21,
        29,
        27,
        27,
    ]
    assert province_series(points, ["A"], ORDER)["W05"] == 18  # only the counted cities


def test_each_indicator_is_carried_from_the_latest_report_that_has_it() -> None:
    reports = [
        report("A", "W01", fairs_total=5, postings_total=50),
        report("A", "W02", fairs_total=7, revision=2),
        report("A", "W03", postings_total=80),
        report("A", "W06", fairs_total=9),
    ]
    fairs, postings = compute_totals(
        reports, "t1", ["fairs_total", "postings_total"], ["A"], "W04", ORDER
    )
    assert [(int(c.value), c.period, c.revision, c.stale) for c in fairs.cities] == [
        (7, "W02", 2, True)
    ]
    assert [(int(c.value), c.period, c.stale) for c in postings.cities] == [(80, "W03", True)]


def _latest_by_brute_force(
    reports: list[Report], city: str, key: str, period: str
) -> Report | None:
    """The definition itself: the newest report of the city, at or before the period, that
    holds the key."""
    eligible = [
        r
        for r in reports
        if r.city == city and key in r.values and ORDER[r.period] <= ORDER[period]
    ]
    return max(eligible, key=lambda r: ORDER[r.period], default=None)


@pytest.mark.parametrize("seed", range(5))
def test_totals_and_series_agree_with_the_definition_on_random_seasons(seed: int) -> None:
    """Partial reports, gaps and cities that start late, in random order."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    keys, cities = ["fairs_total", "postings_total", "recruitment_funds"], ["A", "B", "C", "D"]
    reports = [
        Report(
            city,
            "t1",
            period,
            {k: str(rng.randint(0, 500)) for k in keys if rng.random() < 0.7},
            rng.randint(1, 3),
            T0,
        )
        for city in cities
        for period in ORDER
        if rng.random() < 0.6
    ]
    rng.shuffle(reports)
    for period in ORDER:
        for total in compute_totals(reports, "t1", keys, cities, period, ORDER):
            expected = {
                city: found
                for city in cities
                if (found := _latest_by_brute_force(reports, city, total.indicator, period))
            }
            assert {c.city: (c.value, c.period, c.revision) for c in total.cities} == {
                city: (Decimal(r.values[total.indicator]), r.period, r.revision)
                for city, r in expected.items()
            }
            assert total.missing == [c for c in cities if c not in expected]
            assert total.stale == [c for c, r in expected.items() if r.period != period]
            assert total.total == (
                sum(Decimal(r.values[total.indicator]) for r in expected.values())
                if expected
                else None
            )
    points = [
        IndicatorPoint(r.city, r.period, Decimal(r.values["postings_total"]))
        for r in reports
        if "postings_total" in r.values
    ]
    series = province_series(points, cities, ORDER)
    for period in ORDER:
        [postings] = compute_totals(reports, "t1", ["postings_total"], cities, period, ORDER)
        assert series[period] == (postings.total or 0)


def test_postings_progress_pace_projection_and_reach_date() -> None:
    totals = {p.id: Decimal(0) for p in PERIODS}
    totals["W01"] = Decimal(100_000)
    for p in PERIODS[1:]:
        totals[p.id] = Decimal(250_000)
    progress = postings_progress(totals, {"W01", "W02"}, PERIODS, 1_000_000, date(2024, 2, 5))
    assert progress.actual == 250_000 and progress.basis_period == "W02"
    assert progress.percent == Decimal("25.00")
    # 12 of the campaign's 75 days have begun by 5 February.
    assert progress.expected_by_at == 160_000 and progress.on_track
    # W01 and W02 (the last three periods up to W02: all there are) added 250,000 in their
    # 9 days (25 January to 2 February); 66 days remain after 2 February.
    assert progress.weekly_rate == round(250_000 * 7 / 9)
    assert progress.projected_final == 250_000 + round(250_000 / 9 * 66)
    # 750,000 more at 250,000 per 9 days is exactly 27 days after 2 February.
    assert progress.projected_reach_date == date(2024, 2, 2) + timedelta(days=27)
    assert progress.reached_on is None


def test_postings_reached_and_behind_pace() -> None:
    totals = {p.id: Decimal(300_000) if p.index < 6 else Decimal(1_000_500) for p in PERIODS}
    reached = postings_progress(totals, {"W05", "W06"}, PERIODS, 1_000_000, date(2024, 3, 2))
    assert reached.reached_on == date(2024, 3, 1) and reached.projected_reach_date is None
    behind = postings_progress(totals, {"W05"}, PERIODS, 1_000_000, date(2024, 3, 2))
    assert not behind.on_track and behind.actual == 300_000
    nothing = postings_progress(totals, set(), PERIODS, 1_000_000, date(2024, 1, 20))
    assert nothing.actual == 0 and nothing.expected_by_at == 0 and nothing.weekly_rate is None


@pytest.mark.parametrize(("days", "required"), [(2, 1), (3, 2), (7, 3), (1, 1), (5, 3)])
def test_partial_weeks_need_a_prorated_number_of_events(days: int, required: int) -> None:
    goal = CountyEventsGoal(per_week=3, modes=["online", "offline"], partial_weeks="prorate_ceil")
    assert required_events(goal, days, 7) == required


def test_county_weeks_and_share_met() -> None:
    goal = DEFINITION.goals.county_events
    weeks = county_weeks(
        {"320102": {"W01": 1, "W02": 2}, "320104": {"W02": 5}},
        [("320102", "320100"), ("320104", "320100")],
        PERIODS[:2],
        goal,
        PERIODS[1].end + timedelta(days=1),
    )
    assert [(w["county"], w["period"], w["events"], w["required"], w["met"]) for w in weeks] == [
        ("320102", "W01", 1, 1, True),
        ("320102", "W02", 2, 3, False),
        ("320104", "W01", 0, 1, False),
        ("320104", "W02", 5, 3, True),
    ]
    assert not any(w["in_progress"] for w in weeks)
    assert share_met(2, len(weeks)) == Decimal("50.00")
    assert [(w["county"], w["period"]) for w in shortfalls(weeks)] == [
        ("320102", "W02"),
        ("320104", "W01"),
    ]
    assert [shortfall(w) for w in weeks] == [0, 1, 1, 0]


@pytest.mark.parametrize("offset_days", [0, -3])
def test_a_week_not_yet_ended_is_in_progress_and_not_judged(offset_days: int) -> None:
    """Issue 12: at 2024-02-26 W06 (02-24..03-01) showed every county 0/3 "not met"."""
    goal = DEFINITION.goals.county_events
    w06 = PERIODS[5]
    weeks = county_weeks(
        {"320102": {"W05": 3}},
        [("320102", "320100")],
        PERIODS[4:6],
        goal,
        w06.end + timedelta(days=offset_days),  # its last day, or mid-week
    )
    assert [(w["period"], w["in_progress"]) for w in weeks] == [("W05", False), ("W06", True)]
    assert judged(weeks) == weeks[:1]
    assert shortfalls(weeks) == []  # W06's 0 events are not a shortfall yet


DUE = datetime(2024, 2, 2, 17, 30, tzinfo=CST)


@pytest.mark.parametrize(
    ("received", "at", "status", "late_by"),
    [
        (DUE, DUE + timedelta(days=1), "on_time", None),
        (DUE + timedelta(seconds=1), DUE + timedelta(days=1), "late", 1),
        (DUE + timedelta(hours=2), DUE + timedelta(days=1), "late", 7200),
        (None, DUE + timedelta(seconds=1), "missing", None),
        (None, DUE, "not_due", None),
        (DUE + timedelta(hours=1), DUE + timedelta(minutes=30), "missing", None),
        (DUE - timedelta(hours=1), DUE - timedelta(hours=2), "not_due", None),
    ],
)
def test_judging_one_deadline(
    received: datetime | None, at: datetime, status: str, late_by: int | None
) -> None:
    assert judge(DUE, received, at) == (status, late_by)


def test_holiday_shifted_deadline_and_summaries() -> None:
    deadlines = [
        d
        for d in build_deadlines(DEFINITION, PERIODS)
        if d.deliverable == "t1" and d.period == "W04"
    ]
    saturday = datetime(2024, 2, 17, 10, 0, tzinfo=CST)  # after Friday, before the shifted due
    judgements = judge_all(
        deadlines, {("A", "t1", "W04"): saturday}, ["A", "B"], datetime(2024, 2, 19, tzinfo=CST)
    )
    assert [(j["city"], j["status"]) for j in judgements] == [("A", "on_time"), ("B", "missing")]
    by_city = summarize(judgements, "city")
    assert by_city["A"] == {"on_time": 1, "late": 0, "missing": 0, "not_due": 0}
    assert summarize(judgements, "deliverable")["t1"]["missing"] == 1


def test_the_third_case_decides_when_cases_were_received() -> None:
    times = [T0 + timedelta(hours=h) for h in (5, 1, 3, 9)]
    assert nth_receipt(times, 3) == T0 + timedelta(hours=5)
    assert nth_receipt(times[:2], 3) is None


def test_the_rate_spreads_a_skipped_week_over_the_time_it_took() -> None:
    """Issue 12: a two-week gain counted as one week. One city, 100/week, skips W04."""
    totals = {p.id: Decimal(0) for p in PERIODS}
    for p in PERIODS:
        reported = {"W01": 100, "W02": 200, "W03": 300, "W05": 500}
        carried = max((v for k, v in reported.items() if k <= p.id), default=0)
        totals[p.id] = Decimal(carried)
    progress = postings_progress(
        totals, {"W01", "W02", "W03", "W05"}, PERIODS, 10_000, PERIODS[4].end
    )
    # W03..W05 gained 300 over their 21 days (W04 is 7 days; the first period may differ)
    days = (PERIODS[4].end - PERIODS[2].start).days + 1
    assert progress.weekly_rate == round(Decimal(300) * 7 / days)
    assert progress.weekly_rate < 150  # not the 200 of "W05 − W04" in one week


def test_coverage_says_which_cities_the_figure_stands_on() -> None:
    cities = ["320100", "320200", "320300"]
    covered = coverage_of({"320100": "W05", "320200": "W03"}, cities, "W05")
    assert covered.reporting == ("320100",)
    assert covered.stale == ("320200",)
    assert covered.missing == ("320300",)
    assert not covered.complete
    caveat = covered.caveat()
    assert caveat is not None and "1/3" in caveat and "1 of 3" in caveat
    assert coverage_of({c: "W05" for c in cities}, cities, "W05").caveat() is None
