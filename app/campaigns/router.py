from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import AdminDep, CityReaderDep, PrincipalDep
from app.campaigns import service
from app.campaigns.definition import CampaignDefinition
from app.campaigns.models import DueOverride
from app.campaigns.schemas import (
    CampaignSummary,
    CityPublic,
    DeadlinePublic,
    DueOverrideIn,
    DueOverridePublic,
    PeriodPublic,
    TableCatalogue,
    VocabulariesPublic,
)
from app.core.deps import SessionDep
from app.core.params import CampaignId, ItemId, TableId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.regions.models import RegionPublic

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["campaigns"])


@router.get(
    "",
    summary="List campaigns",
    description="Public: every loaded campaign definition, in brief.",
    response_model=list[CampaignSummary],
)
def read_campaigns(session: SessionDep) -> list[CampaignSummary]:
    return [
        CampaignSummary(
            id=d.id,
            name_zh=d.name_zh,
            name_en=d.name_en,
            start=d.start,
            end=d.end,
            timezone=d.timezone,
            reporting_units=len(d.reporting_units),
            periods=len(service.campaign_periods(session, d)),
        )
        for d in service.list_definitions(session)
    ]


@router.get(
    "/{campaign}",
    summary="A campaign's full definition",
    description="Public: dates, time zone, close of business, holiday rule, reporting units, "
    "tables with every indicator, validation rules, goals and deliverables.",
    response_model=CampaignDefinition,
    responses=problem_responses(404, 422),
)
def read_campaign(session: SessionDep, campaign: CampaignId) -> CampaignDefinition:
    return service.get_definition(session, campaign)


@router.get(
    "/{campaign}/periods",
    summary="Reporting periods with their due instants",
    description="Public. Week k runs to the campaign's week-end day; a due day that is not an "
    "official working day moves to the next one; administrators' overrides are applied.",
    response_model=list[PeriodPublic],
    responses=problem_responses(404, 422),
)
def read_periods(session: SessionDep, campaign: CampaignId) -> list[PeriodPublic]:
    definition = service.get_definition(session, campaign)
    return [
        PeriodPublic(
            id=p.id,
            start=p.start,
            end=p.end,
            days=p.days,
            due=p.due,
            due_day_shifted_from=p.due_day_shifted_from,
            due_overridden=p.due_overridden,
        )
        for p in service.campaign_periods(session, definition)
    ]


@router.get(
    "/{campaign}/deadlines",
    summary="Every deliverable instance and its due instant",
    description="Public: contacts, stage report and final summary once; tables and cases per "
    "period.",
    response_model=list[DeadlinePublic],
    responses=problem_responses(404, 422),
)
def read_deadlines(session: SessionDep, campaign: CampaignId) -> list[DeadlinePublic]:
    definition = service.get_definition(session, campaign)
    return [
        DeadlinePublic(
            deliverable=d.deliverable, period=d.period, due=d.due, due_overridden=d.due_overridden
        )
        for d in service.campaign_deadlines(session, definition)
    ]


@router.get(
    "/{campaign}/tables/{table}",
    summary="A statistics table's indicator catalogue",
    description="Public: each indicator's key, 序号, Chinese and English name and unit, value "
    "type, and the 其中 parent; plus the rules checked on submission.",
    response_model=TableCatalogue,
    responses=problem_responses(404, 422),
)
def read_table(session: SessionDep, campaign: CampaignId, table: TableId) -> TableCatalogue:
    definition = service.get_definition(session, campaign)
    found = service.get_table(definition, table)
    return TableCatalogue(
        campaign=definition.id,
        id=found.id,
        attachment=found.attachment,
        title_zh=found.title_zh,
        title_en=found.title_en,
        indicators=found.indicators,
        rules=[r for r in definition.rules if r.table == found.id],
    )


@router.get(
    "/{campaign}/vocabularies",
    summary="Document kinds, case activities and event categories",
    description="Any signed-in role. The ids this campaign's cities may send as a document's "
    "`kind`, a highlight case's `activity` and a recruitment event's `category` (and filter "
    "their lists by), each with its Chinese and English label, in the definition's order. "
    "Any other id is refused with 422 naming the field. They are the campaign definition's "
    "`vocabularies`, so they differ from campaign to campaign.",
    response_model=VocabulariesPublic,
    responses=problem_responses(401, 404, 422),
)
def read_vocabularies(
    session: SessionDep, principal: PrincipalDep, campaign: CampaignId
) -> VocabulariesPublic:
    vocabularies = service.get_vocabularies(session, campaign)
    return VocabulariesPublic(
        campaign=campaign,
        document_kinds=vocabularies.document_kinds,
        case_activities=vocabularies.case_activities,
        event_categories=vocabularies.event_categories,
    )


def _override_public(row: DueOverride) -> DueOverridePublic:
    return DueOverridePublic(
        campaign=row.campaign_id,
        item=row.item,
        due=row.due,
        reason=row.reason,
        set_by=row.set_by,
        set_at=row.set_at,
    )


@router.put(
    "/{campaign}/due-overrides/{item}",
    summary="Override one due instant (admin)",
    description="`item` is a period id (moves T1, T2 and cases of that period) or a one-off "
    "deliverable (`contacts`, `stage_report`, `final_summary`). Kept as history.",
    response_model=DueOverridePublic,
    responses=problem_responses(401, 403, 404, 422),
)
def put_due_override(
    session: SessionDep,
    admin: AdminDep,
    campaign: CampaignId,
    item: ItemId,
    body: Annotated[DueOverrideIn, Body()],
) -> DueOverridePublic:
    definition = service.get_definition(session, campaign)
    row = service.set_due_override(
        session, definition, item, body.due, body.reason, admin.client_id
    )
    return _override_public(row)


@router.delete(
    "/{campaign}/due-overrides/{item}",
    summary="Restore the computed due instant (admin)",
    response_model=DueOverridePublic,
    responses=problem_responses(401, 403, 404, 422),
)
def delete_due_override(
    session: SessionDep, admin: AdminDep, campaign: CampaignId, item: ItemId
) -> DueOverridePublic:
    definition = service.get_definition(session, campaign)
    row = service.set_due_override(
        session, definition, item, None, "restored the computed deadline", admin.client_id
    )
    return _override_public(row)


@router.get(
    "/{campaign}/cities/{city}",
    summary="A reporting city and its counties",
    description="The city itself, viewers and administrators.",
    response_model=CityPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def read_city(session: SessionDep, access: CityReaderDep, campaign: CampaignId) -> CityPublic:
    definition = service.get_definition(session, campaign)
    city, counties = service.get_reporting_city(session, definition, access.city)
    return CityPublic(
        campaign=definition.id,
        city=RegionPublic.model_validate(city, from_attributes=True),
        counties=[RegionPublic.model_validate(c, from_attributes=True) for c in counties],
    )
