"""Every table model, imported in one place so Alembic and the test database see them all."""

from app.auth.models import ApiClient
from app.campaigns.models import Campaign, DueOverride
from app.regions.models import Region

__all__ = ["ApiClient", "Campaign", "DueOverride", "Region"]
