from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class CityDocument(SQLModel, table=True):
    """A submitted document. Never changed: a resubmission is a new document, and the
    latest of a kind is the current one."""

    __tablename__ = "city_document"
    __table_args__ = (Index("ix_city_document_city_kind", "campaign_id", "city_code", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    text: str = Field(sa_type=Text)
    submitted_by: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    backdated: bool = False
