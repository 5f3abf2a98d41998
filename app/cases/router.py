"""Highlight cases (附件3): `…/cities/{city}/cases`, their revisions and attachments, and the
province-wide urgent list."""

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response

from app.attachments.router import attachment_router
from app.auth.dependencies import CityReaderDep, CityWriterDep, ProvinceReaderDep
from app.campaigns.vocabularies import TERM_PATTERN
from app.cases import service
from app.cases.schemas import ACTIVITY_DESCRIPTION, CaseIn, CaseOut, CasePatch
from app.core.conditional import conditional_json
from app.core.deps import SessionDep
from app.core.params import MAX_ID, CampaignId, CaseId, PeriodFilter
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.idempotency.header import IdempotencyKey
from app.records.idempotent import create_once
from app.records.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.records.receipt import receipt_of
from app.records.revisions import RevisionOut
from app.records.scope import resolve_scope

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["cases"])

CASES = "/{campaign}/cities/{city}/cases"
ActivityFilter = Annotated[
    str | None, Query(pattern=TERM_PATTERN, description=ACTIVITY_DESCRIPTION)
]


@router.post(
    CASES,
    status_code=201,
    summary="Submit a highlight case (附件3)",
    description="Mainly text; attach pictures, video or documents afterwards at "
    "`…/cases/{case_id}/attachments`. `urgent: true` (重要舆情或突发事件) puts the case on the "
    "province-wide urgent list at once. Send `Idempotency-Key` to make retries safe.",
    response_model=CaseOut,
    responses=problem_responses(401, 403, 404, 422, 423),
)
def create_case(
    request: Request,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    body: Annotated[CaseIn, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    scope = resolve_scope(session, campaign, access.city)
    receipt = receipt_of(access.principal, body.received_at)

    def produce() -> tuple[CaseOut, str]:
        case = service.create_case(session, scope, body.model_dump(), receipt)
        (out,) = service.cases_out(session, [case])
        return out, f"/api/v1/campaigns/{campaign}/cities/{access.city}/cases/{out.id}"

    return create_once(request, session, access, idempotency_key, body, produce)


@router.get(
    CASES,
    summary="A city's highlight cases",
    description="Oldest first, filtered by period, county, activity and urgency; cursor "
    "pagination (`next_cursor`). Answers carry an `ETag`; `If-None-Match` gets `304`.",
    response_model=Page[CaseOut],
    responses=problem_responses(401, 403, 404, 422),
)
def list_cases(
    request: Request,
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    period: PeriodFilter = None,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    activity: ActivityFilter = None,
    urgent: bool | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    scope = resolve_scope(session, campaign, access.city)
    scope.check_filter("case_activities", activity, "activity")
    where = service.CaseFilter(period, county, activity, urgent)
    rows, following = service.list_cases(session, scope, where, limit=limit, cursor=cursor)
    return conditional_json(
        request, Page(items=service.cases_out(session, rows), next_cursor=following)
    )


@router.get(
    CASES + "/{case_id}",
    summary="One highlight case, with its attachments",
    response_model=CaseOut,
    responses=problem_responses(401, 403, 404, 422),
)
def read_case(
    response: Response,
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    case_id: CaseId,
) -> CaseOut:
    (out,) = service.cases_out(session, [service.get_case(session, campaign, access.city, case_id)])
    response.headers["ETag"] = out.etag
    return out


@router.patch(
    CASES + "/{case_id}",
    summary="Revise a highlight case",
    description="Only the fields sent change; the change is a new revision and the earlier "
    "ones stay readable at `…/revisions`. Nothing changes (and no revision is made) when the "
    "values are the same. Send `If-Match` with the ETag you read to avoid lost updates.",
    response_model=CaseOut,
    responses=problem_responses(401, 403, 404, 412, 422, 423),
)
def update_case(
    response: Response,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    case_id: CaseId,
    body: Annotated[CasePatch, Body()],
    if_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> CaseOut:
    scope = resolve_scope(session, campaign, access.city)
    changes = body.model_dump(exclude_unset=True, exclude={"received_at"})
    receipt = receipt_of(access.principal, body.received_at)
    case, _ = service.update_case(session, scope, case_id, changes, receipt, if_match=if_match)
    (out,) = service.cases_out(session, [case])
    response.headers["ETag"] = out.etag
    return out


@router.get(
    CASES + "/{case_id}/revisions",
    summary="Every revision of a highlight case, with what changed",
    description="Revisions after `after` (default: from the first), at most `limit`.",
    response_model=list[RevisionOut],
    responses=problem_responses(401, 403, 404, 422),
)
def case_revisions(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    case_id: CaseId,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RevisionOut]:
    case = service.get_case(session, campaign, access.city, case_id)
    return service.case_history(session, case, after=after, limit=limit)


@router.get(
    "/{campaign}/urgent",
    summary="Urgent reports of every city (重要舆情或突发事件)",
    description="Viewers and administrators: cases flagged urgent, newest first, as soon as "
    "they are flagged. Cursor pagination. Answers carry an `ETag`; `If-None-Match` gets "
    "`304`.",
    response_model=Page[CaseOut],
    responses=problem_responses(401, 403, 404, 422),
)
def urgent_cases(
    request: Request,
    session: SessionDep,
    principal: ProvinceReaderDep,
    campaign: CampaignId,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Response:
    rows, following = service.urgent_cases(session, campaign, city=city, limit=limit, cursor=cursor)
    return conditional_json(
        request, Page(items=service.cases_out(session, rows), next_cursor=following)
    )


router.include_router(
    attachment_router(
        owner_type="case",
        collection="cases",
        id_param="case_id",
        label="highlight case",
        resolve=service.case_owner,
        tags=["cases"],
    )
)
