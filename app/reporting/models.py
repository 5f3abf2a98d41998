"""Snapshots of the statistics tables: every accepted change is a new revision."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class SnapshotHead(SQLModel, table=True):
    """One row per city, table and period: a copy of the current revision (what the computed
    views read), and the row writers lock so revision numbers are handed out one at a time."""

    __tablename__ = "snapshot_head"

    campaign_id: str = Field(foreign_key="campaign.id", primary_key=True, max_length=32)
    city_code: str = Field(foreign_key="region.code", primary_key=True, max_length=6)
    table_id: str = Field(primary_key=True, max_length=32)
    period_id: str = Field(primary_key=True, max_length=8)
    current_revision: int = Field(default=0)
    # jsonb on PostgreSQL: goal tracking reads one indicator out of every snapshot, which
    # plain json would re-parse per row.
    current_values: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
    # How many indicators current_values holds, kept by every write: compliance shows each
    # table's completeness without counting inside thousands of JSON documents.
    indicator_count: int = Field(default=0)
    content_sha256: str | None = Field(default=None, max_length=64)
    # The review state (app/review): submitted, approved or returned; null before the first
    # accepted revision. Kept here because writers lock this row anyway: it tells them at no
    # extra cost that a reviewer approved (froze) the snapshot.
    review_state: str | None = Field(default=None, max_length=16)
    first_received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SnapshotRevision(SQLModel, table=True):
    __tablename__ = "snapshot_revision"
    __table_args__ = (
        UniqueConstraint("campaign_id", "city_code", "table_id", "period_id", "revision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    table_id: str = Field(max_length=32)
    period_id: str = Field(max_length=8)
    revision: int = Field(ge=1)
    # Indicator key -> exact decimal text; absent keys were not reported.
    values: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    content_sha256: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    warnings: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    submitted_by: str = Field(max_length=64)
    source: str = Field(max_length=16, description="api, xlsx or csv")
    received_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now, index=True)
    backdated: bool = Field(default=False)
