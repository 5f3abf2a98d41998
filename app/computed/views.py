"""Each computed view: read the plain data (sources), then calculate (pure modules)."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.campaigns.calendar import Deadline, Period, build_deadlines, build_periods
from app.campaigns.definition import CampaignDefinition, Table
from app.campaigns.service import due_overrides, get_period, get_table
from app.computed.compliance import Judgement, ReceiptKey, judge_all, nth_receipt
from app.computed.deltas import Delta, compute_deltas
from app.computed.goals import (
    CityPostings,
    CountyWeek,
    PostingsProgress,
    city_postings,
    county_weeks,
    coverage_of,
    judged,
    local_day,
    postings_progress,
    share_met,
    shortfalls,
    started_periods,
)
from app.computed.series import Report, build_series
from app.computed.sources import (
    HeadFacts,
    carrying_reports,
    case_receipt_times,
    contact_receipts,
    county_period_events,
    current_warnings,
    document_receipts,
    event_counts,
    indicator_points,
    load_reports,
    snapshot_heads,
    snapshot_key_counts,
    snapshot_receipts,
    snapshot_reviews,
)
from app.computed.totals import (
    IndicatorPoint,
    IndicatorTotal,
    compute_totals,
    province_series,
)
from app.core.errors import FieldError, InvalidInput
from app.regions.models import Region, RegionLevel
from app.reporting.cross_checks import cross_table_warnings
from app.reporting.snapshots import violation_document


@dataclass(frozen=True)
class Scope:
    definition: CampaignDefinition
    periods: list[Period]
    # item (a period or a one-off deliverable) -> its due instant as moved by an admin
    overrides: Mapping[str, datetime]

    @property
    def order(self) -> dict[str, int]:
        return {p.id: p.index for p in self.periods}

    def deadlines(self) -> list[Deadline]:
        return build_deadlines(self.definition, self.periods, overrides=self.overrides)


def scope_of(session: Session, definition: CampaignDefinition) -> Scope:
    overrides = due_overrides(session, definition)
    return Scope(definition, build_periods(definition, overrides=overrides), overrides)


def chosen_tables(definition: CampaignDefinition, table: str | None) -> list[Table]:
    return [get_table(definition, table)] if table else list(definition.tables)


def chosen_cities(definition: CampaignDefinition, city: str | None) -> list[str]:
    if city is None:
        return list(definition.reporting_units)
    if city not in definition.reporting_units:
        raise InvalidInput(
            f"{city} is not a reporting unit of {definition.id}",
            errors=[FieldError("query.city", "unknown_city", "use a 6-digit city code")],
        )
    return [city]


def current_period(periods: Sequence[Period], day: date) -> Period:
    """The latest period that has started on `day` (the first before the campaign starts)."""
    started = [p for p in periods if p.start <= day]
    return started[-1] if started else periods[0]


def chosen_period(scope: Scope, period: str | None, at: datetime) -> Period:
    """The period a view answers for: the one the client names, or by default the latest
    that has started at `at` (the view's instant, on the campaign's calendar)."""
    if period:
        return get_period(scope.periods, period)
    return current_period(scope.periods, local_day(at, scope.definition.zone))


def deltas_view(
    session: Session,
    scope: Scope,
    *,
    table: str | None,
    city: str | None,
    indicator: str | None,
    as_of: datetime | None,
) -> list[Delta]:
    tables = chosen_tables(scope.definition, table)
    if indicator is not None and not any(t.indicator(indicator) for t in tables):
        raise InvalidInput(
            f"no indicator {indicator!r} in the chosen table(s)",
            errors=[
                FieldError(
                    "query.indicator", "unknown_indicator", "see GET /campaigns/{id}/tables/{table}"
                )
            ],
        )
    # Filter in SQL only for one city: a long IN list of every city gains nothing.
    cities = chosen_cities(scope.definition, city) if city else None
    reports = load_reports(
        session, scope.definition.id, tables=[t.id for t in tables], cities=cities, as_of=as_of
    )
    deltas = compute_deltas(build_series(reports, scope.order), scope.order)
    return [d for d in deltas if indicator is None or d.indicator == indicator]


def totals_view(
    session: Session,
    scope: Scope,
    *,
    table: str | None,
    period: str,
    as_of: datetime | None,
) -> list[tuple[Table, IndicatorTotal]]:
    get_period(scope.periods, period)
    tables = chosen_tables(scope.definition, table)
    cities = list(scope.definition.reporting_units)
    up_to = [p.id for p in scope.periods if p.index <= scope.order[period]]
    result = []
    for t in tables:
        keys = [i.key for i in t.indicators]
        reports = carrying_reports(session, scope.definition.id, t.id, keys, up_to, as_of)
        result += [
            (t, total) for total in compute_totals(reports, t.id, keys, cities, period, scope.order)
        ]
    return result


@dataclass(frozen=True)
class GoalsResult:
    at: datetime
    postings: PostingsProgress
    weeks: list[CountyWeek]
    judged: int  # county-weeks of ended weeks
    shortfalls: list[CountyWeek]
    share_met: Decimal
    city: CityPostings | None = None  # with `?city=`: that city's postings, no target
    city_increases: Sequence[Delta] = ()  # its reported periods' increases, as in /deltas


def county_list(session: Session, definition: CampaignDefinition) -> list[tuple[str, str]]:
    """(county, city) of every county of the reporting cities, in code order."""
    # Filtered here rather than by an IN list of hundreds of cities, which costs the
    # database more than reading the few thousand counties.
    units = set(definition.reporting_units)
    rows = session.connection().execute(_COUNTIES).all()
    return [(code, parent) for code, parent in rows if parent in units]


_COUNTIES = (
    select(Region.code, Region.parent_code)
    .where(Region.level == RegionLevel.county)
    .order_by(col(Region.code))
)


def _latest_reports(
    points: Sequence[IndicatorPoint],
    basis_period: str | None,
    order: Mapping[str, int],
    cities: Sequence[str],
) -> dict[str, tuple[str, Decimal]]:
    """Each reporting city's latest reported (period, value) up to the basis period."""
    if basis_period is None:
        return {}
    counted = set(cities)
    latest: dict[str, tuple[str, Decimal]] = {}
    for point in points:
        rank = order[point.period]
        if (
            point.city in counted
            and rank <= order[basis_period]
            and (point.city not in latest or rank > order[latest[point.city][0]])
        ):
            latest[point.city] = (point.period, point.value)
    return latest


