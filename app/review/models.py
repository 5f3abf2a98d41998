"""Review decisions: every one is kept, never changed or deleted."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class SnapshotDecision(StrEnum):
    approve = "approve"
    return_ = "return"
    reopen = "reopen"


class SnapshotReviewState(StrEnum):
    submitted = "submitted"  # an accepted revision awaits a decision
    approved = "approved"  # frozen: writes are refused until a reviewer reopens it
    returned = "returned"  # sent back for correction until the city resubmits


class CaseDecision(StrEnum):
    adopt = "adopt"  # 采用
    recommend = "recommend"  # 推荐上报
    return_ = "return"  # 退回


class CaseReviewState(StrEnum):
    submitted = "submitted"
    adopted = "adopted"
    recommended = "recommended"
    returned = "returned"


class SnapshotReview(SQLModel, table=True):
    """A decision on one city × table × period, naming the revision it judged. The state it
    leaves is also kept on the snapshot's head row (`review_state`), which writers lock."""

    __tablename__ = "snapshot_review"
    __table_args__ = (
        Index("ix_snapshot_review_key", "campaign_id", "city_code", "table_id", "period_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    table_id: str = Field(max_length=32)
    period_id: str = Field(max_length=8)
    revision: int = Field(description="The revision judged: the current one when decided")
    decision: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=2000)
    # Indicator key -> what to correct; only a return carries comments.
    comments: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    resubmit_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str = Field(max_length=64)
    decided_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)


class CaseReview(SQLModel, table=True):
    """A decision on a highlight case, naming the case revision it judged."""

    __tablename__ = "case_review"
    __table_args__ = (Index("ix_case_review_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32, index=True)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    case_id: int = Field(foreign_key="highlight_case.id")
    revision: int
    decision: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=2000)
    decided_by: str = Field(max_length=64)
    decided_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
