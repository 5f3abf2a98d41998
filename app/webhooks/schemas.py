"""What the webhook endpoints send and receive."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.outbox.models import EventType
from app.webhooks.models import DeliveryStatus

SUBSCRIPTION_EXAMPLE: dict[str, Any] = {
    "url": "https://hooks.nanjing.example/spring-breeze",
    "events": ["snapshot.returned", "deadline.reminder"],
    "campaign": "js-2024",
    "city": "320100",
}


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [SUBSCRIPTION_EXAMPLE]}
    )

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL whose host is on the operator's allow-list "
        "(WEBHOOK_ALLOWED_HOSTS); redirects are not followed",
    )
    events: list[EventType] = Field(
        min_length=1, max_length=50, description="The event types to receive"
    )
    campaign: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$", examples=["js-2024"])
    city: str | None = Field(
        default=None,
        pattern=r"^\d{6}$",
        description="Only this city's events (and campaign-wide ones). A reporter's "
        "subscription is always for its own city (the default); others may leave it out "
        "to receive every city's events.",
    )


class SubscriptionState(StrEnum):
    active = "active"
    disabled = "disabled"  # every attempt failed for too long; POST …/enable
    deleted = "deleted"


class SubscriptionOut(BaseModel):
    id: str
    url: str
    events: list[str]
    campaign: str
    city: str | None
    state: SubscriptionState
    created_by: str
    created_at: datetime
    failing_since: datetime | None = Field(
        description="Since when every attempt has failed; null: the last one succeeded"
    )
    disabled_at: datetime | None
    disabled_reason: str | None
    deleted_at: datetime | None


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(
        description="Standard Webhooks signing secret (`whsec_…`): verify every delivery's "
        "`webhook-signature` with it. Shown only in this answer; it cannot be read again."
    )


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null: no answer")
    error: str | None
    duration_ms: int
    worker: str


class DeliveryOut(BaseModel):
    id: int
    event_id: int = Field(description="The event's id in the outbox (the stream's event id)")
    webhook_id: str = Field(description="The `webhook-id` header: the same on every attempt")
    type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When pending: the next attempt")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first")
