"""Recording events, and reading them back in order (the live stream, redelivery)."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, or_, select

from app.core.changes import mark_changed
from app.outbox.models import EventType, OutboxEvent

# A stream catching up reads at most this many events per query.
PAGE = 500


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def record_event(
    session: Session,
    event_type: EventType,
    campaign_id: str,
    city: str | None,
    data: Mapping[str, Any],
) -> OutboxEvent:
    """Add the event to the caller's transaction: it exists if and only if the change it
    reports is committed.

    The campaign's change counter is bumped (and its row locked) before the event's id is
    drawn, so two transactions that announce events of one campaign draw their ids in the
    order they commit: a stream that has seen id n never later finds a smaller id appear.
    """
    mark_changed(session, campaign_id)
    event = OutboxEvent(
        message_id=new_message_id(),
        campaign_id=campaign_id,
        city_code=city,
        type=event_type.value,
        data={"campaign": campaign_id, "city": city, **data},
    )
    session.add(event)
    session.flush()
    return event


def events_after(
    session: Session,
    campaign_id: str,
    after_id: int,
    *,
    city: str | None = None,
    types: Sequence[str] | None = None,
    limit: int = PAGE,
) -> Sequence[OutboxEvent]:
    """The campaign's events after `after_id`, oldest first; `city`: only that city's and the
    campaign-wide ones (what a city's client may see)."""
    query = select(OutboxEvent).where(
        OutboxEvent.campaign_id == campaign_id, col(OutboxEvent.id) > after_id
    )
    if city is not None:
        query = query.where(
            or_(OutboxEvent.city_code == city, col(OutboxEvent.city_code).is_(None))
        )
    if types is not None:
        query = query.where(col(OutboxEvent.type).in_(types))
    return session.exec(query.order_by(col(OutboxEvent.id)).limit(limit)).all()


def last_event_id(session: Session, campaign_id: str) -> int:
    """The newest event's id (0: none yet): where a stream without Last-Event-ID starts."""
    newest = session.exec(
        select(OutboxEvent.id)
        .where(OutboxEvent.campaign_id == campaign_id)
        .order_by(col(OutboxEvent.id).desc())
        .limit(1)
    ).first()
    return newest or 0


def envelope(event: OutboxEvent) -> dict[str, Any]:
    """The body of a webhook delivery and the data of a stream event."""
    return {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.data,
    }
