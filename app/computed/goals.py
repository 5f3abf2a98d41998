"""The campaign's goals (SPEC 5): postings progress and county recruitment events per week."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import NotRequired, TypedDict

from app.campaigns.calendar import Period
from app.campaigns.definition import CountyEventsGoal

# The weekly rate is the province's gain over up to this many periods ending with the latest
# reported one: a city that skipped a week is then counted over the time its gain took,
# instead of a two-week gain landing in one week.
RATE_WINDOW = 3


@dataclass(frozen=True)
class Coverage:
    """Which cities the province figure stands on, at the basis period."""

    cities: int  # reporting units of the campaign
    reporting: tuple[str, ...]  # reported in the basis period
    stale: tuple[str, ...]  # carried forward from an earlier period
    missing: tuple[str, ...]  # never reported

    @property
    def complete(self) -> bool:
        return len(self.reporting) == self.cities

    def caveat(self) -> str | None:
        if self.complete:
            return None
        return (
            f"含 {len(self.reporting)}/{self.cities} 市本期数据"
            f"（{len(self.stale)} 市沿用前期数据，{len(self.missing)} 市未报）: "
            f"based on {len(self.reporting)} of {self.cities} cities' figures for this period "
            f"({len(self.stale)} carried forward, {len(self.missing)} never reported)"
        )


def coverage_of(
    latest_by_city: Mapping[str, str], cities: Sequence[str], basis_period: str | None
) -> Coverage:
    """`latest_by_city`: each city's latest reported period up to the basis period."""
    reporting = tuple(c for c in cities if basis_period and latest_by_city.get(c) == basis_period)
    missing = tuple(c for c in cities if c not in latest_by_city)
    stale = tuple(c for c in cities if c not in reporting and c not in missing)
    return Coverage(len(cities), reporting, stale, missing)


@dataclass(frozen=True)
class PostingsProgress:
    target: int
    actual: Decimal
    percent: Decimal
    expected_by_at: Decimal  # the linear pace: target × share of the campaign elapsed at `at`
    on_track: bool
    basis_period: str | None  # the latest period with a reported value, the rate's source
    weekly_rate: Decimal | None
    projected_final: Decimal | None
    reached_on: date | None
    projected_reach_date: date | None
    coverage: Coverage | None = None


def _share_elapsed(periods: Sequence[Period], at_day: date) -> Decimal:
    start, end = periods[0].start, periods[-1].end
    total = (end - start).days + 1
    elapsed = min(max((at_day - start).days + 1, 0), total)
    return Decimal(elapsed) / Decimal(total)


def started_periods(periods: Sequence[Period], at_day: date) -> list[Period]:
    return [p for p in periods if p.start <= at_day]


def postings_progress(
    province_totals: Mapping[str, Decimal],
    reported_periods: set[str],
    periods: Sequence[Period],
    target: int,
    at_day: date,
) -> PostingsProgress:
    """`province_totals` is the carried-forward province total per period."""
    started = started_periods(periods, at_day)
    basis = [p for p in started if p.id in reported_periods]
    actual = province_totals[basis[-1].id] if basis else Decimal(0)
    expected = (Decimal(target) * _share_elapsed(periods, at_day)).quantize(
        Decimal(1), ROUND_HALF_UP
    )
    reached = next(
        (p.end for p in periods if p.id in reported_periods and province_totals[p.id] >= target),
        None,
    )
    rate_per_day = _rate_per_day(province_totals, basis, periods)
    projected_final = projected_reach = None
    if basis and rate_per_day is not None:
        last = basis[-1]
        remaining = (periods[-1].end - last.end).days
        projected_final = _decimal(Fraction(actual) + rate_per_day * remaining)
        if reached is None and rate_per_day > 0:
            days_needed = math.ceil((Fraction(target) - Fraction(actual)) / rate_per_day)
            projected_reach = last.end + timedelta(days=days_needed)
    return PostingsProgress(
        target=target,
        actual=actual,
        percent=(actual * 100 / Decimal(target)).quantize(Decimal("0.01"), ROUND_HALF_UP),
        expected_by_at=expected,
        on_track=actual >= expected,
        basis_period=basis[-1].id if basis else None,
        weekly_rate=None if rate_per_day is None else _decimal(rate_per_day * 7),
        projected_final=projected_final,
        reached_on=reached,
        projected_reach_date=projected_reach,
    )


