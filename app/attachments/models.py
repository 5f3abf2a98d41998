from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now

OwnerType = Literal["case", "document"]
# Where an owner's records live under /cities/{city}/, for download addresses.
OWNER_COLLECTIONS: dict[str, str] = {"case": "cases", "document": "documents"}


class Attachment(SQLModel, table=True):
    """A stored file of a case or a document. Rows are never changed; the bytes live in
    the storage under `storage_key`."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    owner_type: str = Field(max_length=16)
    owner_id: int
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=100, description="Decided by the content")
    kind: str = Field(max_length=16)
    size_bytes: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=255, unique=True)
    declared_type: str | None = Field(default=None, max_length=255)
    uploaded_by: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
