"""Events announced to webhooks and the live stream: one row each, never changed but for the
mark that the worker has fanned it out to the subscriptions."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class EventType(StrEnum):
    snapshot_accepted = "snapshot.accepted"
    snapshot_returned = "snapshot.returned"
    snapshot_approved = "snapshot.approved"
    case_created = "case.created"
    case_adopted = "case.adopted"
    urgent_reported = "urgent.reported"
    deadline_reminder = "deadline.reminder"
    deadline_missed = "deadline.missed"
    period_locked = "period.locked"


class OutboxEvent(SQLModel, table=True):
    """`id` orders one campaign's events in commit order (see app.outbox.service.record_event)
    and is the stream's event id; `message_id` is the stable `webhook-id` of every delivery."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        Index("ix_outbox_event_campaign_id_id", "campaign_id", "id"),
        Index("ix_outbox_event_pending_fan_out", "fanned_out_at", "id"),
    )
    # Writing an event is not a change of the campaign's data (computed views ignore it).
    __campaign_data__ = False

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=40, unique=True)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32)
    # None: a campaign-wide event (a period locked for every city).
    city_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    type: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    fanned_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
