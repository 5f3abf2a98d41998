"""Official tables (xlsx), weekly cases (docx) and analysts' CSV."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlmodel import col, select

from app.attachments.models import Attachment
from app.attachments.service import attachments_of
from app.attachments.storage import Storage, StorageDep
from app.auth.dependencies import Principal, PrincipalDep, check_city
from app.auth.models import Role
from app.campaigns.definition import Table
from app.campaigns.router import CampaignId, TableId
from app.campaigns.service import get_definition, get_period, get_table
from app.cases.models import HighlightCase
from app.computed import views
from app.computed.goals import local_day
from app.computed.totals import IndicatorTotal
from app.core.deps import SessionDep
from app.core.errors import Forbidden
from app.core.problems import problem_responses
from app.core.types import utc_now
from app.exports.cases_docx import CaseEntry, CityCases, Picture, build_cases_docx
from app.exports.csv import csv_lines
from app.exports.workbooks import CityColumn, city_workbook, province_workbook
from app.regions.models import Region
from app.regions.service import get_region

router = APIRouter(prefix="/api/v1/campaigns", tags=["exports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CityQuery = Annotated[str | None, Query(pattern=r"^\d{6}$", examples=["320100"])]
PeriodQuery = Annotated[str | None, Query(pattern=r"^W\d{2}$", examples=["W05"])]
AsOf = Annotated[AwareDatetime | None, Query(description="The data as it stood then")]
CsvView = Literal["deltas", "totals", "compliance", "county-weeks"]


def _attachment(body: bytes | Iterable[bytes], media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if isinstance(body, bytes):
        return Response(body, media_type=media_type, headers=headers)
    return StreamingResponse(iter(body), media_type=media_type, headers=headers)


def _check_reader(principal: Principal, city: str | None) -> None:
    """One city's raw figures: that city, viewers, admins. Every city's: viewers and admins."""
    if city is not None:
        check_city(principal, city, write=False)
    elif principal.role is Role.reporter:
        raise Forbidden(
            "the province-wide table is for viewers and administrators; "
            f"add city={principal.city} for your own"
        )


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
    _check_reader(principal, city)
    definition = get_definition(session, campaign)
    found = get_table(definition, table)
    scope = views.scope_of(session, definition)
    chosen = (
        period
        or views.current_period(scope.periods, local_day(as_of or utc_now(), definition.zone)).id
    )
    totals = [
        total
        for _, total in views.totals_view(
            session, scope, table=found.id, period=chosen, as_of=as_of
        )
    ]
    report_date = next(p.end for p in scope.periods if p.id == chosen).isoformat()
    if city is not None:
        views.chosen_cities(definition, city)
        column = _column(get_region(session, city))
        body = city_workbook(definition, found, column, totals, report_date)
        return _attachment(body, XLSX, f"{definition.id}-{found.id}-{chosen}-{city}.xlsx")
    cities = [_column(get_region(session, code)) for code in definition.reporting_units]
    province = get_region(session, definition.province).name
    body = province_workbook(definition, found, province, cities, totals, report_date)
    return _attachment(body, XLSX, f"{definition.id}-{found.id}-{chosen}.xlsx")


def _column(region: Region) -> CityColumn:
    return CityColumn(region.code, region.name)


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
    table: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    city: CityQuery = None,
    period: PeriodQuery = None,
    as_of: AsOf = None,
    at: Annotated[AwareDatetime | None, Query()] = None,
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
            ["city", "deliverable", "period", "due", "received_at", "status", "late_by_seconds"],
            (
                [
                    j.city,
                    j.deliverable,
                    j.period,
                    j.due.isoformat(),
                    j.received_at.isoformat() if j.received_at else None,
                    j.status,
                    j.late_by_seconds,
                ]
                for j in judgements
            ),
        )
    result = views.goals_view(session, scope, at=at, as_of=as_of, city=city, period=period)
    return (
        ["county", "city", "period", "events", "required", "met"],
        ([w.county, w.city, w.period, w.events, w.required, w.met] for w in result.weeks),
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
    "name, urgent cases marked. `period` defaults to the latest period that has started.",
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
    _check_reader(principal, city)
    definition = get_definition(session, campaign)
    scope = views.scope_of(session, definition)
    chosen = (
        get_period(scope.periods, period)
        if period
        else views.current_period(scope.periods, local_day(utc_now(), definition.zone))
    )
    cities = views.chosen_cities(definition, city)
    cases = session.exec(
        select(HighlightCase)
        .where(
            HighlightCase.campaign_id == definition.id,
            HighlightCase.period_id == chosen.id,
            col(HighlightCase.city_code).in_(cities),
        )
        .order_by(col(HighlightCase.city_code), col(HighlightCase.id))
    ).all()
    files = attachments_of(session, "case", [c.id for c in cases if c.id is not None])
    codes = {*cities, *(c.county_code for c in cases if c.county_code)}
    names = dict(
        session.exec(select(Region.code, Region.name).where(col(Region.code).in_(codes))).all()
    )
    grouped = [
        CityCases(
            names.get(code, code),
            [
                _case_entry(case, files.get(case.id or 0, []), names, storage)
                for case in cases
                if case.city_code == code
            ],
        )
        for code in cities
    ]
    label = f"{chosen.id}（{chosen.start:%m月%d日}—{chosen.end:%m月%d日}）"
    body = build_cases_docx(definition.name_zh, label, grouped)
    suffix = f"-{city}" if city else ""
    return _attachment(body, DOCX, f"{definition.id}-cases-{chosen.id}{suffix}.docx")


def _case_entry(
    case: HighlightCase, files: Sequence[Attachment], names: dict[str, str], storage: Storage
) -> CaseEntry:
    pictures = [
        Picture(f.filename, b"".join(storage.read(f.storage_key)))
        for f in files
        if f.kind == "picture"
    ]
    return CaseEntry(
        title=case.title,
        county=names.get(case.county_code) if case.county_code else None,
        activity=case.activity,
        text=case.text,
        urgent=case.urgent,
        pictures=pictures,
        other_files=[f.filename for f in files if f.kind != "picture"],
    )
