"""Finding one record of a city by id: 404 unless it exists in that campaign *and* city, so
an id of another city's record reveals nothing, not even that it exists."""

from typing import TypeVar

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from app.core.errors import NotFound

RecordT = TypeVar("RecordT", bound=SQLModel)


def city_record(
    session: Session,
    model: type[RecordT],
    record_id: int,
    campaign_id: str,
    city: str,
    *,
    noun: str,
    for_update: bool = False,
) -> RecordT:
    """`model` has `id`, `campaign_id` and `city_code` columns."""
    columns = inspect(model).local_table.c
    query = select(model).where(
        columns.id == record_id, columns.campaign_id == campaign_id, columns.city_code == city
    )
    found = session.exec(query.with_for_update() if for_update else query).first()
    if found is None:
        raise NotFound(f"city {city} has no {noun} {record_id} in campaign {campaign_id}")
    return found
