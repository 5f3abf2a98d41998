"""Building the export files: plain functions the endpoints and export jobs share."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from app.attachments.models import Attachment
from app.attachments.service import attachments_of
from app.attachments.storage import Storage
from app.auth.models import Role
from app.auth.policy import Principal, check_city
from app.briefing.docx import build_briefing_docx
from app.briefing.service import build_briefing
from app.campaigns.calendar import Period
from app.campaigns.definition import CampaignDefinition, Deliverable, Table
from app.campaigns.service import get_definition, get_table
from app.cases.models import HighlightCase
from app.computed import views
from app.computed.answers import BriefingQuery
from app.computed.sources import snapshot_heads
from app.core.errors import Forbidden
from app.core.types import utc_now
from app.exports.cases_docx import (
    TITLE,
    URGENT_TITLE,
    CaseEntry,
    CityCases,
    Picture,
    build_cases_docx,
)
from app.exports.official_docx import span_label
from app.exports.workbooks import CityColumn, TableFigures, city_workbook, province_workbook
from app.regions.models import Region
from app.regions.service import get_region, names_of
from app.review.cases import adopted_case_ids

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The official tables' figures: cumulative (as in /totals) or the week's increase (/deltas).
ExportValues = Literal["cumulative", "increase"]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class ExportFile:
    body: bytes
    media_type: str
    filename: str


@dataclass(frozen=True)
class StreamedFile:
    """A file sent as it is produced (a CSV) or read (a finished job's file)."""

    chunks: Iterable[bytes]
    media_type: str
    filename: str


def check_reader(principal: Principal, city: str | None) -> None:
    """One city's raw figures: that city, viewers, admins. Every city's: viewers and admins."""
    if city is not None:
        check_city(principal, city, write=False)
    elif principal.role is Role.reporter:
        raise Forbidden(
            "the province-wide export is for viewers and administrators; "
            f"add city={principal.city} for your own"
        )


def table_export(
    session: Session,
    campaign: str,
    table: str,
    *,
    period: str | None,
    as_of: datetime | None,
    city: str | None,
    values: ExportValues = "cumulative",
) -> ExportFile:
    definition = get_definition(session, campaign)
    found = get_table(definition, table)
    scope = views.scope_of(session, definition)
    chosen = views.chosen_period(scope, period, as_of or utc_now())
    if city is not None:
        views.chosen_cities(definition, city)
    figures = _table_figures(session, scope, found, chosen, as_of, values)
    suffix = "-increase" if figures.weekly_increase else ""
    if city is not None:
        body = city_workbook(definition, found, _column(get_region(session, city)), figures)
        return ExportFile(body, XLSX, f"{definition.id}-{found.id}-{chosen.id}-{city}{suffix}.xlsx")
    cities = [_column(get_region(session, code)) for code in definition.reporting_units]
    province = get_region(session, definition.province).name
    body = province_workbook(definition, found, province, cities, figures)
    return ExportFile(body, XLSX, f"{definition.id}-{found.id}-{chosen.id}{suffix}.xlsx")


def _table_figures(
    session: Session,
    scope: views.Scope,
    table: Table,
    period: Period,
    as_of: datetime | None,
    values: ExportValues,
) -> TableFigures:
    """The same figures as `/totals`, `/deltas` and `/compliance` for the table and period."""
    definition = scope.definition
    totals = [
        total
        for _, total in views.totals_view(
            session, scope, table=table.id, period=period.id, as_of=as_of
        )
    ]
    completeness = views.completeness_by_deliverable(
        session, definition, snapshot_heads(session, definition.id), as_of
    )
    deliverables = {d.id for d in definition.deliverables if d.table == table.id}
    increases = (
        [
            d
            for d in views.deltas_view(
                session, scope, table=table.id, city=None, indicator=None, as_of=as_of
            )
            if d.period == period.id
        ]
        if values == "increase"
        else None
    )
    return TableFigures(
        period=period,
        periods=scope.periods,
        totals=totals,
        completeness={
            (city, at): counts
            for (city, deliverable, at), counts in completeness.items()
            if deliverable in deliverables and at is not None
        },
        increases=increases,
        label=definition.periods.label,
    )


def _column(region: Region) -> CityColumn:
    return CityColumn(region.code, region.name)


def cases_export(
    session: Session,
    storage: Storage,
    campaign: str,
    *,
    period: str | None,
    city: str | None,
    urgent: bool = False,
    adopted_only: bool = False,
) -> ExportFile:
    """附件3, the week's highlight cases; with `urgent`, the week's urgent reports instead
    (重要舆情/突发事件: a track of their own, never counted or compiled as highlights)."""
    definition = get_definition(session, campaign)
    scope = views.scope_of(session, definition)
    chosen = views.chosen_period(scope, period, utc_now())
    cities = views.chosen_cities(definition, city)
    cases = session.exec(
        select(HighlightCase)
        .where(
            HighlightCase.campaign_id == definition.id,
            HighlightCase.period_id == chosen.id,
            col(HighlightCase.city_code).in_(cities),
            col(HighlightCase.urgent).is_(urgent),
            *(
                [col(HighlightCase.id).in_(adopted_case_ids(session, definition.id, chosen.id))]
                if adopted_only
                else []
            ),
        )
        .order_by(col(HighlightCase.city_code), col(HighlightCase.id))
    ).all()
    files = attachments_of(session, "case", [c.id for c in cases if c.id is not None])
    codes = {*cities, *(c.county_code for c in cases if c.county_code)}
    names = names_of(session, codes)
    grouped = [
        CityCases(
            names.get(code, code),
            [
                _case_entry(case, files.get(case.id or 0, []), names, storage, definition)
                for case in cases
                if case.city_code == code
            ],
        )
        for code in cities
    ]
    label = span_label(chosen.start, chosen.end)
    if urgent:
        body = build_cases_docx(URGENT_TITLE, definition.name_zh, label, grouped, required=None)
    else:
        weekly = _weekly_cases(definition)
        body = build_cases_docx(
            weekly.name_zh if weekly else TITLE,
            definition.name_zh,
            label,
            grouped,
            required=weekly.min_count if weekly else None,
            cycle=definition.periods.label,
        )
    suffix = f"-{city}" if city else ""
    kind = "urgent" if urgent else "cases"
    return ExportFile(body, DOCX, f"{definition.id}-{kind}-{chosen.id}{suffix}.docx")


def _weekly_cases(definition: CampaignDefinition) -> Deliverable | None:
    """The highlight cases a city owes each week (as in /compliance)."""
    return next(
        (d for d in definition.deliverables if d.schedule == "weekly" and d.source == "cases"),
        None,
    )


def _case_entry(
    case: HighlightCase,
    files: Sequence[Attachment],
    names: dict[str, str],
    storage: Storage,
    definition: CampaignDefinition,
) -> CaseEntry:
    pictures = [
        Picture(f.filename, b"".join(storage.read(f.storage_key)))
        for f in files
        if f.kind == "picture"
    ]
    return CaseEntry(
        title=case.title,
        county=names.get(case.county_code) if case.county_code else None,
        activity=definition.vocabularies.label("case_activities", case.activity),
        text=case.text,
        pictures=pictures,
        other_files=[f.filename for f in files if f.kind != "picture"],
    )


def briefing_export(session: Session, campaign: str, query: BriefingQuery) -> ExportFile:
    """The weekly briefing (简报) as a 公文 (docx)."""
    at = query.at or utc_now()
    briefing = build_briefing(
        session, campaign, period=query.period, at=at, as_of=query.as_of, cases=query.cases
    )
    filename = f"{briefing.campaign}-briefing-{briefing.period}.docx"
    return ExportFile(build_briefing_docx(briefing), DOCX, filename)
