"""Recording uploaded files against their owner record, and finding them again."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, event, func
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from app.attachments.models import Attachment, OwnerType
from app.attachments.naming import printable, safe_filename
from app.attachments.storage import Storage, new_key
from app.attachments.upload import ReceivedFile
from app.core.errors import Conflict, NotFound
from app.core.types import utc_now


@dataclass(frozen=True)
class Owner:
    """The record a file belongs to; attachments share its access rules."""

    type: OwnerType
    id: int
    campaign_id: str
    city: str


# (session, campaign, city, record id) -> the owner, or NotFound
OwnerResolver = Callable[[Session, str, str, int], Owner]


def _owned_by(owner: Owner) -> ColumnElement[bool]:
    return (
        (col(Attachment.owner_type) == owner.type)
        & (col(Attachment.owner_id) == owner.id)
        & (col(Attachment.campaign_id) == owner.campaign_id)
        & (col(Attachment.city_code) == owner.city)
    )


def ensure_capacity(session: Session, owner: Owner, maximum: int) -> None:
    count = session.exec(select(func.count()).select_from(Attachment).where(_owned_by(owner)))
    if count.one() >= maximum:
        raise Conflict(f"this {owner.type} already has {maximum} attachments, the most allowed")


def record_upload(
    session: Session,
    storage: Storage,
    owner: Owner,
    received: ReceivedFile,
    *,
    actor: str,
    maximum: int,
) -> Attachment:
    """Insert the row, then move the staged bytes into place. The bytes are removed again
    if the transaction rolls back, so a row never lacks its file nor a file its row."""
    try:
        ensure_capacity(session, owner, maximum)
        row = Attachment(
            campaign_id=owner.campaign_id,
            city_code=owner.city,
            owner_type=owner.type,
            owner_id=owner.id,
            filename=safe_filename(received.filename, received.filetype),
            media_type=received.filetype.media_type,
            kind=received.filetype.kind.value,
            size_bytes=received.size,
            sha256=received.sha256,
            storage_key=new_key(),
            declared_type=printable(received.declared_type or "")[:255] or None,
            uploaded_by=actor,
            received_at=utc_now(),
        )
        session.add(row)
        session.flush()
        received.staged.commit(row.storage_key)
    except BaseException:
        received.staged.discard()
        raise
    _delete_on_rollback(session, storage, row.storage_key)
    return row


_PENDING = "attachments.committed_files"


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _delete_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        return  # a savepoint; the enclosing transaction may still commit
    for storage, key in session.info.pop(_PENDING, []):
        storage.delete(key)


def _delete_on_rollback(session: Session, storage: Storage, key: str) -> None:
    if not event.contains(session, "after_commit", _forget_pending):
        event.listen(session, "after_commit", _forget_pending)
        event.listen(session, "after_soft_rollback", _delete_pending)
    session.info.setdefault(_PENDING, []).append((storage, key))


def attachments_of(
    session: Session, owner_type: OwnerType, owner_ids: Sequence[int]
) -> dict[int, list[Attachment]]:
    """Per owner id, its attachments in upload order (one query for a page of records)."""
    found: dict[int, list[Attachment]] = defaultdict(list)
    if not owner_ids:
        return found
    rows = session.exec(
        select(Attachment)
        .where(Attachment.owner_type == owner_type, col(Attachment.owner_id).in_(owner_ids))
        .order_by(col(Attachment.id))
    ).all()
    for row in rows:
        found[row.owner_id].append(row)
    return found


def list_attachments(session: Session, owner: Owner) -> list[Attachment]:
    return list(
        session.exec(select(Attachment).where(_owned_by(owner)).order_by(col(Attachment.id)))
    )


def get_attachment(session: Session, owner: Owner, attachment_id: int) -> Attachment:
    row = session.exec(
        select(Attachment).where(_owned_by(owner), Attachment.id == attachment_id)
    ).first()
    if row is None:
        raise NotFound(f"{owner.type} {owner.id} has no attachment {attachment_id}")
    return row
