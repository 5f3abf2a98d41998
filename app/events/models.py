from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.changes import EVENTS
from app.core.types import UTCDateTime
from app.records.models import RevisionColumns


class Mode(StrEnum):
    online = "online"
    offline = "offline"


class RecruitmentEvent(SQLModel, table=True):
    """An event as it stands now (its latest revision), keyed by the city system's own id."""

    __tablename__ = "recruitment_event"
    # Imports write the registry by the thousand: views that do not read it keep their memo.
    __change_domain__ = EVENTS
    __table_args__ = (
        UniqueConstraint("campaign_id", "city_code", "external_id"),
        Index("ix_recruitment_event_city_start", "campaign_id", "city_code", "start_date", "id"),
        Index("ix_recruitment_event_county_period", "campaign_id", "county_code", "period_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    external_id: str = Field(max_length=64)
    county_code: str = Field(foreign_key="region.code", max_length=6)
    name: str = Field(max_length=200)
    start_date: date
    end_date: date
    period_id: str = Field(max_length=8, description="The period of start_date")
    mode: str = Field(max_length=16)
    labor_brand: bool = False
    category: str = Field(max_length=16)
    venue: str | None = Field(default=None, max_length=500)
    organizer: str | None = Field(default=None, max_length=200)
    employers: int | None = None
    postings_offered: int | None = None
    attendees: int | None = None
    intents: int | None = None
    revision: int
    content_sha256: str = Field(max_length=64)
    first_received_at: datetime = Field(sa_type=UTCDateTime)
    submitted_by: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    backdated: bool = False


class RecruitmentEventRevision(RevisionColumns, table=True):
    __tablename__ = "recruitment_event_revision"
    __change_domain__ = EVENTS
    __table_args__ = (UniqueConstraint("event_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="recruitment_event.id")


class EventTally(SQLModel, table=True):
    """How many events each county has per period, one column per mode (named after the
    mode), kept by every write of the registry: goal tracking reads one row per county-week
    instead of counting a million events."""

    __tablename__ = "event_tally"
    __change_domain__ = EVENTS

    campaign_id: str = Field(foreign_key="campaign.id", primary_key=True, max_length=32)
    county_code: str = Field(foreign_key="region.code", primary_key=True, max_length=6)
    period_id: str = Field(primary_key=True, max_length=8)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    online: int = 0
    offline: int = 0


TALLY = SQLModel.metadata.tables["event_tally"]
TALLIED_MODES = [mode.value for mode in Mode]  # each one a column of the tally
