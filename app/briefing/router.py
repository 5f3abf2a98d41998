"""The weekly briefing (简报, SPEC 9): JSON for dashboards, a 公文 for print. Open to every
authenticated role, like the computed views it is made of."""

from functools import partial

from fastapi import APIRouter, Request, Response

from app.auth.dependencies import PrincipalDep
from app.briefing.schemas import BriefingOut
from app.computed import answers
from app.computed.answers import BriefingQuery
from app.computed.memo import answer_view
from app.core.deps import SessionDep
from app.core.params import AsOf, At, CampaignId, PeriodFilter
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.exports.downloads import download
from app.exports.service import DOCX, briefing_export
from app.review.schemas import CasesQuery

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns")

SECTIONS = (
    "Sections in order: 总体进展 (the key indicators' province totals and the week's "
    "increase, as `/totals` for the period and the one before; the postings against the "
    "target and 时序进度 — elapsed campaign days ÷ all of them at the end of the period — with "
    "the projection and its coverage, as `/goals?at=<overall.progress_at>`), 各市情况 (every "
    "city ranked by postings as `/goals?city=` ranks, and by the week's increase as in "
    "`/deltas`, with its on-time rate from `/compliance`), 报送情况 (late and missing cities "
    "for each item due in the period, as `/compliance?at=`), 县区招聘活动 (counties below "
    "the weekly requirement, by city, as `/goals?period=&at=`), 亮点案例 (see `selection`). "
    "`period` defaults to the latest period that has started at `at`; `at` (default now) "
    "judges deadlines and whether the week has ended; `as_of` answers from the data as it "
    "stood then. Every number equals the computed view's answer for the same period and "
    "instants."
)


@router.get(
    "/{campaign}/briefing",
    tags=["computed"],
    summary="The weekly briefing (简报): five sections of figures and text",
    description=SECTIONS
    + " Answers carry an `ETag`; send it back in `If-None-Match` to get `304 Not Modified` "
    "while nothing changed.",
    response_model=BriefingOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_briefing(
    request: Request,
    principal: PrincipalDep,
    campaign: CampaignId,
    period: PeriodFilter = None,
    at: At = None,
    as_of: AsOf = None,
    cases: CasesQuery = "latest",
) -> Response:
    query = BriefingQuery(period, at, as_of, cases)
    return answer_view(request, partial(answers.briefing, campaign=campaign, query=query))


@router.get(
    "/{campaign}/exports/briefing.docx",
    tags=["exports"],
    summary="The weekly briefing (简报) as a Word document in 公文 format",
    description="The same briefing as `GET …/briefing` with the same parameters, on A4 with "
    "公文 margins and type (GB/T 9704): title in 方正小标宋简体, text in 仿宋_GB2312, headings "
    "in 黑体 and 楷体_GB2312, black only, periods as dates. " + SECTIONS,
    response_class=Response,
    responses={
        200: {"content": {DOCX: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(401, 403, 404, 422),
    },
)
def export_briefing(
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    period: PeriodFilter = None,
    at: At = None,
    as_of: AsOf = None,
    cases: CasesQuery = "latest",
) -> Response:
    query = BriefingQuery(period, at, as_of, cases)
    return download(briefing_export(session, campaign, query))
