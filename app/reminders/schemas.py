"""What the notification endpoints send and receive."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.instants import EXAMPLE, Instant
from app.reminders.models import EmailStatus

NotificationType = Literal["deadline.reminder", "deadline.missed"]
NotificationOrder = Literal["newest", "fire_at"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


RUN_EXAMPLE: dict[str, Any] = {"at": EXAMPLE}


class RunRemindersIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RUN_EXAMPLE]})

    at: Instant | None = Field(
        default=None,
        description="Send what the scheduler would at this instant (default: now)",
    )


class NotificationOut(BaseModel):
    """One reminder to one city: never the contact's e-mail address."""

    id: int
    campaign: str
    city: str
    deliverable: str
    period: str | None = Field(description="The period, for weekly deliverables")
    type: NotificationType
    offset: str = Field(description="ISO 8601 duration from the due instant, as defined")
    due: datetime
    fire_at: datetime = Field(description="due + offset: when the reminder was scheduled")
    created_at: datetime = Field(description="When the service created it")
    event_id: int | None = Field(description="Its event in the outbox (webhooks, live stream)")
    email_status: EmailStatus = Field(
        description="`not_sent`: no SMTP configured or no contact e-mail; `pending`, `sent`, "
        "or `failed` after retries"
    )
    email_attempts: int
    email_sent_at: datetime | None
    email_error: str | None = Field(description="The last failure, without the address")
