"""Set-based reads behind the computed views: one query per kind of record, never one per
city or county. Current data comes from the head rows; `as_of` from the revision history."""

import functools
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import BindParameter, Select, Text, bindparam, case, cast, func, literal
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.campaigns.calendar import Period, period_of_day
from app.cases.models import HighlightCase
from app.computed.compliance import ReviewFact
from app.computed.series import Report
from app.computed.totals import IndicatorPoint
from app.contacts.models import CityContact
from app.documents.models import CityDocument
from app.events.models import (
    TALLIED_MODES,
    TALLY,
    RecruitmentEvent,
    RecruitmentEventRevision,
)
from app.reporting.models import SnapshotHead, SnapshotRevision
from app.review.models import SnapshotReview


def _rows(session: Session, query: Any, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
    """All rows of a column query, on the session's connection: the ORM's result machinery
    adds about a microsecond per row, and national views read tens of thousands of rows."""
    return session.connection().execute(query, params).all()


# Statements every request of a view runs are built once, their values bound by name:
# building one (comparisons, coercions, its cache key) costs a tenth of a millisecond, and
# /compliance runs six.
CAMPAIGN: BindParameter[str] = bindparam("campaign_id")
AS_OF: BindParameter[datetime] = bindparam("as_of")


def _select(*columns: Any) -> Select[Any]:
    """SQLAlchemy's select over plain columns (SQLModel's is typed for at most four)."""
    return select_columns(*columns)


def _json_text(column: Any) -> Any:
    """A JSON column as its text, parsed by orjson: several times faster than the driver's
    json.loads over the thousands of snapshots a national view reads."""
    return cast(column, Text)


def load_reports(
    session: Session,
    campaign_id: str,
    *,
    tables: Sequence[str] | None = None,
    cities: Sequence[str] | None = None,
    as_of: datetime | None = None,
) -> list[Report]:
    if as_of is None:
        return _current_reports(session, campaign_id, tables, cities)
    return _reports_as_of(session, campaign_id, tables, cities, as_of)


def _current_reports(
    session: Session,
    campaign_id: str,
    tables: Sequence[str] | None,
    cities: Sequence[str] | None,
) -> list[Report]:
    """The head rows hold each snapshot's current values; warnings come from its revision."""
    query = _head_reports_query(campaign_id)
    return _head_reports(session, _filtered(query, SnapshotHead, tables, cities))


def _head_reports_query(campaign_id: str) -> Any:
    return _select(
        SnapshotHead.city_code,
        SnapshotHead.table_id,
        SnapshotHead.period_id,
        _json_text(SnapshotHead.current_values),
        SnapshotHead.current_revision,
        SnapshotHead.updated_at,
    ).where(col(SnapshotHead.campaign_id) == campaign_id, col(SnapshotHead.current_revision) > 0)


def _head_reports(session: Session, query: Any) -> list[Report]:
    return [
        Report(city, table, period, orjson.loads(values), revision, received_at)
        for city, table, period, values, revision, received_at in _rows(session, query)
        if received_at is not None
    ]


def carrying_reports(
    session: Session,
    campaign_id: str,
    table: str,
    indicators: Collection[str],
    periods: Sequence[str],
    as_of: datetime | None,
) -> list[Report]:
    """Enough reports to carry each city's values forward to the last of `periods` (given in
    order): its newest report among them, and all of them only for a city whose newest
    report lacks an indicator. A few hundred rows instead of every week of every city."""
    if as_of is not None:
        return load_reports(session, campaign_id, tables=[table], as_of=as_of)
    rank = case(
        {period: index for index, period in enumerate(periods)}, value=SnapshotHead.period_id
    )
    chosen = _head_reports_query(campaign_id).where(
        col(SnapshotHead.table_id) == table, col(SnapshotHead.period_id).in_(periods)
    )
    newest = (
        chosen.with_only_columns(SnapshotHead.city_code, func.max(rank).label("rank"))
        .group_by(col(SnapshotHead.city_code))
        .subquery()
    )
    reports = _head_reports(
        session,
        chosen.join(
            newest, (newest.c.city_code == SnapshotHead.city_code) & (newest.c.rank == rank)
        ),
    )
    wanted = set(indicators)
    lacking = {r.city for r in reports if not wanted.issubset(r.values)}
    if not lacking:
        return reports
    older = _head_reports(session, chosen.where(col(SnapshotHead.city_code).in_(sorted(lacking))))
    return [r for r in reports if r.city not in lacking] + older


def indicator_points(
    session: Session, campaign_id: str, table: str, indicator: str, as_of: datetime | None
) -> list[IndicatorPoint]:
    """Every reported value of one indicator (city, period, value); for the current data only
    that value is read out of each snapshot, in SQL."""
    if as_of is not None:
        return [
            IndicatorPoint(r.city, r.period, Decimal(r.values[indicator]))
            for r in load_reports(session, campaign_id, tables=[table], as_of=as_of)
            if indicator in r.values
        ]
    rows = _rows(session, _indicator_values(table, indicator), {"campaign_id": campaign_id})
    return [
        IndicatorPoint(city, period, Decimal(text))
        for city, period, text in rows
        if text is not None  # not reported
    ]


@functools.cache
def _indicator_values(table: str, indicator: str) -> Select[Any]:
    """(city, period, value as text) of one indicator in the current snapshots of a table:
    built once per indicator (tables and indicators are a campaign's few dozen)."""
    value = col(SnapshotHead.current_values)[indicator].as_string()
    return _select(SnapshotHead.city_code, SnapshotHead.period_id, value).where(
        col(SnapshotHead.campaign_id) == CAMPAIGN,
        col(SnapshotHead.table_id) == table,
        col(SnapshotHead.current_revision) > 0,
    )


def current_warnings(
    session: Session, campaign_id: str
) -> list[tuple[str, str, str, int, list[dict[str, Any]]]]:
    """(city, table, period, revision, warnings) of every current revision with warnings."""
    query = (
        _select(
            SnapshotRevision.city_code,
            SnapshotRevision.table_id,
            SnapshotRevision.period_id,
            SnapshotRevision.revision,
            SnapshotRevision.warnings,
        )
        .join(
            SnapshotHead,
            (col(SnapshotHead.campaign_id) == col(SnapshotRevision.campaign_id))
            & (col(SnapshotHead.city_code) == col(SnapshotRevision.city_code))
            & (col(SnapshotHead.table_id) == col(SnapshotRevision.table_id))
            & (col(SnapshotHead.period_id) == col(SnapshotRevision.period_id))
            & (col(SnapshotHead.current_revision) == col(SnapshotRevision.revision)),
        )
        .where(col(SnapshotRevision.campaign_id) == campaign_id)
    )
    return [
        (city, table, period, revision, warnings)
        for city, table, period, revision, warnings in _rows(session, query)
        if warnings
    ]


def _reports_as_of(
    session: Session,
    campaign_id: str,
    tables: Sequence[str] | None,
    cities: Sequence[str] | None,
    as_of: datetime,
) -> list[Report]:
    """The revision current at `as_of` for each city, table and period (one window query)."""
    rank = (
        func.row_number()
        .over(
            partition_by=(
                SnapshotRevision.city_code,
                SnapshotRevision.table_id,
                SnapshotRevision.period_id,
            ),
            order_by=(
                col(SnapshotRevision.received_at).desc(),
                col(SnapshotRevision.revision).desc(),
            ),
        )
        .label("rank")
    )
    columns: list[Any] = [
        SnapshotRevision.city_code,
        SnapshotRevision.table_id,
        SnapshotRevision.period_id,
        _json_text(SnapshotRevision.values).label("values"),
        SnapshotRevision.revision,
        SnapshotRevision.received_at,
        SnapshotRevision.warnings,
        rank,
    ]
    inner = _select(*columns).where(
        col(SnapshotRevision.campaign_id) == campaign_id,
        col(SnapshotRevision.received_at) <= as_of,
    )
    inner = _filtered(inner, SnapshotRevision, tables, cities)
    ranked = inner.subquery()
    names = ("city_code", "table_id", "period_id", "values", "revision", "received_at", "warnings")
    rows = _rows(session, _select(*[ranked.c[name] for name in names]).where(ranked.c.rank == 1))
    return [
        Report(city, table, period, orjson.loads(values), revision, received_at, warnings)
        for city, table, period, values, revision, received_at, warnings in rows
    ]


def _filtered(
    query: Any,
    model: type[SnapshotHead] | type[SnapshotRevision],
    tables: Sequence[str] | None,
    cities: Sequence[str] | None,
) -> Any:
    if tables is not None:
        query = query.where(col(model.table_id).in_(tables))
    if cities is not None:
        query = query.where(col(model.city_code).in_(cities))
    return query


@dataclass(frozen=True, slots=True)
class HeadFacts:
    """What compliance needs of one current snapshot."""

    first_received_at: datetime | None
    indicator_count: int


_SNAPSHOT_HEADS = select_columns(
    col(SnapshotHead.city_code),
    col(SnapshotHead.table_id),
    col(SnapshotHead.period_id),
    col(SnapshotHead.first_received_at),
    col(SnapshotHead.indicator_count),
).where(col(SnapshotHead.campaign_id) == CAMPAIGN, col(SnapshotHead.current_revision) > 0)


def snapshot_heads(session: Session, campaign_id: str) -> dict[tuple[str, str, str], HeadFacts]:
    """(city, table, period) -> first receipt and indicator count of each accepted snapshot,
    in one read of the heads."""
    rows = _rows(session, _SNAPSHOT_HEADS, {"campaign_id": campaign_id})
    return {
        (city, table, period): HeadFacts(first, count) for city, table, period, first, count in rows
    }


def snapshot_receipts(
    heads: Mapping[tuple[str, str, str], HeadFacts], as_of: datetime | None
) -> dict[tuple[str, str, str], datetime]:
    """(city, table, period) -> when the first accepted revision was received."""
    return {
        key: head.first_received_at
        for key, head in heads.items()
        if head.first_received_at is not None and (as_of is None or head.first_received_at <= as_of)
    }


def snapshot_key_counts(
    session: Session,
    campaign_id: str,
    heads: Mapping[tuple[str, str, str], HeadFacts],
    as_of: datetime | None,
) -> dict[tuple[str, str, str], int]:
    """(city, table, period) -> how many indicators the snapshot (current, or as of) holds."""
    if as_of is not None:
        return {
            (r.city, r.table, r.period): len(r.values)
            for r in load_reports(session, campaign_id, as_of=as_of)
        }
    return {key: head.indicator_count for key, head in heads.items()}


_RESUBMISSION = (
    (col(SnapshotRevision.campaign_id) == col(SnapshotReview.campaign_id))
    & (col(SnapshotRevision.city_code) == col(SnapshotReview.city_code))
    & (col(SnapshotRevision.table_id) == col(SnapshotReview.table_id))
    & (col(SnapshotRevision.period_id) == col(SnapshotReview.period_id))
    & (col(SnapshotRevision.revision) == col(SnapshotReview.revision) + 1)
    & (col(SnapshotReview.decision) == "return")
)
_REVIEWS = (
    _select(
        SnapshotReview.city_code,
        SnapshotReview.table_id,
        SnapshotReview.period_id,
        SnapshotReview.decision,
        SnapshotReview.revision,
        SnapshotReview.decided_at,
        SnapshotReview.resubmit_by,
        SnapshotRevision.received_at,
    )
    .select_from(SnapshotReview)
    .outerjoin(SnapshotRevision, _RESUBMISSION)
    .where(col(SnapshotReview.campaign_id) == CAMPAIGN)
    .order_by(col(SnapshotReview.id))
)
_REVIEWS_AS_OF = _REVIEWS.where(col(SnapshotReview.decided_at) <= AS_OF)


def snapshot_reviews(
    session: Session, campaign_id: str, as_of: datetime | None
) -> dict[tuple[str, str, str], list[ReviewFact]]:
    """(city, table, period) -> its review decisions in order (those made by `as_of`), each
    return with when the revision after the one it judged arrived: one query."""
    query = _REVIEWS if as_of is None else _REVIEWS_AS_OF
    facts: dict[tuple[str, str, str], list[ReviewFact]] = {}
    for city, table, period, decision, revision, decided_at, due, resubmitted in _rows(
        session, query, {"campaign_id": campaign_id, "as_of": as_of}
    ):
        if resubmitted is not None and as_of is not None and resubmitted > as_of:
            resubmitted = None
        facts.setdefault((city, table, period), []).append(
            ReviewFact(decision, revision, decided_at, due, resubmitted)
        )
    return facts


_CONTACTS = select(CityContact.city_code, CityContact.first_received_at).where(
    CityContact.campaign_id == CAMPAIGN
)


def contact_receipts(
    session: Session, campaign_id: str, as_of: datetime | None
) -> dict[str, datetime]:
    rows = _rows(session, _CONTACTS, {"campaign_id": campaign_id})
    return {city: first for city, first in rows if as_of is None or first <= as_of}


_DOCUMENTS = (
    _select(CityDocument.city_code, CityDocument.kind, func.min(CityDocument.received_at))
    .where(col(CityDocument.campaign_id) == CAMPAIGN)
    .group_by(col(CityDocument.city_code), col(CityDocument.kind))
)
_DOCUMENTS_AS_OF = _DOCUMENTS.where(col(CityDocument.received_at) <= AS_OF)


def document_receipts(
    session: Session, campaign_id: str, as_of: datetime | None
) -> dict[tuple[str, str], datetime]:
    """(city, kind) -> when the first document of that kind arrived."""
    query = _DOCUMENTS if as_of is None else _DOCUMENTS_AS_OF
    rows = _rows(session, query, {"campaign_id": campaign_id, "as_of": as_of})
    return {(city, kind): first for city, kind, first in rows}


_CASES = select(
    HighlightCase.city_code, HighlightCase.period_id, HighlightCase.first_received_at
).where(HighlightCase.campaign_id == CAMPAIGN, col(HighlightCase.urgent).is_(False))


def case_receipt_times(
    session: Session, campaign_id: str, as_of: datetime | None
) -> dict[tuple[str, str], list[datetime]]:
    """(city, period) -> when each highlight case of that week first arrived. Urgent reports
    (重要舆情/突发事件) are a track of their own and never count toward the weekly cases."""
    times: dict[tuple[str, str], list[datetime]] = {}
    for city, period, first in _rows(session, _CASES, {"campaign_id": campaign_id}):
        if as_of is None or first <= as_of:
            times.setdefault((city, period), []).append(first)
    return times


def county_period_events(
    session: Session,
    campaign_id: str,
    modes: Collection[str],
    as_of: datetime | None,
    periods: Sequence[Period],
) -> dict[str, dict[str, int]]:
    """county -> period -> registered events of the given modes (goal tracking)."""
    if as_of is None:
        # One row per county, not one per county-week (34,128 at national scale: a row
        # costs Python more than the database's aggregation). PostgreSQL sums a column per
        # period fastest; SQLite packs "W01:29,W02:31,…" into one string fastest.
        params = {"campaign_id": campaign_id}
        if session.get_bind().dialect.name == "postgresql":
            ids = tuple(period.id for period in periods)
            rows = _rows(session, _summed_per_period(tuple(sorted(modes)), ids), params)
            return {
                county: {id_: n for id_, n in zip(ids, counts, strict=True) if n is not None}
                for county, *counts in rows
            }
        rows = _rows(session, _packed_per_period(tuple(sorted(modes))), params)
        return {county: _unpack_counts(text) for county, text in rows}
    counts: dict[str, dict[str, int]] = {}
    for facts, count in _event_counts_as_of(session, campaign_id, as_of, periods).items():
        if facts.mode in modes:
            per_period = counts.setdefault(facts.county, {})
            per_period[facts.period] = per_period.get(facts.period, 0) + count
    return counts


def _counted(modes: tuple[str, ...]) -> Any:
    return sum((TALLY.c[mode] for mode in modes), literal(0))


@functools.cache
def _summed_per_period(modes: tuple[str, ...], ids: tuple[str, ...]) -> Select[Any]:
    """county, then the events of `modes` in each period of `ids` (PostgreSQL)."""
    counted = _counted(modes)
    sums = [func.sum(case((TALLY.c.period_id == id_, counted))) for id_ in ids]
    return (
        _select(TALLY.c.county_code, *sums)
        .where(TALLY.c.campaign_id == CAMPAIGN)
        .group_by(TALLY.c.county_code)
    )


@functools.cache
def _packed_per_period(modes: tuple[str, ...]) -> Select[Any]:
    """county, then "W01:29,W02:31,…": the events of `modes` per period (SQLite)."""
    packed = func.aggregate_strings(TALLY.c.period_id + ":" + cast(_counted(modes), Text), ",")
    return (
        _select(TALLY.c.county_code, packed)
        .where(TALLY.c.campaign_id == CAMPAIGN)
        .group_by(TALLY.c.county_code)
    )


def _unpack_counts(text: str) -> dict[str, int]:
    """ "W01:29,W02:31" -> {"W01": 29, "W02": 31}, without a Python-level loop."""
    parts = text.replace(":", ",").split(",")
    return dict(zip(parts[::2], map(int, parts[1::2]), strict=True))


@dataclass(frozen=True)
class EventFacts:
    city: str
    county: str
    period: str
    mode: str


def event_counts(
    session: Session, campaign_id: str, as_of: datetime | None, periods: Sequence[Period]
) -> Counter[EventFacts]:
    """How many registered events per city, county, period and mode."""
    if as_of is None:
        # The tally is kept by every write of the registry (app/events/writes.py).
        rows = _rows(
            session,
            _select(
                TALLY.c.city_code,
                TALLY.c.county_code,
                TALLY.c.period_id,
                *[TALLY.c[mode] for mode in TALLIED_MODES],
            ).where(TALLY.c.campaign_id == campaign_id),
        )
        return Counter(
            {
                EventFacts(city, county, period, mode): count
                for city, county, period, *counts in rows
                for mode, count in zip(TALLIED_MODES, counts, strict=True)
                if count
            }
        )
    return _event_counts_as_of(session, campaign_id, as_of, periods)


def _event_counts_as_of(
    session: Session, campaign_id: str, as_of: datetime, periods: Sequence[Period]
) -> Counter[EventFacts]:
    """Each event as it stood at `as_of`: its current row if received by then, otherwise its
    latest archived revision received by then (the registry keeps superseded versions)."""
    counts: Counter[EventFacts] = Counter()
    current = _rows(
        session,
        _select(
            RecruitmentEvent.city_code,
            RecruitmentEvent.county_code,
            RecruitmentEvent.period_id,
            RecruitmentEvent.mode,
        ).where(
            col(RecruitmentEvent.campaign_id) == campaign_id,
            col(RecruitmentEvent.received_at) <= as_of,
        ),
    )
    counts.update(EventFacts(*row) for row in current)
    rank = (
        func.row_number()
        .over(
            partition_by=col(RecruitmentEventRevision.event_id),
            order_by=(
                col(RecruitmentEventRevision.received_at).desc(),
                col(RecruitmentEventRevision.revision).desc(),
            ),
        )
        .label("rank")
    )
    ranked = (
        _select(RecruitmentEvent.city_code, RecruitmentEventRevision.data, rank)
        .join(RecruitmentEvent, col(RecruitmentEvent.id) == col(RecruitmentEventRevision.event_id))
        .where(
            col(RecruitmentEvent.campaign_id) == campaign_id,
            col(RecruitmentEvent.received_at) > as_of,
            col(RecruitmentEventRevision.received_at) <= as_of,
        )
        .subquery()
    )
    for city, data in _rows(
        session, _select(ranked.c.city_code, ranked.c.data).where(ranked.c.rank == 1)
    ):
        period = period_of_day(list(periods), date.fromisoformat(data["start_date"]))
        if period is not None:
            counts[EventFacts(city, data["county"], period.id, data["mode"])] += 1
    return counts
