from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class Campaign(SQLModel, table=True):
    """A loaded campaign definition file; the file is the source, this row its current copy."""

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    definition_sha256: str = Field(max_length=64)
    loaded_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)


class DueOverride(SQLModel, table=True):
    """An administrator's change of one due instant. Never updated: the latest row per item wins,
    and a row with no `due` restores the computed deadline."""

    __tablename__ = "due_override"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", index=True, max_length=32)
    item: str = Field(max_length=32, description="A period id (W04) or a one-off deliverable id")
    due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(max_length=500)
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
