"""Official tables (xlsx), weekly cases (docx) and analysts' CSV."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Path, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.attachments.storage import StorageDep
from app.auth.dependencies import PrincipalDep, ProvinceReaderDep
from app.campaigns.definition import Table
from app.campaigns.router import CampaignId, TableId
from app.campaigns.service import get_definition
from app.computed import views
from app.computed.goals import local_day
from app.computed.router import AsOf, At, CityQuery, PeriodQuery, TableQuery
from app.computed.totals import IndicatorTotal
from app.core.deps import SessionDep
from app.core.instants import Instant
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.core.types import utc_now
from app.exports import jobs, service
from app.exports.csv import csv_lines
from app.exports.jobs import ExportJob, JobKind
from app.exports.service import DOCX, XLSX, check_reader

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["exports"])

CSV = "text/csv; charset=utf-8"
CsvView = Literal["deltas", "totals", "compliance", "county-weeks"]


def _file_response(export: service.ExportFile) -> Response:
    return _attachment(export.body, export.media_type, export.filename)


def _attachment(body: bytes | Iterable[bytes], media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if isinstance(body, bytes):
        return Response(body, media_type=media_type, headers=headers)
    return StreamingResponse(iter(body), media_type=media_type, headers=headers)


@router.get(
    "/{campaign}/exports/{table}.xlsx",
    summary="附件1 / 附件2 as the province files them (xlsx)",
    description="With `city`: that city's sheet in the official layout. Without: the province "
    "sheet (one row per city in official code order and a 合计 row) and one sheet per city. "
    "Values are each city's cumulative figures at the period (carried forward from its latest "
    "report, as in `/totals`); never-reported cells are empty. A city's file re-imports "
    "unchanged through `…/imports`.",
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
    period: PeriodQuery = None,
    as_of: AsOf = None,
    city: CityQuery = None,
) -> Response:
    check_reader(principal, city)
    return _file_response(
        service.table_export(session, campaign, table, period=period, as_of=as_of, city=city)
    )


@router.get(
    "/{campaign}/exports/{view}.csv",
    summary="A computed view as CSV (UTF-8 with BOM, streamed)",
    description="`deltas`, `totals` (one row per indicator and city), `compliance` or "
    "`county-weeks` (events per county and period against the requirement). The same "
    "filters as the JSON views.",
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
    table: TableQuery = None,
    city: CityQuery = None,
    period: PeriodQuery = None,
    as_of: AsOf = None,
    at: At = None,
) -> Response:
    definition = get_definition(session, campaign)
    scope = views.scope_of(session, definition)
    judged_at = at or utc_now()
    header, rows = _csv_rows(
        session, scope, view, table=table, city=city, period=period, as_of=as_of, at=judged_at
    )
    return _attachment(csv_lines(header, rows), CSV, f"{definition.id}-{view}.csv")


def _csv_rows(
    session: SessionDep,
    scope: views.Scope,
    view: CsvView,
    *,
    table: str | None,
    city: str | None,
    period: str | None,
    as_of: datetime | None,
    at: datetime,
) -> tuple[Sequence[str], Iterable[Sequence[object]]]:
    if view == "deltas":
        deltas = views.deltas_view(
            session, scope, table=table, city=city, indicator=None, as_of=as_of
        )
        return (
            [
                "city",
                "table",
                "indicator",
                "period",
                "cumulative",
                "delta",
                "previous_period",
                "gap",
                "negative",
                "revision",
            ],
            (
                [
                    d.city,
                    d.table,
                    d.indicator,
                    d.period,
                    d.cumulative,
                    d.delta,
                    d.previous_period,
                    d.gap,
                    d.negative,
                    d.revision,
                ]
                for d in deltas
            ),
        )
    if view == "totals":
        chosen = (
            period
            or views.current_period(scope.periods, local_day(as_of or at, scope.definition.zone)).id
        )
        totals = views.totals_view(session, scope, table=table, period=chosen, as_of=as_of)
        return (
            ["period", "table", "indicator", "city", "value", "value_period", "stale"],
            _totals_rows(chosen, totals),
        )
    if view == "compliance":
        judgements = views.compliance_view(
            session, scope, at=at, as_of=as_of, city=city, period=period
        )
        return (
            [
                "city",
                "deliverable",
                "period",
                "due",
                "received_at",
                "status",
                "late_by_seconds",
                "indicators_reported",
                "indicators_expected",
            ],
            (
                [
                    j["city"],
                    j["deliverable"],
                    j["period"],
                    j["due"].isoformat(),
                    received.isoformat() if (received := j["received_at"]) else None,
                    j["status"],
                    j["late_by_seconds"],
                    j["indicators_reported"],
                    j["indicators_expected"],
                ]
                for j in judgements
            ),
        )
    result = views.goals_view(session, scope, at=at, as_of=as_of, city=city, period=period)
    return (
        ["county", "city", "period", "events", "required", "met", "in_progress"],
        (
            [
                w["county"],
                w["city"],
                w["period"],
                w["events"],
                w["required"],
                w["met"],
                w["in_progress"],
            ]
            for w in result.weeks
        ),
    )


def _totals_rows(
    period: str, totals: Sequence[tuple[Table, IndicatorTotal]]
) -> Iterator[Sequence[object]]:
    """Per indicator: one row per city that has a value, then the province total."""
    for table, total in totals:
        for value in total.cities:
            yield [
                period,
                table.id,
                total.indicator,
                value.city,
                value.value,
                value.period,
                value.stale,
            ]
        if total.total is not None:
            yield [period, table.id, total.indicator, "total", total.total, period, False]


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
    period: PeriodQuery = None,
    city: CityQuery = None,
) -> Response:
    check_reader(principal, city)
    return _file_response(
        service.cases_export(session, storage, campaign, period=period, city=city)
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
    period: PeriodQuery = None,
    city: CityQuery = None,
) -> Response:
    return _file_response(
        service.cases_export(session, storage, campaign, period=period, city=city, urgent=True)
    )


class ExportJobIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "cases.docx", "period": "W05"}]},
    )

    kind: JobKind
    period: Annotated[str, Field(pattern=r"^W\d{2}$")] | None = None
    city: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    as_of: Instant | None = Field(default=None, description="xlsx only")


class ExportJobOut(BaseModel):
    id: str
    kind: str
    params: dict[str, Any]
    state: Literal["queued", "running", "done", "failed"]
    percent: int
    error: str | None
    filename: str | None
    created_at: datetime
    finished_at: datetime | None
    status_url: str
    file_url: str


def _job_out(job: ExportJob) -> ExportJobOut:
    base = f"/api/v1/campaigns/{job.campaign_id}/exports/jobs/{job.id}"
    return ExportJobOut(
        id=job.id,
        kind=job.kind,
        params=job.params,
        state=job.state,
        percent=job.percent,
        error=job.error,
        filename=job.filename,
        created_at=job.created_at,
        finished_at=job.finished_at,
        status_url=base,
        file_url=base + "/file",
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
    get_definition(session, campaign)
    params = body.model_dump(mode="json", exclude={"kind"}, exclude_none=True)
    job = jobs.create_job(session, campaign, body.kind, params, principal)
    background.add_task(jobs.run_job, request.app.state.job_sessions, storage, job.id)
    out = _job_out(job)
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
    return _job_out(jobs.get_job(session, campaign, job_id, principal))


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
    job = jobs.require_done(jobs.get_job(session, campaign, job_id, principal))
    assert job.storage_key is not None and job.filename and job.media_type
    return _attachment(storage.read(job.storage_key), job.media_type, job.filename)
