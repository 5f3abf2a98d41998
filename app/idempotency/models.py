from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a request made with an `Idempotency-Key`, per client."""

    __tablename__ = "idempotency_record"

    client_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    request_sha256: str = Field(max_length=64)
    status_code: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    headers: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
