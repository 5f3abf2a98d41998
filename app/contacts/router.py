"""Contacts: `…/cities/{city}/contacts` (联系人及联系方式, due 2024-01-26)."""

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from app.auth.dependencies import CityReaderDep, CityWriterDep
from app.contacts import service
from app.contacts.schemas import ContactIn, ContactOut, ContactWriteResult
from app.core.deps import SessionDep
from app.core.params import MAX_ID, CampaignId
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.records.receipt import receipt_of
from app.records.revisions import RevisionOut
from app.records.scope import resolve_scope

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/campaigns", tags=["contacts"])

CONTACTS = "/{campaign}/cities/{city}/contacts"


@router.put(
    CONTACTS,
    summary="Submit or change the city's contact person",
    description="Phone: a Chinese mobile or a landline with its area code; e-mail checked "
    "for form. Stored in normal form; a change is a new revision (201 the first time, "
    "`unchanged` when nothing differs).",
    response_model=ContactWriteResult,
    responses={
        201: {"model": ContactWriteResult, "description": "The first contact of the city"},
        **problem_responses(401, 403, 404, 422),
    },
)
def put_contact(
    response: Response,
    session: SessionDep,
    access: CityWriterDep,
    campaign: CampaignId,
    body: Annotated[ContactIn, Body()],
) -> ContactWriteResult:
    scope = resolve_scope(session, campaign, access.city)
    status, contact = service.put_contact(
        session, scope, body, receipt_of(access.principal, body.received_at)
    )
    if status == "created":
        response.status_code = 201
    return ContactWriteResult(status=status, **service.contact_out(contact, masked=False))


@router.get(
    CONTACTS,
    summary="The city's contact person",
    description="Phone and e-mail are personal data: masked for viewers, whole for the city "
    "itself and administrators (`masked` says which).",
    response_model=ContactOut,
    responses=problem_responses(401, 403, 404, 422),
)
def read_contact(session: SessionDep, access: CityReaderDep, campaign: CampaignId) -> ContactOut:
    scope = resolve_scope(session, campaign, access.city)
    return service.read_contact(session, scope, access.principal)


@router.get(
    CONTACTS + "/revisions",
    summary="Every revision of the city's contact, with what changed",
    description="Masked like the contact itself for viewers.",
    response_model=list[RevisionOut],
    responses=problem_responses(401, 403, 404, 422),
)
def contact_revisions(
    session: SessionDep,
    access: CityReaderDep,
    campaign: CampaignId,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RevisionOut]:
    scope = resolve_scope(session, campaign, access.city)
    return service.contact_history(session, scope, access.principal, after=after, limit=limit)
