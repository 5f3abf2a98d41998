from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime
from app.records.models import RevisionColumns


class CityContact(SQLModel, table=True):
    """A city's contact as it stands now (its latest revision)."""

    __tablename__ = "city_contact"

    campaign_id: str = Field(foreign_key="campaign.id", primary_key=True, max_length=32)
    city_code: str = Field(foreign_key="region.code", primary_key=True, max_length=6)
    name: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    email: str = Field(max_length=254)
    revision: int
    first_received_at: datetime = Field(sa_type=UTCDateTime)
    submitted_by: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    backdated: bool = False


class CityContactRevision(RevisionColumns, table=True):
    __tablename__ = "city_contact_revision"
    __table_args__ = (UniqueConstraint("campaign_id", "city_code", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
