from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class Role(StrEnum):
    reporter = "reporter"
    viewer = "viewer"
    reviewer = "reviewer"  # provincial staff: reads like a viewer, and reviews
    admin = "admin"


class ApiClient(SQLModel, table=True):
    """A machine client (a city system, a dashboard, an administrator's tool)."""

    __tablename__ = "api_client"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    role: Role
    city_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    secret_hash: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiClientPublic(SQLModel):
    client_id: str
    name: str
    role: Role
    city: str | None
    created_at: datetime
    disabled_at: datetime | None