def goals_view(
    session: Session,
    scope: Scope,
    *,
    at: datetime,
    as_of: datetime | None,
    city: str | None,
    period: str | None,
) -> GoalsResult:
    definition = scope.definition
    goal = definition.goals
    at_day = local_day(at, definition.zone)
    points = indicator_points(
        session, definition.id, goal.postings.table, goal.postings.indicator, as_of
    )
    totals = province_series(points, definition.reporting_units, scope.order)
    reported = {point.period for point in points}
    postings = postings_progress(totals, reported, scope.periods, goal.postings.target, at_day)
    latest = _latest_reports(points, postings.basis_period, scope.order, definition.reporting_units)
    postings = replace(
        postings,
        coverage=coverage_of(
            {c: period for c, (period, _) in latest.items()},
            definition.reporting_units,
            postings.basis_period,
        ),
    )

    weeks_in_scope = [
        p for p in started_periods(scope.periods, at_day) if period is None or p.id == period
    ]
    if period is not None:
        get_period(scope.periods, period)
    only = chosen_cities(definition, city)[0] if city is not None else None
    counties = [
        (county, parent)
        for county, parent in county_list(session, definition)
        if only is None or parent == only
    ]
    counts = county_period_events(
        session, definition.id, goal.county_events.modes, as_of, scope.periods
    )
    weeks = county_weeks(counts, counties, weeks_in_scope, goal.county_events, at_day)
    ended = len(judged(weeks))
    short = shortfalls(weeks)
    result = GoalsResult(at, postings, weeks, ended, short, share_met(ended - len(short), ended))
    if only is None:
        return result
    basis = postings.basis_period
    increases = [
        d
        for d in deltas_view(
            session,
            scope,
            table=goal.postings.table,
            city=only,
            indicator=goal.postings.indicator,
            as_of=as_of,
        )
        if basis is not None and scope.order[d.period] <= scope.order[basis]
    ]
    return replace(
        result,
        city=city_postings(latest, only, basis, postings.actual),
        city_increases=increases,
    )


