"""Campaign-wide computed views. Open to every authenticated role (SPEC 7): the province
publishes rankings, so a city may see them."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import PrincipalDep
from app.campaigns.definition import Indicator, Table
from app.campaigns.service import get_definition
from app.computed import views
from app.computed.compliance import summarize
from app.computed.encoding import encode
from app.computed.goals import shortfall
from app.computed.memo import cached_view
from app.computed.names import named
from app.computed.schemas import (
    CityPostingsOut,
    ComplianceOut,
    CoverageOut,
    DeltasOut,
    FairsCheckOut,
    GoalsOut,
    OpenWarningOut,
    PostingsGoalOut,
    PostingsIncreaseOut,
    QualityOut,
    TotalsOut,
)
from app.core.deps import SessionDep
from app.core.numbers import json_number
from app.core.params import AsOf, At, CampaignId, CityFilter, PeriodFilter, TableFilter
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.types import utc_now

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["computed"])

ERRORS = problem_responses(401, 403, 404, 422)
ETAG_NOTE = (
    " Answers carry an `ETag`; send it back in `If-None-Match` to get `304 Not "
    "Modified` while nothing changed."
)


@router.get(
    "/{campaign}/deltas",
    summary="Weekly deltas per city, indicator and reported period",
    description="delta = cumulative − cumulative of the previous period the city reported "
    "that indicator in (0 before the first). `gap`: that previous period is not the one just "
    "before; `negative`: a decrease." + ETAG_NOTE,
    response_model=DeltasOut,
    responses=ERRORS,
)
def get_deltas(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    table: TableFilter = None,
    city: CityFilter = None,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    as_of: AsOf = None,
) -> Response:
    definition = get_definition(session, campaign)

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        deltas = views.deltas_view(
            session, scope, table=table, city=city, indicator=indicator, as_of=as_of
        )
        named(session, deltas)
        # DeltaOut's fields, one for one.
        return encode(
            {"campaign": definition.id, "as_of": as_of, "count": len(deltas), "items": deltas}
        )

    return cached_view(request, session, definition.id, compute)


@router.get(
    "/{campaign}/totals",
    summary="Province totals per indicator, with the per-city breakdown",
    description="Each city's latest cumulative value at or before the period, summed (carried "
    "forward like a stock). Lists the cities carried forward (`stale`) and those that never "
    "reported (`missing`). `period` defaults to the latest period that has started." + ETAG_NOTE,
    response_model=TotalsOut,
    responses=ERRORS,
)
def get_totals(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    table: TableFilter = None,
    period: PeriodFilter = None,
    as_of: AsOf = None,
) -> Response:
    definition = get_definition(session, campaign)
    now = utc_now()

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        chosen = (
            period
            or views.current_period(
                scope.periods, (as_of or now).astimezone(definition.zone).date()
            ).id
        )
        totals = views.totals_view(session, scope, table=table, period=chosen, as_of=as_of)
        names = named(
            session,
            (value for _, total in totals for value in total.cities),
            also=definition.reporting_units,
        )
        items = []
        for t, total in totals:
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

    return cached_view(
        request, session, definition.id, compute, extra="" if period else _day_bucket(now)
    )


def _indicator(table: Table, key: str) -> Indicator:
    found = table.indicator(key)
    assert found is not None
    return found


def _day_bucket(now: datetime) -> str:
    """Defaults that depend on the clock change at most once a minute."""
    return now.strftime("%Y-%m-%dT%H:%M")


@router.get(
    "/{campaign}/goals",
    summary="Goal tracking: job postings and recruitment events per county and week",
    description="Postings: actual province total, the linear pace expected by `at`, on track or "
    "not, and a projection at the latest weekly rate. County events: every county × every "
    "period started by `at`, events counted from the registry by start date, against the "
    "requirement (partial weeks ⌈per_week × days / 7⌉). With `city`: that city's "
    "counties, and instead of the province's progress (the notice sets no per-city target) "
    "the city's figure, weekly increases, share of the province and rank." + ETAG_NOTE,
    response_model=GoalsOut,
    responses=ERRORS,
)
def get_goals(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    at: At = None,
    as_of: AsOf = None,
    city: CityFilter = None,
    period: PeriodFilter = None,
) -> Response:
    definition = get_definition(session, campaign)
    judged_at = at or utc_now()

    def compute() -> bytes:
        scope = views.scope_of(session, definition)
        result = views.goals_view(
            session, scope, at=judged_at, as_of=as_of, city=city, period=period
        )
        names = named(session, result.weeks, also=definition.reporting_units)
        city_postings = _city_postings(result)
        names.attach([city_postings] if city_postings else [])
        p = result.postings
        province = PostingsGoalOut(
            target=p.target,
            actual=json_number(p.actual),
            percent=float(p.percent),
            expected_by_at=json_number(p.expected_by_at),
            on_track=p.on_track,
            basis_period=p.basis_period,
            weekly_rate=None if p.weekly_rate is None else json_number(p.weekly_rate),
            projected_final=None if p.projected_final is None else json_number(p.projected_final),
            reached_on=p.reached_on,
            projected_reach_date=p.projected_reach_date,
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

    return cached_view(
        request, session, definition.id, compute, extra="" if at else _day_bucket(judged_at)
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


@router.get(
    "/{campaign}/compliance",
    summary="Deadline compliance: every city × every deliverable",
    description="Status judged at `at` (default now): `on_time`, `late` (with how late), "
    "`missing` (due passed, nothing received) or `not_due`. A table counts as received at its "
    "first accepted revision; weekly cases at the arrival of the third. Received tables show "
    "their `review_state`; one returned by a reviewer and not resubmitted by the date the "
    "reviewer set is `late` (`late_reason` says why). Summaries per city and per deliverable "
    "rank the cities." + ETAG_NOTE,
    response_model=ComplianceOut,
    responses=ERRORS,
)
def get_compliance(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    at: At = None,
    as_of: AsOf = None,
    city: CityFilter = None,
    period: PeriodFilter = None,
) -> Response:
    definition = get_definition(session, campaign)
    judged_at = at or utc_now()

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

    return cached_view(
        request, session, definition.id, compute, extra="" if at else _day_bucket(judged_at)
    )


@router.get(
    "/{campaign}/quality",
    summary="Cross-checks: T1 recruitment events against the registry, open warnings",
    description="Per city and period, the T1 `fairs_total` delta next to the events registered "
    "for that city in that period; and every warning (sum rules, decreases) on a current "
    "revision, linked to the revision history behind it. Cross-table warnings (`x_…`, T1 "
    "against T2 of the same city and period) are evaluated on the current values, so a "
    "correction of either table closes them; each is listed on the later received table."
    + ETAG_NOTE,
    response_model=QualityOut,
    responses=ERRORS,
)
def get_quality(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    as_of: AsOf = None,
    city: CityFilter = None,
) -> Response:
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

    return cached_view(request, session, definition.id, compute)
