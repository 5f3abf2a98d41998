"""Reading the event registry: one event, its revisions, a city's events filtered and
cursor-paginated, and an event's fields as the API shows them."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.events.models import RecruitmentEvent, RecruitmentEventRevision
from app.records.pagination import decode_cursor, next_cursor
from app.records.revisions import (
    RevisionOut,
    RevisionRow,
    last_revision_of_page,
    revision_history,
)
from app.records.scope import CityScope

# The API's field names and the columns that hold them.
FIELD_COLUMNS = {
    "county": "county_code",
    **{
        name: name
        for name in (
            "name", "start_date", "end_date", "mode", "labor_brand", "category", "venue",
            "organizer", "employers", "postings_offered", "attendees", "intents",
        )
    },
}  # fmt: skip


def event_data(row: Mapping[Any, Any] | RecruitmentEvent) -> dict[str, Any]:
    """An event's fields as the API shows them (JSON values), from a row or a model."""
    values: Mapping[Any, Any] = row if isinstance(row, Mapping) else row.model_dump()
    data = {name: values[column] for name, column in FIELD_COLUMNS.items()}
    return data | {key: data[key].isoformat() for key in ("start_date", "end_date")}


def get_event(session: Session, scope: CityScope, external_id: str) -> RecruitmentEvent:
    event = session.exec(
        select(RecruitmentEvent)
        .where(
            RecruitmentEvent.campaign_id == scope.campaign_id,
            RecruitmentEvent.city_code == scope.city,
            RecruitmentEvent.external_id == external_id,
        )
        .execution_options(populate_existing=True)
    ).first()
    if event is None:
        raise NotFound(f"city {scope.city} has no event {external_id!r}")
    return event


def event_history(
    session: Session, scope: CityScope, external_id: str, *, after: int, limit: int
) -> list[RevisionOut]:
    """Superseded versions from the history, then the current one."""
    event = get_event(session, scope, external_id)
    last = last_revision_of_page(after, limit)
    archived = session.exec(
        select(RecruitmentEventRevision)
        .where(
            RecruitmentEventRevision.event_id == event.id,
            col(RecruitmentEventRevision.revision) >= after,
            col(RecruitmentEventRevision.revision) <= last,
        )
        .order_by(col(RecruitmentEventRevision.revision))
    ).all()
    rows: list[RevisionRow] = [
        (r.revision, r.data, r.submitted_by, r.received_at, r.backdated) for r in archived
    ]
    if after <= event.revision <= last:
        rows.append(
            (
                event.revision,
                event_data(event),
                event.submitted_by,
                event.received_at,
                event.backdated,
            )
        )
    return revision_history(rows, after=after)


@dataclass(frozen=True)
class EventFilter:
    period: str | None = None
    county: str | None = None
    mode: str | None = None
    category: str | None = None
    labor_brand: bool | None = None
    start_from: date | None = None
    start_to: date | None = None


def list_events(
    session: Session, scope: CityScope, where: EventFilter, *, limit: int, cursor: str | None
) -> tuple[list[RecruitmentEvent], str | None]:
    """A city's events by start date (then registration order)."""
    E = RecruitmentEvent  # noqa: N806
    query = select(E).where(E.campaign_id == scope.campaign_id, E.city_code == scope.city)
    for column, value in (
        (E.period_id, where.period),
        (E.county_code, where.county),
        (E.mode, where.mode),
        (E.category, where.category),
        (E.labor_brand, where.labor_brand),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if where.start_from is not None:
        query = query.where(col(E.start_date) >= where.start_from)
    if where.start_to is not None:
        query = query.where(col(E.start_date) <= where.start_to)
    if cursor is not None:
        day, after = decode_cursor(cursor, (str, int))
        try:
            start = date.fromisoformat(str(day))
        except ValueError:
            start = date.min
        query = query.where(
            or_(
                col(E.start_date) > start,
                and_(col(E.start_date) == start, col(E.id) > after),
            )
        )
    rows = list(session.exec(query.order_by(col(E.start_date), col(E.id)).limit(limit + 1)))
    keys = [(row.start_date.isoformat(), row.id or 0) for row in rows]
    return rows[:limit], next_cursor(keys, limit)


def event_out(event: RecruitmentEvent) -> dict[str, Any]:
    return event_data(event) | {
        "external_id": event.external_id,
        "campaign": event.campaign_id,
        "city": event.city_code,
        "period": event.period_id,
        "revision": event.revision,
        "first_received_at": event.first_received_at,
        "submitted_by": event.submitted_by,
        "received_at": event.received_at,
        "backdated": event.backdated,
    }