def receipts_by_deliverable(
    session: Session,
    definition: CampaignDefinition,
    heads: Mapping[tuple[str, str, str], HeadFacts],
    as_of: datetime | None,
) -> dict[ReceiptKey, datetime]:
    """When each deliverable instance counts as received (SPEC 5): a table at its first
    accepted revision, weekly cases at the arrival of the required n-th case, contacts at
    their first version, reports at their first document of that kind."""
    snapshots = snapshot_receipts(heads, as_of)
    contacts = contact_receipts(session, definition.id, as_of)
    documents = document_receipts(session, definition.id, as_of)
    cases = case_receipt_times(session, definition.id, as_of)
    receipts: dict[ReceiptKey, datetime] = {}
    for deliverable in definition.deliverables:
        if deliverable.source == "table":
            for (city, table, period), first in snapshots.items():
                if table == deliverable.table:
                    receipts[(city, deliverable.id, period)] = first
        elif deliverable.source == "contacts":
            for city, first in contacts.items():
                receipts[(city, deliverable.id, None)] = first
        elif deliverable.source == "cases":
            for (city, period), times in cases.items():
                nth = nth_receipt(times, deliverable.min_count)
                if nth is not None:
                    receipts[(city, deliverable.id, period)] = nth
        else:
            for (city, kind), first in documents.items():
                if kind == deliverable.document_kind:
                    receipts[(city, deliverable.id, None)] = first
    return receipts


def completeness_by_deliverable(
    session: Session,
    definition: CampaignDefinition,
    heads: Mapping[tuple[str, str, str], HeadFacts],
    as_of: datetime | None,
) -> dict[ReceiptKey, tuple[int, int]]:
    """(reported, expected) indicators of each table deliverable's snapshot: a T1 with 4 of
    its 18 indicators is received, but the province must see that it is incomplete."""
    counts = snapshot_key_counts(session, definition.id, heads, as_of)
    expected = {t.id: len(t.indicators) for t in definition.tables}
    return {
        (city, deliverable.id, period): (count, expected[table])
        for deliverable in definition.deliverables
        if deliverable.table is not None
        for (city, table, period), count in counts.items()
        if table == deliverable.table
    }


def compliance_view(
    session: Session,
    scope: Scope,
    *,
    at: datetime,
    as_of: datetime | None,
    city: str | None,
    period: str | None,
) -> list[Judgement]:
    definition = scope.definition
    if period is not None:
        get_period(scope.periods, period)
    deadlines = [d for d in scope.deadlines() if period is None or d.period == period]
    heads = snapshot_heads(session, definition.id)
    reviews = snapshot_reviews(session, definition.id, as_of)
    return judge_all(
        deadlines,
        receipts_by_deliverable(session, definition, heads, as_of),
        chosen_cities(definition, city),
        at,
        completeness_by_deliverable(session, definition, heads, as_of),
        reviews={
            (code, deliverable.id, period): decisions
            for deliverable in definition.deliverables
            if deliverable.table is not None
            for (code, table, period), decisions in reviews.items()
            if table == deliverable.table
        },
        reviewed={d.id for d in definition.deliverables if d.table is not None},
    )


@dataclass(frozen=True)
class FairsCheck:
    city: str
    period: str
    fairs_delta: Decimal | None
    events_registered: int
    # The periods the delta covers: from the one after the city's previous T1 report up to
    # `period` (several when the city skipped a week); the events are counted over the same.
    covers: tuple[str, ...]


