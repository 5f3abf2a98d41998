"""Documents: `…/cities/{city}/documents`, each of one of the campaign's kinds (stage report,
overall summary, other…)."""

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response

from app.attachments.router import attachment_router
from app.auth.dependencies import CityReaderDep, CityWriterDep
from app.campaigns.vocabularies import TERM_PATTERN
from app.core.deps import SessionDep
from app.core.params import MAX_ID, CampaignId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.documents import service
from app.documents.schemas import KIND_DESCRIPTION, DocumentIn, DocumentOut
from app.idempotency.header import IdempotencyKey
from app.records.idempotent import create_once
from app.records.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.records.receipt import receipt_of
from app.records.scope import resolve_scope

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["documents"])

DOCUMENTS = "/{campaign}/cities/{city}/documents"
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="The document's id")]
KindFilter = Annotated[str | None, Query(pattern=TERM_PATTERN, description=KIND_DESCRIPTION)]


@router.post(
    DOCUMENTS,
    status_code=201,
    summary="Submit a document (stage report, overall summary or other)",
    description="`kind` is one of the campaign's document kinds (`document_kinds` at "
    "`GET …/campaigns/{campaign}/vocabularies`). "
    "The submission time is the server's receipt time. Attach files afterwards "
    "at `…/documents/{document_id}/attachments`. A resubmission is a new document; the "
    "earlier ones stay readable. Send `Idempotency-Key` to make retries safe.",
    response_model=DocumentOut,
    responses=problem_responses(401, 403, 404, 422),
)
def submit_document(
    request: Request,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    body: Annotated[DocumentIn, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    scope = resolve_scope(session, campaign, access.city)
    receipt = receipt_of(access.principal, body.received_at)

    def produce() -> tuple[DocumentOut, str]:
        document = service.submit_document(session, scope, body, receipt)
        (out,) = service.documents_out(session, [document])
        return out, f"/api/v1/campaigns/{campaign}/cities/{access.city}/documents/{out.id}"

    return create_once(request, session, access, idempotency_key, body, produce)


@router.get(
    DOCUMENTS,
    summary="A city's documents",
    description="In submission order, optionally of one kind (an id of the campaign's "
    "`document_kinds`); cursor pagination.",
    response_model=Page[DocumentOut],
    responses=problem_responses(401, 403, 404, 422),
)
def list_documents(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    kind: KindFilter = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[DocumentOut]:
    scope = resolve_scope(session, campaign, access.city)
    scope.check_filter("document_kinds", kind, "kind")
    rows, following = service.list_documents(session, scope, kind, limit=limit, cursor=cursor)
    return Page(items=service.documents_out(session, rows), next_cursor=following)


@router.get(
    DOCUMENTS + "/{document_id}",
    summary="One document, with its attachments",
    response_model=DocumentOut,
    responses=problem_responses(401, 403, 404, 422),
)
def read_document(
    session: SessionDep, access: CityReaderDep, campaign: CampaignId, document_id: DocumentId
) -> DocumentOut:
    document = service.get_document(session, campaign, access.city, document_id)
    (out,) = service.documents_out(session, [document])
    return out


router.include_router(
    attachment_router(
        owner_type="document",
        collection="documents",
        id_param="document_id",
        label="document",
        resolve=service.document_owner,
        tags=["documents"],
    )
)
