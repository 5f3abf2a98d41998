"""The recruitment-event registry: `…/cities/{city}/events/{external_id}` (upsert),
`…/events/batch` (up to 5,000 at once) and `…/events` (filtered, cursor-paginated)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from app.auth.dependencies import CityReaderDep, CityWriterDep
from app.campaigns.vocabularies import MAX_EVENT_CATEGORY, TERM_PATTERN
from app.computed import memo
from app.core.changes import EVENTS as EVENTS_DOMAIN
from app.core.deps import SessionDep
from app.core.params import MAX_ID, CampaignId, PeriodFilter
from app.core.problems import problem_responses
from app.core.routing import JsonBodyOf, ServiceRoute, raw_body
from app.core.settings import MAX_BATCH_BODY_BYTES
from app.events import queries, writes
from app.events.import_process import BatchJob, EventImports, run_batch
from app.events.models import Mode
from app.events.schemas import (
    CATEGORY_DESCRIPTION,
    EXTERNAL_ID_PATTERN,
    MAX_BATCH,
    BatchResult,
    EventBatchIn,
    EventIn,
    EventOut,
    EventWriteResult,
)
from app.records.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.records.receipt import receipt_of
from app.records.revisions import RevisionOut
from app.records.scope import resolve_scope

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["events"])

EVENTS = "/{campaign}/cities/{city}/events"


def _event_imports(request: Request) -> EventImports | None:
    imports: EventImports | None = request.app.state.event_imports
    return imports


# The batch's JSON is parsed and checked in the import process.
RawBatch = Annotated[bytes, Depends(raw_body), JsonBodyOf(EventBatchIn)]
EventImportsDep = Annotated[EventImports | None, Depends(_event_imports)]
CategoryFilter = Annotated[
    str | None,
    Query(pattern=TERM_PATTERN, max_length=MAX_EVENT_CATEGORY, description=CATEGORY_DESCRIPTION),
]
ExternalIdPath = Annotated[
    str, Path(pattern=EXTERNAL_ID_PATTERN, examples=["NJ-2024-000123"], max_length=64)
]


@router.post(
    EVENTS + "/batch",
    name="post_event_batch",
    max_body_size=MAX_BATCH_BODY_BYTES,
    summary=f"Register up to {MAX_BATCH} recruitment events at once",
    description="Each item is an upsert by `external_id`, checked on its own: the answer is "
    "an import summary (like DHIS2's) with the count of created, updated, unchanged and "
    "rejected items and, per item, its index, status, revision and errors (fields named "
    "`items.<index>.<field>`). Sending the same batch again changes nothing (`unchanged`). "
    "An external_id twice in one batch: the later one is rejected. With `atomic=true` one "
    "invalid item refuses the whole batch (422 carrying the summary).",
    response_model=BatchResult,
    responses=problem_responses(401, 403, 404, 422),
)
def post_batch(
    request: Request,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    body: RawBatch,
    imports: EventImportsDep,
    atomic: bool = False,
) -> Response:
    polls = memo.polled(campaign, EVENTS_DOMAIN)
    gzip = memo.accepts_gzip(request)
    job = BatchJob(campaign, access.city, access.principal, atomic, body, polls, gzip)
    answer = imports.run(job) if imports is not None else run_batch(session, job)
    memo.install(answer.views)
    headers = {"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"} if gzip else {})
    return Response(answer.summary, media_type="application/json", headers=headers)


@router.put(
    EVENTS + "/{external_id}",
    summary="Register or change one recruitment event",
    description="Idempotent upsert keyed by the city system's own id: 201 when new, 200 "
    "`updated` (a new revision) or `unchanged`. Checks: the county belongs to the city, "
    "both dates fall within the campaign, end_date ≥ start_date, `mode`, `category` one of "
    "the campaign's `event_categories` (`GET …/campaigns/{campaign}/vocabularies`), counts "
    "≥ 0. 423 when the period of start_date is locked.",
    response_model=EventWriteResult,
    responses={
        201: {"model": EventWriteResult, "description": "A new event"},
        **problem_responses(401, 403, 404, 422, 423),
    },
)
def put_event(
    response: Response,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    external_id: ExternalIdPath,
    body: Annotated[EventIn, Body()],
) -> EventWriteResult:
    scope = resolve_scope(session, campaign, access.city)
    receipt = receipt_of(access.principal, body.received_at)
    fields = body.model_dump(mode="json", exclude={"received_at"}, exclude_none=True)
    status, event = writes.put_event(session, scope, external_id, fields, receipt)
    if status == "created":
        response.status_code = 201
    return EventWriteResult(status=status, **queries.event_out(event))


@router.get(
    EVENTS + "/{external_id}",
    summary="One recruitment event",
    response_model=EventOut,
    responses=problem_responses(401, 403, 404, 422),
)
def read_event(
    session: SessionDep, access: CityReaderDep, campaign: CampaignId, external_id: ExternalIdPath
) -> EventOut:
    scope = resolve_scope(session, campaign, access.city)
    return EventOut(**queries.event_out(queries.get_event(session, scope, external_id)))


@router.get(
    EVENTS + "/{external_id}/revisions",
    summary="Every revision of a recruitment event, with what changed",
    response_model=list[RevisionOut],
    responses=problem_responses(401, 403, 404, 422),
)
def event_revisions(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    external_id: ExternalIdPath,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RevisionOut]:
    scope = resolve_scope(session, campaign, access.city)
    return queries.event_history(session, scope, external_id, after=after, limit=limit)


@router.get(
    EVENTS,
    summary="A city's recruitment events",
    description="Ordered by start date, then registration. Filters: `period` (of the start "
    "date), `county`, `mode`, `category`, `labor_brand`, and a start-date range "
    "`start_from`..`start_to` (inclusive). Cursor pagination: pass `next_cursor` back as "
    "`cursor` with the same filters.",
    response_model=Page[EventOut],
    responses=problem_responses(401, 403, 404, 422),
)
def list_events(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    period: PeriodFilter = None,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    mode: Mode | None = None,
    category: CategoryFilter = None,
    labor_brand: bool | None = None,
    start_from: date | None = None,
    start_to: date | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[EventOut]:
    scope = resolve_scope(session, campaign, access.city)
    scope.check_filter("event_categories", category, "category")
    where = queries.EventFilter(period, county, mode, category, labor_brand, start_from, start_to)
    rows, following = queries.list_events(session, scope, where, limit=limit, cursor=cursor)
    return Page(items=[EventOut(**queries.event_out(row)) for row in rows], next_cursor=following)
