from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime
from app.records.models import RevisionColumns


class HighlightCase(SQLModel, table=True):
    """A case as it stands now (its latest revision)."""

    __tablename__ = "highlight_case"
    __table_args__ = (
        Index("ix_highlight_case_city_period", "campaign_id", "city_code", "period_id"),
        Index("ix_highlight_case_urgent", "campaign_id", "urgent", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    period_id: str = Field(max_length=8)
    title: str = Field(max_length=200)
    text: str = Field(sa_type=Text)
    county_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    activity: str = Field(max_length=32)
    urgent: bool = False
    revision: int
    created_by: str = Field(max_length=64)
    first_received_at: datetime = Field(sa_type=UTCDateTime)
    submitted_by: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    backdated: bool = False


class HighlightCaseRevision(RevisionColumns, table=True):
    __tablename__ = "highlight_case_revision"
    __table_args__ = (UniqueConstraint("case_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="highlight_case.id")
