"""Documents: submitted once each, of a kind of the campaign's vocabulary, listed by kind,
newest submission last."""

from collections.abc import Sequence

from sqlmodel import Session, select

from app.attachments.schemas import attachment_out
from app.attachments.service import Owner, attachments_of
from app.core.errors import InvalidInput
from app.documents.models import CityDocument
from app.documents.schemas import DocumentIn, DocumentOut
from app.records.lookup import city_record
from app.records.pagination import page_by_id
from app.records.receipt import Receipt
from app.records.scope import CityScope


def submit_document(
    session: Session, scope: CityScope, body: DocumentIn, receipt: Receipt
) -> CityDocument:
    error = scope.term_error("document_kinds", body.kind, "kind")
    if error is not None:
        raise InvalidInput("the document's kind is not one of the campaign's", errors=[error])
    document = CityDocument(
        campaign_id=scope.campaign_id,
        city_code=scope.city,
        kind=body.kind,
        title=body.title,
        text=body.text,
        submitted_by=receipt.actor,
        received_at=receipt.received_at,
        backdated=receipt.backdated,
    )
    session.add(document)
    session.flush()
    return document


def get_document(session: Session, campaign_id: str, city: str, document_id: int) -> CityDocument:
    return city_record(session, CityDocument, document_id, campaign_id, city, noun="document")


def document_owner(session: Session, campaign_id: str, city: str, document_id: int) -> Owner:
    document = get_document(session, campaign_id, city, document_id)
    assert document.id is not None
    return Owner("document", document.id, campaign_id, city)


def list_documents(
    session: Session,
    scope: CityScope,
    kind: str | None,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[CityDocument], str | None]:
    query = select(CityDocument).where(
        CityDocument.campaign_id == scope.campaign_id, CityDocument.city_code == scope.city
    )
    if kind is not None:
        query = query.where(CityDocument.kind == kind)
    return page_by_id(session, query, CityDocument.id, _id, limit=limit, cursor=cursor)


def _id(document: CityDocument) -> int:
    assert document.id is not None
    return document.id


def documents_out(session: Session, documents: Sequence[CityDocument]) -> list[DocumentOut]:
    files = attachments_of(session, "document", [d.id for d in documents if d.id is not None])
    return [
        DocumentOut(
            id=document.id or 0,
            campaign=document.campaign_id,
            city=document.city_code,
            kind=document.kind,
            title=document.title,
            text=document.text,
            submitted_by=document.submitted_by,
            received_at=document.received_at,
            backdated=document.backdated,
            attachments=[attachment_out(row) for row in files.get(document.id or 0, [])],
        )
        for document in documents
    ]