def _fairs_check(
    city: str,
    period: str,
    delta: Delta | None,
    registered: Mapping[tuple[str, str], int],
    periods: Sequence[Period],
) -> FairsCheck:
    ids = [p.id for p in periods]
    end = ids.index(period)
    if delta is None:
        start = end
    elif delta.previous_period is None:
        start = 0
    else:
        start = ids.index(delta.previous_period) + 1
    covers = tuple(ids[start : end + 1])
    return FairsCheck(
        city,
        period,
        None if delta is None else delta.delta,
        sum(registered.get((city, q), 0) for q in covers),
        covers,
    )


@dataclass(frozen=True)
class OpenWarning:
    city: str
    table: str
    period: str
    revision: int
    warning: dict[str, Any]


def quality_view(
    session: Session,
    scope: Scope,
    *,
    as_of: datetime | None,
    city: str | None,
) -> tuple[list[FairsCheck], list[OpenWarning]]:
    definition = scope.definition
    cities = chosen_cities(definition, city)
    checks = _events_checks(session, scope, as_of=as_of, city=city, cities=cities)
    cross_tables = sorted({t for rule in definition.cross_rules for t in rule.tables})
    if as_of is None:
        rows = current_warnings(session, definition.id)
        all_reports = (
            load_reports(
                session, definition.id, tables=cross_tables, cities=[city] if city else None
            )
            if cross_tables
            else []
        )
    else:
        all_reports = load_reports(
            session, definition.id, cities=[city] if city else None, as_of=as_of
        )
        rows = [
            (r.city, r.table, r.period, r.revision, [dict(w) for w in r.warnings])
            for r in all_reports
        ]
    # A stored cross-table warning is what its write was told; whether it is still open
    # depends on the other table's values since, so those rules are evaluated again.
    cross_ids = {rule.id for rule in definition.cross_rules}
    warnings = [
        OpenWarning(c, table, period, revision, dict(w))
        for c, table, period, revision, found in rows
        if c in cities
        for w in found
        if w["rule"] not in cross_ids
    ] + [w for w in _cross_warnings(definition, all_reports) if w.city in cities]
    warnings.sort(key=lambda w: (w.city, scope.order[w.period], w.table, w.revision))
    return checks, warnings


def _events_checks(
    session: Session,
    scope: Scope,
    *,
    as_of: datetime | None,
    city: str | None,
    cities: Sequence[str],
) -> list[FairsCheck]:
    """The table's events column against the registered events, per city and week (none
    when the definition names no such column)."""
    definition = scope.definition
    if definition.quality is None:
        return []
    column = definition.quality.events_indicator
    reports = load_reports(
        session,
        definition.id,
        tables=[column.table],
        cities=[city] if city else None,
        as_of=as_of,
    )
    fairs = {
        (d.city, d.period): d
        for d in compute_deltas(build_series(reports, scope.order), scope.order)
        if d.indicator == column.key
    }
    registered: Counter[tuple[str, str]] = Counter()
    for facts, count in event_counts(session, definition.id, as_of, scope.periods).items():
        registered[(facts.city, facts.period)] += count
    return [
        _fairs_check(c, p, fairs.get((c, p)), registered, scope.periods)
        for c, p in sorted(set(fairs) | set(registered), key=lambda k: (k[0], scope.order[k[1]]))
        if c in cities
    ]


def _cross_warnings(definition: CampaignDefinition, reports: Sequence[Report]) -> list[OpenWarning]:
    """The cross rules broken by `reports`, each on the later received of its tables' reports:
    the write that would have returned it."""
    grouped: dict[tuple[str, str], list[Report]] = {}
    for report in reports:
        grouped.setdefault((report.city, report.period), []).append(report)
    found = []
    for (city, period), group in grouped.items():
        known: dict[str, dict[str, Decimal]] = {}
        for report in sorted(group, key=lambda r: (r.received_at, r.table)):
            known[report.table] = {k: Decimal(v) for k, v in report.values.items()}
            found += [
                OpenWarning(city, report.table, period, report.revision, violation_document(v))
                for v in cross_table_warnings(definition, report.table, known)
            ]
    return found