def _rate_per_day(
    totals: Mapping[str, Decimal], basis: Sequence[Period], periods: Sequence[Period]
) -> Fraction | None:
    """The province's daily rate over the last RATE_WINDOW periods up to the latest reported
    one (from 0 before the first), per elapsed day; kept exact so that "reached in exactly
    35 days" is not 36 by rounding."""
    if not basis:
        return None
    last = basis[-1]
    window = [p for p in periods if p.index <= last.index][-RATE_WINDOW:]
    earlier = [p for p in periods if p.index < window[0].index]
    before = totals[earlier[-1].id] if earlier else Decimal(0)
    days = (last.end - window[0].start).days + 1
    return (Fraction(totals[last.id]) - Fraction(before)) / days


def _decimal(value: Fraction) -> Decimal:
    """Rounded to a whole number (half up), as a Decimal."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1), ROUND_HALF_UP
    )


@dataclass(frozen=True)
class CityPostings:
    """One city's postings without a target (the notice sets none per city, SPEC 5): its
    figure at the province's basis period, its place among the cities and its share."""

    city: str
    basis_period: str | None  # the province's basis period
    actual: Decimal | None  # the city's latest figure up to the basis period; None: never
    reported_period: str | None  # where `actual` comes from; before the basis: carried forward
    share_percent: Decimal | None  # of the province's carried-forward total at the basis
    rank: int | None  # 1 = most postings; cities with equal figures share a rank
    ranked_cities: int  # cities with a figure, the ones ranked


def city_postings(
    latest: Mapping[str, tuple[str, Decimal]],
    city: str,
    basis_period: str | None,
    province_total: Decimal,
) -> CityPostings:
    """`latest`: each city's (period, value) latest up to the basis period."""
    ranked = len(latest)
    if city not in latest:
        return CityPostings(city, basis_period, None, None, None, None, ranked)
    period, value = latest[city]
    rank = 1 + sum(1 for _, other in latest.values() if other > value)
    share = (
        (value * 100 / province_total).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if province_total
        else None
    )
    return CityPostings(city, basis_period, value, period, share, rank, ranked)


def required_events(goal: CountyEventsGoal, days: int, nominal_days: int) -> int:
    """A period the campaign cuts short needs ⌈rate × days / full length⌉ events (SPEC 5,
    decision): a week of 7 days for `per_week`, the cycle's own length for `per_period`."""
    full = 7 if goal.per_week is not None else nominal_days
    if goal.partial_weeks == "full" or days >= full:
        return goal.per_full_period
    return math.ceil(goal.per_full_period * days / full)


class CountyWeek(TypedDict):
    """One county in one period. A plain dict: tens of thousands per national answer, and
    the cheapest Python object to build and to write as JSON."""

    county: str
    county_name: NotRequired[str | None]  # added by app.computed.names for answers
    city: str
    city_name: NotRequired[str | None]
    period: str
    events: int
    required: int
    met: bool
    in_progress: bool  # the week has not ended at `at`: not judged yet


def shortfall(week: CountyWeek) -> int:
    return max(week["required"] - week["events"], 0)


def county_weeks(
    counts: Mapping[str, Mapping[str, int]],
    counties: Sequence[tuple[str, str]],
    periods: Sequence[Period],
    goal: CountyEventsGoal,
    at_day: date,
) -> list[CountyWeek]:
    """Every (county, period) of `periods`; `counts` maps county -> period -> events. A
    period whose last day is `at_day` or later is still in progress (SPEC 5)."""
    required = [
        (period.id, required_events(goal, period.days, period.nominal_days), period.end >= at_day)
        for period in periods
    ]
    weeks: list[CountyWeek] = []
    for county, city in counties:
        per_period = counts.get(county, {})
        weeks += [
            {
                "county": county,
                "city": city,
                "period": period,
                "events": (events := per_period.get(period, 0)),
                "required": needed,
                "met": events >= needed,
                "in_progress": running,
            }
            for period, needed, running in required
        ]
    return weeks


def judged(weeks: Sequence[CountyWeek]) -> list[CountyWeek]:
    """The county-weeks of ended weeks: the only ones that can have failed."""
    return [week for week in weeks if not week["in_progress"]]


def shortfalls(weeks: Sequence[CountyWeek]) -> list[CountyWeek]:
    return [week for week in judged(weeks) if not week["met"]]


def share_met(met: int, total: int) -> Decimal:
    """Percent of the judged county-weeks that met the requirement."""
    if not total:
        return Decimal(0)
    return (Decimal(met) * 100 / total).quantize(Decimal("0.01"), ROUND_HALF_UP)


def local_day(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()
