"""The computed views' answers: each view's JSON body, assembled from its plain result
(app.computed.views) with region names beside the codes, computed only when the client does
not have it already (app.computed.memo). The routes pass their parameters here and serve
what comes back."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.briefing.service import build_briefing
from app.campaigns.definition import Indicator, Table
from app.campaigns.service import get_definition
from app.computed import views
from app.computed.compliance import summarize
from app.computed.encoding import encode
from app.computed.goals import PostingsProgress, shortfall
from app.computed.memo import PendingView, clock_minute
from app.computed.names import RegionNames, named
from app.computed.schemas import (
    CityPostingsOut,
    CoverageOut,
    FairsCheckOut,
    OpenWarningOut,
    PostingsGoalOut,
    PostingsIncreaseOut,
    QualityOut,
)
from app.core.changes import RECORDS
from app.core.numbers import json_number
from app.core.types import utc_now
from app.review.schemas import CaseSelection

# Views that read no recruitment event: an events import leaves them memoized.
RECORDS_ONLY = frozenset({RECORDS})


def deltas(
    session: Session,
    campaign: str,
    *,
    table: str | None,
    city: str | None,
    indicator: str | None,
    as_of: datetime | None,
) -> PendingView:
    definition = get_definition(session, campaign)

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        rows = views.deltas_view(
            session, scope, table=table, city=city, indicator=indicator, as_of=as_of
        )
        named(session, rows)
        # DeltaOut's fields, one for one.
        return encode(
            {"campaign": definition.id, "as_of": as_of, "count": len(rows), "items": rows}
        )

    return PendingView(definition.id, compute, reads=RECORDS_ONLY)


def totals(
    session: Session,
    campaign: str,
    *,
    table: str | None,
    period: str | None,
    as_of: datetime | None,
) -> PendingView:
    definition = get_definition(session, campaign)
    now = utc_now()

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        chosen = views.chosen_period(scope, period, as_of or now).id
        found = views.totals_view(session, scope, table=table, period=chosen, as_of=as_of)
        names = named(
            session,
            (value for _, total in found for value in total.cities),
            also=definition.reporting_units,
        )
        items = []
        for t, total in found:
            indicator = _indicator(t, total.indicator)
            # IndicatorTotalOut's fields; each city value has CityValueOut's.
            items.append(
                {
                    "table": t.id,
                    "indicator": total.indicator,
                    "name_zh": indicator.name_zh,
                    "name_en": indicator.name_en,
                    "unit_zh": indicator.unit_zh,
                    "total": total.total,
                    "cities": total.cities,
                    "stale": total.stale,
                    "stale_names": names.each(total.stale),
                    "missing": total.missing,
                    "missing_names": names.each(total.missing),
                }
            )
        return encode({"campaign": definition.id, "period": chosen, "as_of": as_of, "items": items})

    return PendingView(
        definition.id, compute, "" if period else clock_minute(now), reads=RECORDS_ONLY
    )


def _indicator(table: Table, key: str) -> Indicator:
    found = table.indicator(key)
    assert found is not None
    return found


@dataclass(frozen=True)
class JudgedQuery:
    """What goal tracking and compliance are judged for: at an instant (default now), on the
    data as it stood at `as_of`, for one city or period or all."""

    at: datetime | None
    as_of: datetime | None
    city: str | None
    period: str | None


def goals(session: Session, campaign: str, query: JudgedQuery) -> PendingView:
    definition = get_definition(session, campaign)
    judged_at = query.at or utc_now()
    as_of, city, period = query.as_of, query.city, query.period

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        result = views.goals_view(
            session, scope, at=judged_at, as_of=as_of, city=city, period=period
        )
        names = named(session, result.weeks, also=definition.reporting_units)
        city_postings = _city_postings(result)
        names.attach([city_postings] if city_postings else [])
        province = _province_postings(result.postings, names)
        weeks = result.weeks
        return encode(
            {
                "campaign": definition.id,
                "at": judged_at,
                "as_of": as_of,
                "postings": None if city else province.model_dump(mode="json"),
                "city_postings": city_postings,
                # CountyEventsGoalOut; each matrix cell has CountyWeekOut's fields.
                "county_events": {
                    "per_week": definition.goals.county_events.per_full_period,
                    "county_weeks": len(weeks),
                    "in_progress": len(weeks) - result.judged,
                    "met": result.judged - len(result.shortfalls),
                    "share_met": float(result.share_met),
                    "matrix": weeks,
                    "shortfalls": [w | {"missing": shortfall(w)} for w in result.shortfalls],
                },
            }
        )

    return PendingView(definition.id, compute, "" if query.at else clock_minute(judged_at))


def _province_postings(p: PostingsProgress, names: RegionNames) -> PostingsGoalOut:
    return PostingsGoalOut(
        **PostingsGoalOut.fields_of(p),
        coverage=None
        if p.coverage is None
        else CoverageOut(
            cities=p.coverage.cities,
            reporting=list(p.coverage.reporting),
            reporting_names=names.each(p.coverage.reporting),
            stale=list(p.coverage.stale),
            stale_names=names.each(p.coverage.stale),
            missing=list(p.coverage.missing),
            missing_names=names.each(p.coverage.missing),
            complete=p.coverage.complete,
            caveat=p.coverage.caveat(),
        ),
    )


def _city_postings(result: views.GoalsResult) -> dict[str, object] | None:
    c = result.city
    if c is None:
        return None
    return CityPostingsOut(
        city=c.city,
        basis_period=c.basis_period,
        actual=None if c.actual is None else json_number(c.actual),
        reported_period=c.reported_period,
        share_percent=None if c.share_percent is None else float(c.share_percent),
        rank=c.rank,
        ranked_cities=c.ranked_cities,
        increases=[
            PostingsIncreaseOut(
                period=d.period,
                cumulative=json_number(d.cumulative),
                increase=json_number(d.delta),
                since=d.previous_period,
                gap=d.gap,
            )
            for d in result.city_increases
        ],
    ).model_dump(mode="json")


def compliance(session: Session, campaign: str, query: JudgedQuery) -> PendingView:
    definition = get_definition(session, campaign)
    judged_at = query.at or utc_now()
    as_of, city, period = query.as_of, query.city, query.period

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        judgements = views.compliance_view(
            session, scope, at=judged_at, as_of=as_of, city=city, period=period
        )
        names = named(session, judgements)
        # ComplianceOut; each item has JudgementOut's fields.
        return encode(
            {
                "campaign": definition.id,
                "at": judged_at,
                "as_of": as_of,
                "items": judgements,
                "by_city": {
                    code: counts | {"city_name": names(code)}
                    for code, counts in summarize(judgements, "city").items()
                },
                "by_deliverable": summarize(judgements, "deliverable"),
            }
        )

    return PendingView(
        definition.id,
        compute,
        "" if query.at else clock_minute(judged_at),
        reads=RECORDS_ONLY,
    )


def quality(
    session: Session, campaign: str, *, as_of: datetime | None, city: str | None
) -> PendingView:
    definition = get_definition(session, campaign)

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        checks, warnings = views.quality_view(session, scope, as_of=as_of, city=city)
        document = QualityOut(
            campaign=definition.id,
            as_of=as_of,
            fairs_vs_registry=[
                FairsCheckOut(
                    city=c.city,
                    period=c.period,
                    fairs_delta=None if c.fairs_delta is None else json_number(c.fairs_delta),
                    covers=list(c.covers),
                    events_registered=c.events_registered,
                    difference=(
                        None
                        if c.fairs_delta is None
                        else json_number(c.fairs_delta - c.events_registered)
                    ),
                )
                for c in checks
            ],
            open_warnings=[
                OpenWarningOut(
                    city=w.city,
                    table=w.table,
                    period=w.period,
                    revision=w.revision,
                    rule=w.warning["rule"],
                    keys=w.warning["keys"],
                    values=w.warning["values"],
                    message_zh=w.warning["message_zh"],
                    message_en=w.warning["message_en"],
                    revisions_url=f"/api/v1/campaigns/{definition.id}/cities/{w.city}/tables/"
                    f"{w.table}/periods/{w.period}/revisions",
                )
                for w in warnings
            ],
        )
        named(session, document.fairs_vs_registry, document.open_warnings)
        return document.model_dump_json().encode()

    return PendingView(definition.id, compute)


@dataclass(frozen=True)
class BriefingQuery:
    """What a briefing answers for, in JSON or as a 公文 alike."""

    period: str | None
    at: datetime | None  # default: now
    as_of: datetime | None
    cases: CaseSelection


def briefing(session: Session, campaign: str, query: BriefingQuery) -> PendingView:
    """The weekly briefing (简报), made of the views above for one period."""
    definition = get_definition(session, campaign)
    judged_at = query.at or utc_now()
    period, as_of, cases = query.period, query.as_of, query.cases

    def compute() -> bytes:
        found = build_briefing(
            session, definition.id, period=period, at=judged_at, as_of=as_of, cases=cases
        )
        return found.model_dump_json().encode()

    return PendingView(definition.id, compute, "" if query.at else clock_minute(judged_at))
