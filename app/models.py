"""Every table model, imported in one place so Alembic and the test database see them all."""

from app.attachments.models import Attachment
from app.auth.models import ApiClient
from app.campaigns.models import Campaign, DueOverride
from app.cases.models import HighlightCase, HighlightCaseRevision
from app.contacts.models import CityContact, CityContactRevision
from app.core.changes import DataVersion
from app.documents.models import CityDocument
from app.events.models import EventTally, RecruitmentEvent, RecruitmentEventRevision
from app.exports.jobs import ExportJob
from app.idempotency.models import IdempotencyRecord
from app.locks.models import PeriodLock
from app.outbox.models import OutboxEvent
from app.regions.models import Region
from app.reminders.models import Notification
from app.reporting.models import SnapshotHead, SnapshotRevision
from app.review.models import CaseReview, SnapshotReview
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiClient",
    "Attachment",
    "Campaign",
    "CaseReview",
    "CityContact",
    "CityContactRevision",
    "CityDocument",
    "DataVersion",
    "DueOverride",
    "EventTally",
    "ExportJob",
    "HighlightCase",
    "HighlightCaseRevision",
    "IdempotencyRecord",
    "Notification",
    "OutboxEvent",
    "PeriodLock",
    "RecruitmentEvent",
    "RecruitmentEventRevision",
    "Region",
    "SnapshotHead",
    "SnapshotReview",
    "SnapshotRevision",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
