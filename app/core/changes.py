"""A per-campaign change counter, bumped by every transaction that writes campaign data.

Computed views key their ETag and memo on it: an unchanged counter means an unchanged answer,
so a dashboard polling every minute costs one primary-key read. Each bump also draws a
random stamp: a counter value can come back (a restored backup, a rolled-back test database,
another database served by the same process), a stamp does not.
"""

import secrets
from typing import Any

from sqlalchemy import bindparam, event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Field, Session, SQLModel, select

from app.core.db import per_dialect


class DataVersion(SQLModel, table=True):
    __tablename__ = "data_version"

    campaign_id: str = Field(primary_key=True, max_length=32)
    version: int = Field(default=0)
    stamp: str = Field(default="", max_length=32)


def _touched_campaigns(session: OrmSession) -> set[str]:
    touched = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        campaign_id = getattr(instance, "campaign_id", None)
        is_data = getattr(type(instance), "__campaign_data__", True)
        if isinstance(campaign_id, str) and is_data and not isinstance(instance, DataVersion):
            touched.add(campaign_id)
    return touched


def _bump_statement(insert: Any) -> Any:
    table: Any = DataVersion.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["campaign_id"],
        set_={"version": table.c.version + 1, "stamp": statement.excluded.stamp},
    )


_BUMP = per_dialect(_bump_statement)


def mark_changed(session: OrmSession, campaign_id: str) -> None:
    """Bump the counter; call it from writes that bypass the ORM unit of work (bulk inserts)."""
    connection = session.connection()
    connection.execute(
        _BUMP[connection.dialect.name],
        {"campaign_id": campaign_id, "version": 1, "stamp": secrets.token_hex(8)},
    )


def _bump(session: OrmSession, flush_context: UOWTransaction, instances: object) -> None:
    for campaign_id in sorted(_touched_campaigns(session)):  # fixed order: no deadlocks
        mark_changed(session, campaign_id)


def install_change_tracking() -> None:
    if not event.contains(OrmSession, "before_flush", _bump):
        event.listen(OrmSession, "before_flush", _bump)


def data_version(session: Session, campaign_id: str) -> int:
    version = session.exec(
        select(DataVersion.version).where(DataVersion.campaign_id == campaign_id)
    ).first()
    return version or 0


_TOKEN = select(DataVersion.version, DataVersion.stamp).where(
    DataVersion.campaign_id == bindparam("campaign_id")
)


def change_token(session: Session, campaign_id: str) -> str:
    """The counter and its stamp: equal tokens mean equal campaign data. Read on the
    connection (every polled view asks first; the ORM would cost more than the query)."""
    row = session.connection().execute(_TOKEN, {"campaign_id": campaign_id}).first()
    return "0" if row is None else f"{row[0]}-{row[1]}"
