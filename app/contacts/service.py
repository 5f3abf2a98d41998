"""A city's contact: every change a revision; phone and e-mail shown whole only to the city
itself and to administrators."""

from typing import Any, Literal

from sqlmodel import Session, col, select

from app.auth.models import Role
from app.auth.policy import Principal
from app.contacts.formats import mask_email, mask_phone
from app.contacts.models import CityContact, CityContactRevision
from app.contacts.schemas import ContactIn, ContactOut
from app.core.errors import NotFound
from app.records.locking import serialize_writes
from app.records.receipt import Receipt
from app.records.revisions import RevisionOut, last_revision_of_page, revision_history
from app.records.scope import CityScope

WriteStatus = Literal["created", "updated", "unchanged"]


def sees_personal_data(principal: Principal, city: str) -> bool:
    return principal.role is Role.admin or (
        principal.role is Role.reporter and principal.city == city
    )


def contact_data(contact: CityContact | ContactIn) -> dict[str, Any]:
    return {"name": contact.name, "phone": contact.phone, "email": contact.email}


def masked_data(data: dict[str, Any]) -> dict[str, Any]:
    return data | {"phone": mask_phone(data["phone"]), "email": mask_email(data["email"])}


def put_contact(
    session: Session, scope: CityScope, body: ContactIn, receipt: Receipt
) -> tuple[WriteStatus, CityContact]:
    serialize_writes(session, "contacts", scope.campaign_id, scope.city)
    contact = session.get(CityContact, (scope.campaign_id, scope.city), with_for_update=True)
    data = contact_data(body)
    if contact is not None and contact_data(contact) == data:
        return "unchanged", contact
    status: WriteStatus = "updated" if contact else "created"
    if contact is None:
        contact = CityContact(
            campaign_id=scope.campaign_id,
            city_code=scope.city,
            revision=0,
            first_received_at=receipt.received_at,
            **data,
            submitted_by=receipt.actor,
            received_at=receipt.received_at,
        )
    contact.sqlmodel_update(data)
    contact.revision += 1
    contact.submitted_by = receipt.actor
    contact.received_at = receipt.received_at
    contact.backdated = receipt.backdated
    session.add(contact)
    session.add(
        CityContactRevision(
            campaign_id=scope.campaign_id,
            city_code=scope.city,
            revision=contact.revision,
            data=data,
            submitted_by=receipt.actor,
            received_at=receipt.received_at,
            backdated=receipt.backdated,
        )
    )
    session.flush()
    return status, contact


def get_contact(session: Session, scope: CityScope) -> CityContact:
    contact = session.get(CityContact, (scope.campaign_id, scope.city))
    if contact is None:
        raise NotFound(f"city {scope.city} has not submitted its contact yet")
    return contact


def contact_out(contact: CityContact, *, masked: bool) -> dict[str, Any]:
    data = contact_data(contact)
    return (masked_data(data) if masked else data) | {
        "campaign": contact.campaign_id,
        "city": contact.city_code,
        "masked": masked,
        "revision": contact.revision,
        "first_received_at": contact.first_received_at,
        "submitted_by": contact.submitted_by,
        "received_at": contact.received_at,
        "backdated": contact.backdated,
    }


def read_contact(session: Session, scope: CityScope, principal: Principal) -> ContactOut:
    contact = get_contact(session, scope)
    return ContactOut(**contact_out(contact, masked=not sees_personal_data(principal, scope.city)))


def contact_history(
    session: Session, scope: CityScope, principal: Principal, *, after: int, limit: int
) -> list[RevisionOut]:
    get_contact(session, scope)
    rows = session.exec(
        select(CityContactRevision)
        .where(
            CityContactRevision.campaign_id == scope.campaign_id,
            CityContactRevision.city_code == scope.city,
            col(CityContactRevision.revision) >= after,
            col(CityContactRevision.revision) <= last_revision_of_page(after, limit),
        )
        .order_by(col(CityContactRevision.revision))
    ).all()
    show = (lambda d: d) if sees_personal_data(principal, scope.city) else masked_data
    return revision_history(
        [(r.revision, show(r.data), r.submitted_by, r.received_at, r.backdated) for r in rows],
        after=after,
    )
