"""Columns the record tables share."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class RevisionColumns(SQLModel):
    """One version of a record: its number, its fields as JSON (as the API shows them),
    who sent it, when it counts as received, and whether an administrator claimed that
    time (backdated)."""

    revision: int
    data: dict[str, Any] = Field(sa_type=JSON)
    submitted_by: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    backdated: bool = False
