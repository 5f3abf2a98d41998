"""Official tables (xlsx), weekly cases (docx) and analysts' CSV."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from app.attachments.storage import StorageDep
from app.auth.dependencies import PrincipalDep, ProvinceReaderDep
from app.core.deps import SessionDep
from app.core.params import AsOf, At, CampaignId, CityFilter, PeriodFilter, TableFilter, TableId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.exports import jobs, service
from app.exports.csv_views import CsvView, Lang, csv_export
from app.exports.downloads import download
from app.exports.schemas import ExportJobIn, ExportJobOut
from app.exports.service import DOCX, XLSX, ExportValues, check_reader
from app.review.schemas import CasesQuery

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["exports"])


@router.get(
    "/{campaign}/exports/{table}.xlsx",
    summary="附件1 / 附件2 as the province files them (xlsx)",
    description="The notice's layout on A4 landscape: the 附件 caption, the title, 填报单位 and "
    "填报日期, the two-row header, the 序号 row, the figures, the notice's 备注. With `city`: "
    "that city's sheet. Without: the province sheet — 全省合计 first (equal to `/totals`, with "
    "its coverage, e.g. 含1/13市本周数据), then one row per city in official code order — and "
    "one sheet per city. After the indicators, 数据情况 says where each row's figures come "
    "from (本周报送; 沿用2月9日数据 when carried forward from an earlier report, with a comment "
    "on each carried cell naming its period; 未报) and 填报指标 the reported/expected "
    "indicators of that report, as in `/compliance`. `values=cumulative` (default): each "
    "city's cumulative figures at the period, carried forward as in `/totals`. "
    "`values=increase`: the week's increase (本周新增) — a city's `/deltas` value for the "
    "period, 0 for a figure carried forward — so the cities add up to the change of the "
    "province total. A city's cumulative file re-imports unchanged through `…/imports`; the "
    "importer refuses the province sheet and the 本周新增 variant.",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(401, 403, 404, 422),
    },
)
def export_table(
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    table: TableId,
    period: PeriodFilter = None,
    as_of: AsOf = None,
    city: CityFilter = None,
    values: Annotated[
        ExportValues,
        Query(description="`cumulative` figures (as `/totals`) or the week's `increase`"),
    ] = "cumulative",
) -> Response:
    check_reader(principal, city)
    return download(
        service.table_export(
            session, campaign, table, period=period, as_of=as_of, city=city, values=values
        )
    )


@router.get(
    "/{campaign}/exports/{view}.csv",
    summary="A computed view as CSV (UTF-8 with BOM, streamed)",
    description="`deltas`, `totals` (one row per indicator and city, then the province "
    "total), `compliance` or `county-weeks` (events per county and period against the "
    "requirement). The same filters as the JSON views; `period` keeps one period (for "
    "`totals`: the period totalled, default the latest that has started). Every code "
    "column has its name column beside it (`city_name`, `county_name`).\n\n"
    "`lang=en` (default): the API's keys and codes as headers and values, instants in "
    "ISO 8601. `lang=zh`, for people: Chinese headers with units (e.g. 逾期时长（秒）), "
    "indicators as in the official table with their unit (举办各类招聘活动（场次）) and their "
    "序号, 附件1/附件2 for tables, deliverables and statuses in Chinese, 是/否, instants "
    "in the campaign's time zone as `2024-02-23 17:30`, and rows in the official order: "
    "indicators by 序号, cities in official code order, then periods.",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problem_responses(401, 403, 404, 422),
    },
)
def export_csv(
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    view: Annotated[CsvView, Path()],
    table: TableFilter = None,
    city: CityFilter = None,
    period: PeriodFilter = None,
    as_of: AsOf = None,
    at: At = None,
    lang: Annotated[
        Lang, Query(description="`en`: for machines; `zh`: for people (see above)")
    ] = "en",
) -> Response:
    file = csv_export(
        session,
        campaign,
        view,
        lang=lang,
        table=table,
        city=city,
        period=period,
        as_of=as_of,
        at=at,
    )
    return download(file)


@router.get(
    "/{campaign}/exports/cases.docx",
    summary="附件3 weekly highlight cases as a Word document",
    description="Grouped by city in official code order; each case with its title, county, "
    "activity and text, pictures embedded (scaled to the page), other attachments listed by "
    "name. Urgent reports are not highlights: they are in urgent.docx. `period` defaults to "
    "the latest period that has started.",
    response_class=Response,
    responses={
        200: {"content": {DOCX: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(401, 403, 404, 422),
    },
)
def export_cases(
    session: SessionDep,
    principal: PrincipalDep,
    storage: StorageDep,
    campaign: CampaignId,
    period: PeriodFilter = None,
    city: CityFilter = None,
    cases: CasesQuery = "latest",
) -> Response:
    check_reader(principal, city)
    return download(
        service.cases_export(
            session, storage, campaign, period=period, city=city, adopted_only=cases == "adopted"
        )
    )


@router.get(
    "/{campaign}/exports/urgent.docx",
    summary="The week's urgent reports (重要舆情/突发事件) as a Word document",
    description="Viewers and administrators, like the urgent list: cases flagged urgent are a "
    "track of their own, not highlights — they are not in cases.docx and do not count toward "
    "a city's weekly cases.",
    response_class=Response,
    responses={
        200: {"content": {DOCX: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(401, 403, 404, 422),
    },
)
def export_urgent(
    session: SessionDep,
    principal: ProvinceReaderDep,
    storage: StorageDep,
    campaign: CampaignId,
    period: PeriodFilter = None,
    city: CityFilter = None,
) -> Response:
    return download(
        service.cases_export(session, storage, campaign, period=period, city=city, urgent=True)
    )


@router.post(
    "/{campaign}/exports/jobs",
    status_code=202,
    summary="Start an export in the background and follow its progress",
    description="For large exports (a week of cases with pictures, a province workbook): "
    "answers at once with a job whose `state` (queued, running, done, failed) and `percent` "
    "can be polled at `status_url`; the file is at `file_url` when done. Same access rules "
    "as the direct export.",
    response_model=ExportJobOut,
    responses=problem_responses(401, 403, 404, 422),
)
def start_export_job(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    principal: PrincipalDep,
    storage: StorageDep,
    campaign: CampaignId,
    body: Annotated[ExportJobIn, Body()],
) -> JSONResponse:
    job = jobs.create_job(session, campaign, body.kind, body.params(), principal)
    background.add_task(jobs.run_job, request.app.state.job_sessions, storage, job.id)
    out = ExportJobOut.of(job)
    return JSONResponse(
        out.model_dump(mode="json"), status_code=202, headers={"Location": out.status_url}
    )


@router.get(
    "/{campaign}/exports/jobs/{job_id}",
    summary="An export job's state and progress",
    response_model=ExportJobOut,
    responses=problem_responses(401, 403, 404, 422),
)
def read_export_job(
    session: SessionDep,
    principal: PrincipalDep,
    campaign: CampaignId,
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
) -> ExportJobOut:
    return ExportJobOut.of(jobs.get_job(session, campaign, job_id, principal))


@router.get(
    "/{campaign}/exports/jobs/{job_id}/file",
    summary="The file of a finished export job",
    response_class=Response,
    responses={
        200: {
            "description": "The file: an xlsx workbook or a docx document, by the job's kind",
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in (XLSX, DOCX)
            },
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def read_export_job_file(
    session: SessionDep,
    principal: PrincipalDep,
    storage: StorageDep,
    campaign: CampaignId,
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
) -> Response:
    return download(jobs.job_file(session, storage, campaign, job_id, principal))
