"""Campaign-wide computed views. Open to every authenticated role (SPEC 7): the province
publishes rankings, so a city may see them."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth.dependencies import PrincipalDep
from app.computed import answers
from app.computed.answers import JudgedQuery
from app.computed.memo import answer_view
from app.computed.schemas import ComplianceOut, DeltasOut, GoalsOut, QualityOut, TotalsOut
from app.core.params import AsOf, At, CampaignId, CityFilter, PeriodFilter, TableFilter
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["computed"])

ERRORS = problem_responses(401, 403, 404, 422)


async def judged_query(
    at: At = None, as_of: AsOf = None, city: CityFilter = None, period: PeriodFilter = None
) -> JudgedQuery:
    # async: no I/O, so no thread hop
    return JudgedQuery(at=at, as_of=as_of, city=city, period=period)


JudgedQueryDep = Annotated[JudgedQuery, Depends(judged_query)]
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
    principal: PrincipalDep,
    campaign: CampaignId,
    table: TableFilter = None,
    city: CityFilter = None,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    as_of: AsOf = None,
) -> Response:
    recipe = partial(
        answers.deltas, campaign=campaign, table=table, city=city, indicator=indicator, as_of=as_of
    )
    return answer_view(request, recipe)


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
    principal: PrincipalDep,
    campaign: CampaignId,
    table: TableFilter = None,
    period: PeriodFilter = None,
    as_of: AsOf = None,
) -> Response:
    recipe = partial(answers.totals, campaign=campaign, table=table, period=period, as_of=as_of)
    return answer_view(request, recipe)


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
    principal: PrincipalDep,
    campaign: CampaignId,
    query: JudgedQueryDep,
) -> Response:
    return answer_view(request, partial(answers.goals, campaign=campaign, query=query))


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
    principal: PrincipalDep,
    campaign: CampaignId,
    query: JudgedQueryDep,
) -> Response:
    recipe = partial(answers.compliance, campaign=campaign, query=query)
    return answer_view(request, recipe)


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
    principal: PrincipalDep,
    campaign: CampaignId,
    as_of: AsOf = None,
    city: CityFilter = None,
) -> Response:
    recipe = partial(answers.quality, campaign=campaign, as_of=as_of, city=city)
    return answer_view(request, recipe)
