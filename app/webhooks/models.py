"""Subscriptions, one delivery per subscription × event, and every attempt of each."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_now


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # retries exhausted, or the subscription was disabled or deleted


class WebhookSubscription(SQLModel, table=True):
    """Deleting a subscription marks it (`deleted_at`): its delivery log stays readable."""

    __tablename__ = "webhook_subscription"
    __campaign_data__ = False

    id: str = Field(primary_key=True, max_length=40)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=32, index=True)
    # None: every city's events (viewers, reviewers, admins); a reporter's is its city.
    city_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    url: str = Field(max_length=2048)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # Needed to sign every delivery, so it is kept; it is shown once, when created.
    secret: str = Field(max_length=128)
    created_by: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    # Since when every attempt has failed (None: the last one succeeded, or none was made).
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=500)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription. A worker takes it by setting `lease_until`; a worker
    killed mid-delivery leaves a lease that runs out, and another worker takes it again."""

    __tablename__ = "webhook_delivery"
    __campaign_data__ = False
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(foreign_key="webhook_subscription.id", max_length=40)
    event_id: int = Field(foreign_key="outbox_event.id")
    status: str = Field(default=DeliveryStatus.pending.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: every attempt, with what the receiver answered."""

    __tablename__ = "webhook_attempt"
    __campaign_data__ = False

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    attempted_at: datetime = Field(sa_type=UTCDateTime, default_factory=utc_now)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = 0
    worker: str = Field(max_length=64)
