"""Every table model, imported in one place so Alembic and the test database see them all."""

from app.auth.models import ApiClient
from app.campaigns.models import Campaign, DueOverride
from app.idempotency.models import IdempotencyRecord
from app.regions.models import Region
from app.reporting.models import PeriodLock, SnapshotHead, SnapshotRevision

__all__ = [
    "ApiClient",
    "Campaign",
    "DueOverride",
    "IdempotencyRecord",
    "PeriodLock",
    "Region",
    "SnapshotHead",
    "SnapshotRevision",
]
