"""Period locks: an administrator closes a period for every city or for one city."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class PeriodLock(SQLModel, table=True):
    """Lock history: the latest row per (period, city) decides; city NULL means every city."""

    __tablename__ = "period_lock"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32, index=True)
    period_id: str = Field(max_length=8)
    city_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    locked: bool
    reason: str = Field(max_length=500)
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
