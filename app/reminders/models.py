"""One notification per city × deliverable × period × offset, ever (a unique key)."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class EmailStatus(StrEnum):
    not_sent = "not_sent"  # no SMTP configured, or the city has no contact e-mail
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __campaign_data__ = False

    id: int | None = Field(default=None, primary_key=True)
    # campaign/city/deliverable/period-or-"-"/offset: what makes it once-ever.
    dedupe_key: str = Field(max_length=128, unique=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32, index=True)
    city_code: str = Field(foreign_key="region.code", max_length=6)
    deliverable: str = Field(max_length=32)
    period_id: str | None = Field(default=None, max_length=8)
    offset: str = Field(max_length=32, description="ISO 8601 duration from the due instant")
    type: str = Field(max_length=32)  # deadline.reminder | deadline.missed
    due: datetime = Field(sa_type=UTCDateTime)
    fire_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    event_id: int | None = Field(default=None, foreign_key="outbox_event.id")
    email_status: str = Field(default=EmailStatus.not_sent.value, max_length=16)
    email_attempts: int = 0
    email_lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    email_error: str | None = Field(default=None, max_length=500)
    email_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
